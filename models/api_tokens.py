"""API tokens: bearer credentials for scripts. Only a hash of each secret is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import NEVER_REUSE_IDS, db, sort_indexes, utcnow
from models.users import User

MAX_TOKEN_NAME_LENGTH = 50
PREFIX_LENGTH = 8


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The stored form of a secret: its SHA-256 in hex (a random 256-bit secret needs no salt)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_name_problem(name: str) -> str | None:
    """Why `name` cannot name a token, or None when it can."""
    if not 1 <= len(name) <= MAX_TOKEN_NAME_LENGTH:
        return f"Use 1 to {MAX_TOKEN_NAME_LENGTH} characters."
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "Use no control characters."
    return None


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
                      NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_TOKEN_NAME_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(PREFIX_LENGTH))  # shown to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name!r} of user {self.user_id}>"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @staticmethod
    def issue(user: User, name: str) -> tuple[ApiToken, str]:
        """A new token for `user` and its secret, which is not kept anywhere."""
        secret = new_secret()
        token = ApiToken(user=user, name=name, token_hash=secret_hash(secret),
                         prefix=secret[:PREFIX_LENGTH])
        return token, secret

    @staticmethod
    def find_by_secret(secret: str) -> ApiToken | None:
        return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(secret)))

    @staticmethod
    def name_taken(user_id: int, name: str) -> bool:
        query = select(ApiToken.id).where(ApiToken.user_id == user_id,
                                          func.lower(ApiToken.name) == name.lower())
        return db.session.scalar(query) is not None


# A user's token names are unique ignoring case, revoked tokens included, so a name in the audit
# log always points at one token.
Index("uq_api_tokens_user_id_name_lower", ApiToken.user_id, func.lower(ApiToken.name),
      unique=True)
sort_indexes(ApiToken.created_at, ApiToken.last_used_at, ApiToken.revoked_at)
# The console sorts names ignoring case.
Index("ix_api_tokens_name_lower_id", func.lower(ApiToken.name), ApiToken.id)
