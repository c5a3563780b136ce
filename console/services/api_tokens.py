"""API token operations shared by the account page, the API and the CLI, so they cannot disagree.

Creating and revoking a token are audited in the same transaction that stores them; the secret
is returned once and never stored, logged or audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from console import audit
from console.audit import Source
from console.security import Permission, can
from models import ApiToken, User, db, utcnow
from models.api_tokens import token_name_problem
from models.errors import DomainError, Refusal

TOKEN_PERMISSION = Permission.PLANETS_WRITE


def may_hold_tokens(user: User) -> bool:
    """Tokens exist for writing planets, so only active users who may do that hold them."""
    return can(TOKEN_PERMISSION, user)


def _duplicate_name(name: str) -> DomainError:
    return DomainError.about("name", f"There is already a token named {name!r} on this account.",
                             Refusal.CONFLICT)


def create_token(user: User, name: str, *, via: str = Source.SITE) -> tuple[ApiToken, str]:
    """Store a new token for `user`; returns it with its secret, which is shown once only."""
    if not user.is_active:
        raise DomainError.about("user", f"{user.username!r} is deactivated; only active users hold "
                                 "API tokens.")
    if not may_hold_tokens(user):
        raise DomainError.about("user", f"{user.username!r} is a {user.role}, who may not change "
                                 "planets, so it cannot hold API tokens.")
    name = name.strip()
    if problem := token_name_problem(name):
        raise DomainError.about("name", problem)
    if ApiToken.name_taken(user.id, name):
        raise _duplicate_name(name)
    token, secret = ApiToken.issue(user, name)
    db.session.add(token)
    try:
        audit.record("token.create", token, via=via,
                     changes=audit.diff({}, {"name": token.name, "owner": user.username}))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate_name(name) from None
    return token, secret


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def _revoke(token: ApiToken, via: str) -> None:
    token.revoked_at = utcnow()
    audit.record("token.revoke", token, via=via,
                 changes=audit.diff({"revoked_at": None}, audit.snapshot(token, ["revoked_at"])))


def revoke_token(token: ApiToken, *, via: str = Source.SITE) -> None:
    """Stop the token at once; revoking a revoked token changes nothing."""
    if token.is_revoked:
        return
    _revoke(token, via)
    db.session.commit()


def revoke_all(user: User, *, via: str) -> None:
    """Revoke every live token of `user` in the caller's transaction (a role change that takes
    away the right to write planets: the tokens stay dead if the right comes back)."""
    live = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    for token in db.session.scalars(live):
        _revoke(token, via)


def authenticate(secret: str) -> ApiToken | None:
    """The token presented as `secret` if it is not revoked and its user is active.

    Matching is by the secret's hash, so no plaintext is compared. Whether the user may write is
    left to the caller, which answers 403 rather than 401 then. Marks the token as used, in
    the transaction of the write it authorises (a refused write leaves no trace).
    """
    token = ApiToken.find_by_secret(secret)
    if token is None or token.is_revoked or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token
