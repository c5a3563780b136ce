"""The one way to write the audit log: record() adds an event to the current transaction, so
the event is stored exactly when the change it describes is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from models import db
from models.audit import AuditEvent

REDACTED = "***"
SECRET_KEYS = re.compile(r"password|hash|token|secret|confirm", re.IGNORECASE)


def redact(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `changes` with every secret value replaced by ***, nested values included."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if SECRET_KEYS.search(str(key)):
            clean[key] = REDACTED
        elif isinstance(value, Mapping):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


def _target_type(target: Any) -> str:
    """MissionApplication -> "mission_application"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(target).__name__).lower()


def _current_actor() -> Any:
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


def record(action: str, target: Any = None, *, target_type: str = "",
           changes: Mapping[str, Any] | None = None, actor: Any = None,
           via: str = "web") -> AuditEvent:
    """Add one audit event to the session; the caller's commit stores it with the change."""
    actor = actor or _current_actor()
    if target is not None:
        target_type = target_type or _target_type(target)
        if getattr(target, "id", None) is None:
            db.session.flush()  # a new record gets its id
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        target_type=target_type,
        target_id=str(getattr(target, "id", "") or ""),
        changes=redact(changes or {}),
        via=via,
        remote_addr=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    return event
