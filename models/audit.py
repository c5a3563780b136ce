"""The audit log: who did what to which record, when and from where. Rows are only added."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models import NEVER_REUSE_IDS, db, sort_indexes, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The actor's id may outlive the account (SET NULL); the username snapshot keeps the record.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_username: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(30), default="")
    target_id: Mapped[str] = mapped_column(String(50), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    via: Mapped[str] = mapped_column(String(120), default="")  # a console.audit.Source
    # Which one within the source: the API token's name, the imported file's name.
    via_detail: Mapped[str] = mapped_column(String(120), default="", server_default="")
    remote_addr: Mapped[str] = mapped_column(String(45), default="")

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.target_type}:{self.target_id}>"


sort_indexes(AuditEvent.at, AuditEvent.action, AuditEvent.actor_username, AuditEvent.target_type)
# The console sorts the actor ignoring case, as it sorts every name (the index above serves the
# actor filter).
Index("ix_audit_events_actor_username_lower_id", func.lower(AuditEvent.actor_username),
      AuditEvent.id)
# A record's history, newest first, at the same cost on any page (console/history.py).
Index("ix_audit_events_target", AuditEvent.target_type, AuditEvent.target_id, AuditEvent.id)
