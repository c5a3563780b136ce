"""A record's history: its audit events, newest first, a page at a time by cursor.

The (target_type, target_id, id) index serves every page at the same cost, however many events
the record or the whole log holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from console.paging import Ordering, Page, fetch_from, read_page
from models import AuditEvent, db

HISTORY_PAGE_SIZE = 20
ORDERING_NAME = "history"


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RevertField:
    """One field of an event to revert: its value before and after the event, and now."""

    field: str
    before: Any
    after: Any
    now: Any

    @property
    def changed_since(self) -> bool:
        return self.now != self.after


def revert_fields_of(event: AuditEvent, now: dict[str, Any]) -> list[RevertField]:
    """The fields an update event changed that can be put back (those in `now`, the record's
    current values), each with its value then and now."""
    return [RevertField(name, change[0], change[1], now[name])
            for name, change in event.changes.items()
            if name in now and isinstance(change, list) and len(change) == 2]


def history_page(target_type: str, target_id: int, *, page: int = 1, after: str | None = None,
                 before: str | None = None) -> Page[AuditEvent]:
    """One page of the record's events, newest first; PagingError for a foreign cursor."""
    ordering = Ordering.on(db.engine.dialect.name, ORDERING_NAME, AuditEvent.id, AuditEvent.id,
                           descending=True)
    query = select(AuditEvent, AuditEvent.id, AuditEvent.id).where(
        AuditEvent.target_type == target_type, AuditEvent.target_id == str(target_id))
    return read_page(fetch_from(db.session, query, ordering.id), ordering, HISTORY_PAGE_SIZE,
                     offset=(page - 1) * HISTORY_PAGE_SIZE, after=after, before=before)


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """The event's changed fields as (field, before, after); a value without a before and after
    (a redacted secret, a login) is shown as its after."""
    rows = []
    for name, value in event.changes.items():
        if isinstance(value, list) and len(value) == 2:
            rows.append(FieldChange(name, value[0], value[1]))
        else:
            rows.append(FieldChange(name, None, value))
    return rows
