"""Stored login sessions: one row per login, named by a random token that only the browser's
cookies hold (the row keeps its hash). Ending a session deletes its row, so a copied session
or remember-me cookie stops working on every server at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import NEVER_REUSE_IDS, db, utcnow
from models.users import User

MAX_USER_AGENT_LENGTH = 512


class UserSession(db.Model):
    __tablename__ = "user_sessions"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A session is the server's record of a login, not data a person entered: it goes with
    # its account.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    remote_addr: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT_LENGTH), default="")
    remember: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code, stored as its SHA-256 (codes are random)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
