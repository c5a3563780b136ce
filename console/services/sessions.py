"""Every write of login sessions: logging in and out, ending sessions, and the last-seen stamp.

A session is a row named by a random token; the session cookie and the remember-me cookie
carry the token, the row keeps its SHA-256. A request is logged in only while its row exists
and is within the idle timeout and the absolute lifetime (settings), so ending a session, here
or on any other server, ends it everywhere at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context, request
from sqlalchemy import bindparam, delete, select
from ua_parser import parse

from console import audit
from console.audit import Source
from models import User, UserSession, as_utc, db, utcnow
from models.api_tokens import secret_hash
from models.sessions import MAX_USER_AGENT_LENGTH

# The last-seen stamp is written at most this often per session, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
# The session of a token's hash: built once, as every logged-in request asks it.
SESSION_OF_TOKEN = select(UserSession).where(UserSession.token_hash == bindparam("token_hash"))


def current() -> UserSession | None:
    """The stored session of this request, once Flask-Login has loaded its user."""
    return g.get("user_session") if has_request_context() else None


def _idle_timeout(session: UserSession) -> timedelta:
    config = current_app.config
    if session.remember:
        return timedelta(seconds=config["REMEMBER_COOKIE_DURATION"])
    return timedelta(minutes=config["SESSION_IDLE_MINUTES"])


def _expired(session: UserSession, now: datetime) -> bool:
    lifetime = timedelta(days=current_app.config["SESSION_LIFETIME_DAYS"])
    return (now - as_utc(session.created_at) > lifetime
            or now - as_utc(session.last_seen_at) > _idle_timeout(session))


def _new_token(user: User) -> str:
    """A new random token, left on `user` for Flask-Login's login_user() to put into the
    cookies; only its hash is stored."""
    user.session_token = secrets.token_urlsafe(32)
    return secret_hash(user.session_token)


def log_in(user: User, *, remember: bool) -> None:
    """Store a new session for `user` and audit the login, in one transaction; the session's
    token is left on `user` for Flask-Login's login_user() to put into the cookies."""
    now = utcnow()
    db.session.add(UserSession(
        user_id=user.id, token_hash=_new_token(user), created_at=now, last_seen_at=now,
        remember=remember, remote_addr=(request.remote_addr or "")[:45],
        user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH]))
    _forget_expired(user, now)
    user.last_login_at = now
    audit.record("login", user, actor=user)
    db.session.commit()


def _forget_expired(user: User, now: datetime) -> None:
    for session in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        if _expired(session, now):
            db.session.delete(session)


def load(token: str) -> User | None:
    """The active user whose live session `token` names, or None. Flask-Login calls this at the
    start of each logged-in request (console/__init__.py), before the view writes anything,
    so the last-seen stamp commits alone."""
    session = db.session.scalar(SESSION_OF_TOKEN, {"token_hash": secret_hash(token)})
    if session is None or not session.user.is_active:
        return None
    now = utcnow()
    if _expired(session, now):
        db.session.delete(session)
        db.session.commit()
        return None
    if now - as_utc(session.last_seen_at) >= TOUCH_INTERVAL:
        session.last_seen_at = now
        session.remote_addr = (request.remote_addr or "")[:45]
        db.session.commit()
    g.user_session = session
    session.user.session_token = token
    return session.user


def log_out(user: User) -> None:
    """End this request's session (the other sessions of `user` live on) and audit it."""
    if (session := current()) is not None:
        db.session.delete(session)
    audit.record("logout", user, actor=user)
    db.session.commit()


def end(user: User, session_id: int) -> bool:
    """End one of `user`'s own sessions (from their account page); False if it is not theirs."""
    session = db.session.get(UserSession, session_id)
    if session is None or session.user_id != user.id:
        return False
    db.session.delete(session)
    audit.record("session.end", user, actor=user, changes={"session": [session_id, None]})
    db.session.commit()
    return True


def end_all(user: User, *, keep: UserSession | None = None) -> int:
    """End every session of `user` but `keep`, inside the caller's transaction (the change that
    calls for it audits it); returns how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return db.session.execute(query, execution_options={"synchronize_session": False}).rowcount


def renew(session: UserSession) -> None:
    """Give this request's session a new token (after its user changed their password), inside
    the caller's transaction; the view re-issues the cookies with login_user()."""
    session.token_hash = _new_token(session.user)


def end_others(user: User) -> int:
    """"Log out everywhere else": every session of `user` but this request's, audited."""
    ended = end_all(user, keep=current())
    audit.record("session.end_others", user, actor=user, changes={"sessions": [ended, 0]})
    db.session.commit()
    return ended


def end_all_of(users: list[User], *, via: str = Source.CONSOLE) -> int:
    """An admin ends every session of each of `users`, audited, in one transaction; returns
    how many ended."""
    total = 0
    for user in users:
        ended = end_all(user)
        audit.record("user.sessions_end", user, via=via, changes={"sessions": [ended, 0]})
        total += ended
    db.session.commit()
    return total


def of_user(user: User) -> list[UserSession]:
    """The live sessions of `user`, most recently seen first."""
    now = utcnow()
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                  .order_by(UserSession.last_seen_at.desc(),
                                            UserSession.id.desc())).all()
    return [session for session in sessions if not _expired(session, now)]


def device(user_agent: str) -> str:
    """"Firefox 133 on Ubuntu", read from a User-Agent header; "Unknown browser" if unreadable."""
    parsed = parse(user_agent)
    browser = parsed.user_agent
    system = parsed.os
    name = "Unknown browser"
    if browser is not None and browser.family != "Other":
        name = f"{browser.family} {browser.major}" if browser.major else browser.family
    if system is not None and system.family != "Other":
        name += f" on {system.family}"
    return name
