"""Account operations shared by the site, the console and the CLI, so they cannot disagree.

Each change is audited in the same transaction that stores it; `via` says where it came from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from console import audit
from models import Role, User, db
from models.users import normalise_email, password_problem, username_problem, utcnow


class AccountError(ValueError):
    """A refused account change; `field` names the input it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _checked_email(email: str, excluding_id: int | None = None) -> str:
    try:
        email = normalise_email(email)
    except ValueError as error:
        raise AccountError("email", str(error)) from None
    if User.email_taken(email, excluding_id):
        raise AccountError("email", "This email address is already registered.")
    return email


def _checked_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError("role", f"Unknown role {role!r}; choose one of {known}.") from None


def _duplicate_error(username: str) -> AccountError:
    """Which unique value another request stored first: the username or the email."""
    if User.username_taken(username):
        return AccountError("username", "This username is taken.")
    return AccountError("email", "This email address is already registered.")


def create_account(username: str, email: str, password: str, role: str = Role.MEMBER, *,
                   action: str = "user.create", via: str = "web") -> User:
    """Validate and store a new account; raises AccountError naming the bad field.

    `action` is "user.register" when people sign themselves up.
    """
    username = username.strip()
    if problem := username_problem(username):
        raise AccountError("username", problem)
    if User.username_taken(username):
        raise AccountError("username", "This username is taken.")
    email = _checked_email(email)
    if problem := password_problem(password, username, email):
        raise AccountError("password", problem)
    user = User(username=username, email=email, role=_checked_role(role).value)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
        audit.record(action, user, via=via, actor=user if action == "user.register" else None,
                     changes={"username": user.username, "email": user.email, "role": user.role})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate_error(username) from None
    return user


def authenticate(login: str, password: str) -> User | None:
    """The active user with these credentials, or None (one answer for every failure)."""
    user = User.find_by_login(login)
    if user is None or not user.check_password(password) or not user.is_active:
        return None
    return user


def record_login(user: User, at: datetime | None = None) -> None:
    user.last_login_at = at or utcnow()
    audit.record("login", user, actor=user)
    db.session.commit()


def record_failed_login(login: str, action: str = "login.failed") -> None:
    audit.record(action, target_type="user", changes={"login": login[:254]})
    db.session.commit()


def record_logout(user: User) -> None:
    audit.record("logout", user, actor=user)
    db.session.commit()


def change_email(user: User, email: str, *, via: str = "web") -> None:
    old = user.email
    user.email = _checked_email(email, excluding_id=user.id)
    audit.record("user.email", user, via=via, changes={"email": [old, user.email]})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError("email", "This email address is already registered.") from None


def set_password(user: User, password: str, *, via: str = "web") -> None:
    """Store a new password and end every session of the user."""
    if problem := password_problem(password, user.username, user.email):
        raise AccountError("password", problem)
    user.set_password(password)
    user.end_sessions()
    audit.record("user.password", user, via=via, changes={"password": password})
    db.session.commit()


def is_last_active_admin(user: User) -> bool:
    if user.role != Role.ADMIN or not user.is_active:
        return False
    others = select(func.count(User.id)).where(
        User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user.id
    )
    return db.session.scalar(others) == 0


def set_role(user: User, role: str, *, via: str = "web") -> None:
    role = _checked_role(role)
    if role != Role.ADMIN and is_last_active_admin(user):
        raise AccountError("role", "The last active admin cannot be demoted.")
    if user.role != role:
        audit.record("user.role", user, via=via, changes={"role": [user.role, role.value]})
        user.role = role.value
        user.end_sessions()
    db.session.commit()


def deactivate(user: User, *, via: str = "web") -> None:
    if is_last_active_admin(user):
        raise AccountError("is_active", "The last active admin cannot be deactivated.")
    if user.is_active:
        user.is_active = False
        user.end_sessions()
        audit.record("user.deactivate", user, via=via, changes={"is_active": [True, False]})
    db.session.commit()
