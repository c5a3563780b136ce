"""The one way to write the audit log: record() adds an event to the current transaction, so
the event is stored exactly when the change it describes is. Only services call it.

Every event lists each changed field as [before, after]: a create has None before, a delete
None after. Secrets are redacted before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from models import db
from models.audit import AuditEvent

REDACTED = "***"
SECRET_KEYS = re.compile(r"password|hash|token|secret|confirm", re.IGNORECASE)


class Source(StrEnum):
    """Where a change came from."""

    SITE = "site"  # the member site and account pages
    CONSOLE = "console"
    API = "api"
    CLI = "cli"
    IMPORT = "import"  # CSV imports and the seed catalog


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


def _stored(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` of `record`, as the audit log keeps them."""
    return {name: _stored(getattr(record, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field whose value differs; a field missing on one
    side counts as None there."""
    changes = {}
    for name in [*before, *(name for name in after if name not in before)]:
        old, new = _stored(before.get(name)), _stored(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def _target_type(target: Any) -> str:
    """MissionApplication -> "mission_application" (current_user unwrapped to its User)."""
    target = getattr(target, "_get_current_object", lambda: target)()
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(target).__name__).lower()


def _current_actor() -> Any:
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


def record(action: str, target: Any = None, *, target_type: str = "",
           changes: Mapping[str, Any] | None = None, actor: Any = None,
           via: str = Source.SITE, via_detail: str = "") -> AuditEvent:
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
        via=str(via),
        via_detail=via_detail[:120],
        remote_addr=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    return event
