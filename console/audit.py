"""The one way to write the audit log: record() adds an event to the current transaction, so
the event is stored exactly when the change it describes is (record_many() a batch of them, for
bulk changes). Only services call them.

Every event lists each changed field as [before, after]: a create has None before, a delete
None after. Secrets are redacted before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from models import db, utcnow
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


@lru_cache(maxsize=1024)
def _secret(key: str) -> bool:
    return SECRET_KEYS.search(key) is not None


def redact(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `changes` with every secret value replaced by ***, nested values included."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if _secret(str(key)):
            clean[key] = REDACTED
        elif type(value) is not list and isinstance(value, Mapping):  # [before, after]: fast
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


_DATES = (datetime, date)


def _stored(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, _DATES):
        return value.isoformat()
    return value


def snapshot(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` of `record`, as the audit log keeps them."""
    return {name: _stored(getattr(record, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field whose value differs; a field missing on one
    side counts as None there."""
    if not before:  # a create: every field of `after` that has a value (a million at once)
        return {name: [None, value.isoformat() if isinstance(value, _DATES) else value]
                for name, value in after.items() if value is not None}
    changes = {}
    for name, value in before.items():
        old, new = _stored(value), _stored(after.get(name))
        if old != new:
            changes[name] = [old, new]
    for name, value in after.items():
        if name not in before and (new := _stored(value)) is not None:
            changes[name] = [None, new]
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
    if target is not None:
        target_type = target_type or _target_type(target)
        if getattr(target, "id", None) is None:
            db.session.flush()  # a new record gets its id
    event = AuditEvent(**_event_values(action, target_type, getattr(target, "id", ""), changes,
                                       _who(actor), via, via_detail))
    db.session.add(event)
    return event


def record_many(target_type: str, events: Iterable[tuple[str, Any, Mapping[str, Any]]], *,
                actor: Any = None, via: str = Source.SITE, via_detail: str = "") -> int:
    """Store one audit event per (action, target id, changes) in one executemany, in the
    current transaction, as record() would one by one: for bulk changes (the CSV import),
    where an ORM object per event would cost more than the change it describes. Returns how
    many were stored. `events` may be a generator: each event is made ready for the driver as
    it comes, so its changes are garbage before the garbage collector ever sees them."""
    common = {**_who(actor), "at": utcnow()}  # one time for the batch
    return _insert_plain(
        (_event_values(action, target_type, target_id, changes, common, via, via_detail)
         for action, target_id, changes in events), same=("at",))


def _insert_plain(rows: Iterable[dict[str, Any]], same: Iterable[str] = ()) -> int:
    """One executemany of driver-ready values, converted by each column's own type (JSON,
    timestamps; the columns `same` in every row once): at a million events SQLAlchemy's
    per-row processing of an INSERT cost more than the database's work."""
    rows = iter(rows)
    if (first := next(rows, None)) is None:
        return 0
    dialect = db.session.get_bind().dialect
    table = AuditEvent.__table__
    columns = list(first)
    convert = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
               for name in columns]
    for name in same:
        index = columns.index(name)
        if (to_driver := convert[index]) is not None:
            value = to_driver(first[name])
            convert[index] = lambda _, value=value: value

    def driver_values(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(value if to_driver is None else to_driver(value)
                     for value, to_driver in zip(row.values(), convert, strict=True))

    parameters = [driver_values(first), *(driver_values(row) for row in rows)]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # Only column names and placeholders go into the text; values travel as parameters.
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
                 f"VALUES ({', '.join([marker] * len(columns))})")
    db.session.connection().exec_driver_sql(statement, parameters)
    return len(parameters)


def _who(actor: Any) -> dict[str, Any]:
    actor = actor or _current_actor()
    return {"actor_id": getattr(actor, "id", None),
            "actor_username": getattr(actor, "username", "") or "",
            "remote_addr": (request.remote_addr or "") if has_request_context() else ""}


def _event_values(action: str, target_type: str, target_id: Any,
                  changes: Mapping[str, Any] | None, common: Mapping[str, Any], via: str,
                  via_detail: str) -> dict[str, Any]:
    return {**common, "action": action, "target_type": target_type,
            "target_id": str(target_id or ""), "changes": redact(changes or {}),
            "via": str(via), "via_detail": via_detail[:120]}
