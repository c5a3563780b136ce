"""Every write of user accounts, for the site, the console and the CLI, so they cannot
disagree: registration, changes, the admin guards, deletion, logins and logouts.

Each change is audited in the same transaction that stores it; `via` says where it came from.
"""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import select, update

from console import audit
from console.audit import Source
from console.history import RevertField, revert_fields_of
from console.security import role_allows
from console.services import api_tokens, sessions
from console.services.api_tokens import TOKEN_PERMISSION
from console.services.transaction import committed
from models import ApiToken, AuditEvent, MissionApplication, Role, Theme, User, db, utcnow
from models.errors import DomainError, Refusal
from models.users import normalise_email, password_problem, username_problem

# The fields of an account that its audit events list and a revert can put back (the password
# is audited as "set", never as a value).
ACCOUNT_FIELDS = ("username", "email", "role", "is_active")

def _valid_email(email: str) -> str:
    try:
        return normalise_email(email)
    except ValueError as error:
        raise DomainError.about("email", str(error)) from None


def _email_taken() -> DomainError:
    return DomainError.about("email", "This email address is already registered.",
                             Refusal.CONFLICT)


def _checked_email(email: str, excluding_id: int | None = None) -> str:
    email = _valid_email(email)
    if User.email_taken(email, excluding_id):
        raise _email_taken()
    return email


def _checked_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise DomainError.about("role", f"Unknown role {role!r}; choose one of {known}.") from None


def _duplicate_error(username: str, user_id: int | None = None) -> DomainError:
    """Which unique value another request stored first: the username or the email (of an
    account other than `user_id`, the one being changed)."""
    holder = User.find_by_login(username)
    if holder is not None and holder.id != user_id:
        return DomainError.about("username", "This username is taken.", Refusal.CONFLICT)
    return _email_taken()


def create_account(username: str, email: str, password: str, role: str = Role.MEMBER, *,
                   is_active: bool = True, action: str = "user.create",
                   via: str = Source.SITE, must_change_password: bool = False) -> User:
    """Validate and store a new account; raises DomainError naming the bad field.

    `action` is "user.register" when people sign themselves up; `must_change_password` when
    somebody else chose the password (an admin, the first admin's printed one).
    """
    username = username.strip()
    if problem := username_problem(username):
        raise DomainError.about("username", problem)
    if User.username_taken(username):
        raise DomainError.about("username", "This username is taken.", Refusal.CONFLICT)
    email = _valid_email(email)
    if problem := password_problem(password, username, email):
        raise DomainError.about("password", problem)
    if User.email_taken(email):  # after the password's rules: see register()
        raise _email_taken()
    user = User(username=username, email=email, role=_checked_role(role).value,
                is_active=is_active, must_change_password=must_change_password,
                # People who sign up confirm their address by mail; an account that an admin
                # or the operator makes is vouched for by them.
                email_confirmed_at=None if action == "user.register" else utcnow())
    user.set_password(password)
    with committed(lambda: _duplicate_error(username)):  # another request may win the name
        db.session.add(user)
        db.session.flush()
        audit.record(action, user, via=via, actor=user if action == "user.register" else None,
                     changes=audit.diff({}, audit.snapshot(user, ACCOUNT_FIELDS)))
    return user


def register(username: str, email: str, password: str) -> tuple[User | None, User | None]:
    """Someone signs up: (the new, unconfirmed account, None), or, when the address already
    has an account, (None, that account) with nothing stored.

    The site answers both alike, so the page does not tell whether an address has an account;
    both cost one password hash, so neither does the time. A taken username, a bad address
    or a weak password raise DomainError as in create_account (usernames are public, and the
    rules of an address or a password tell nothing of who has an account)."""
    try:
        return create_account(username, email, password, action="user.register"), None
    except DomainError as error:
        if (error.field, error.kind) != ("email", Refusal.CONFLICT):
            raise
    User().set_password(password)  # the hash the new account would have cost
    return None, User.find_by_login(_valid_email(email))


def reset_password(user: User, password: str) -> None:
    """Set a forgotten password from a reset link: the rules of every password, no password
    change left pending, every session of the account ended (whoever is logged in with the
    old password is out), audited."""
    if problem := password_problem(password, user.username, user.email):
        raise DomainError.about("password", problem)
    with committed():
        user.set_password(password)
        user.must_change_password = False
        ended = sessions.end_all(user)
        audit.record("user.password_reset", user, via=Source.SITE, actor=user,
                     changes={"password": "set", "sessions": [ended, 0]})


# The confirmation of an account's address, as its audit events show it ("confirmed" in a key
# would be redacted as a secret, like a password's confirmation field).
EMAIL_STATUS = "email_status"


def _email_status(user: User) -> str:
    return "confirmed" if user.email_confirmed else "unconfirmed"


def confirm_email(user: User) -> bool:
    """The owner followed the confirmation link sent to the account's address; False when it
    was confirmed already (nothing changes)."""
    if user.email_confirmed:
        return False
    with committed():
        user.email_confirmed_at = utcnow()
        audit.record("user.email_confirm", user, via=Source.SITE, actor=user,
                     changes={EMAIL_STATUS: ["unconfirmed", "confirmed"]})
    return True


@cache
def _decoy() -> User:
    """An account nobody has, to check the password against when no account matches, so that
    an unknown account takes as long to refuse as a wrong password (no enumeration by time)."""
    decoy = User()
    decoy.set_password(secrets.token_urlsafe(16))
    return decoy


def authenticate(login: str, password: str) -> User | None:
    """The active user with these credentials, or None (one answer for every failure)."""
    user = User.find_by_login(login)
    if user is None:
        _decoy().check_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def record_failed_login(login: str, action: str = "login.failed") -> None:
    """A failed or refused login, on the account it named. For no account, only that: what was
    typed is sometimes a password in the wrong field, and never goes into the log."""
    user = User.find_by_login(login)
    if user is not None:
        audit.record(action, user, changes={"login": login[:254]})
    else:
        audit.record(action, target_type="user", changes={"account": "unknown"})
    db.session.commit()


ROLE_RANK = {role: rank for rank, role in enumerate(Role)}  # Role lists the roles lowest first


def _active_admins_besides(users: list[User]) -> int:
    """Active admins outside `users`. Two concurrent changes must not both remove "the other"
    last admin, so the admin rows are locked first: on PostgreSQL every active admin's row, in
    id order (no deadlock; a waiting change re-reads them once the first commits); SQLite has
    no row locks, so a no-op write takes its one write lock, which the other change waits for
    before it counts."""
    admins = (User.role == Role.ADMIN.value) & User.is_active.is_(True)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(User).where(admins).values(role=User.role))
    locked = db.session.scalars(select(User.id).where(admins).order_by(User.id)
                                .with_for_update()).all()
    return len(set(locked) - {user.id for user in users})


def _is_active_admin(user: User) -> bool:
    return user.role == Role.ADMIN and user.is_active


def _checked_changes(user: User, actor: User | None, *, username: str | None, email: str | None,
                     role: str | None, is_active: bool | None, password: str | None) -> dict:
    """The changes to make, as {field: new value}; raises DomainError before anything changes."""
    changes: dict = {}
    if username is not None and username.strip() != user.username:
        username = username.strip()
        if problem := username_problem(username):
            raise DomainError.about("username", problem)
        taken = User.find_by_login(username)
        if taken is not None and taken.id != user.id:
            raise DomainError.about("username", "This username is taken.", Refusal.CONFLICT)
        changes["username"] = username
    if email is not None and email.strip() != user.email:
        changes["email"] = _checked_email(email, excluding_id=user.id)
    if role is not None and role != user.role:
        new_role = _checked_role(role)
        if actor is not None and actor.id == user.id and ROLE_RANK[new_role] < ROLE_RANK[
                Role(user.role)]:
            raise DomainError.about("role", "You cannot demote yourself.")
        if new_role != Role.MEMBER and not user.email_confirmed:
            raise DomainError.about(
                "role", f"{user.username} has not confirmed their email address yet; an "
                "account gets a staff role only once its owner has followed the "
                "confirmation link.", Refusal.CONFLICT)
        changes["role"] = new_role.value
    if is_active is not None and is_active != user.is_active:
        if not is_active and actor is not None and actor.id == user.id:
            raise DomainError.about("is_active", "You cannot deactivate yourself.")
        changes["is_active"] = is_active
    leaves_admins = changes.get("role", Role.ADMIN) != Role.ADMIN or not changes.get(
        "is_active", True)
    if _is_active_admin(user) and leaves_admins and _active_admins_besides([user]) == 0:
        field = "role" if "role" in changes else "is_active"
        raise DomainError.about(field, "The last active admin cannot be demoted or deactivated.")
    if password:
        if problem := password_problem(password, changes.get("username", user.username),
                                       changes.get("email", user.email)):
            raise DomainError.about("password", problem)
        changes["password"] = password
    return changes


def _apply(user: User, changes: dict, via: str, via_detail: str = "",
           actor: User | None = None) -> None:
    """Store checked changes, one audit event per kind of change, ending sessions when the
    password, the role or the active flag changes: all of them, but the one of a user who
    changes their own password."""
    def record(action: str, recorded: dict) -> None:
        audit.record(action, user, via=via, via_detail=via_detail, changes=recorded)

    details = {k: [getattr(user, k), v] for k, v in changes.items() if k in ("username", "email")}
    if "email" in changes and actor is not None and actor.id == user.id:
        # A new address of one's own is confirmed anew (console/auth sends the link); one
        # that an admin enters is vouched for by them. A staff role stays.
        details[EMAIL_STATUS] = [_email_status(user), "unconfirmed"]
        user.email_confirmed_at = None
    if details:
        record("user.update", details)
    if "role" in changes:
        record("user.role", {"role": [user.role, changes["role"]]})
        if not role_allows(changes["role"], TOKEN_PERMISSION):
            # Its tokens die with the right they stood for, and stay dead if it comes back.
            api_tokens.revoke_all(user, via=via)
    if "is_active" in changes:
        action = "user.activate" if changes["is_active"] else "user.deactivate"
        record(action, {"is_active": [user.is_active, changes["is_active"]]})
    if "password" in changes:
        record("user.password", {"password": "set"})
        user.set_password(changes["password"])
        # A password somebody else chose (an admin, the operator) is the owner's to replace.
        user.must_change_password = actor is None or actor.id != user.id
    for key in ACCOUNT_FIELDS:
        if key in changes:
            setattr(user, key, changes[key])
    if changes.keys() & {"password", "role", "is_active"}:
        own = sessions.current() if actor is not None and actor.id == user.id else None
        sessions.end_all(user, keep=own)
        if own is not None and "password" in changes:
            sessions.renew(own)


def update_account(user: User, *, actor: User | None = None, username: str | None = None,
                   email: str | None = None, role: str | None = None,
                   is_active: bool | None = None, password: str | None = None,
                   via: str = Source.SITE, via_detail: str = "") -> None:
    """Change several things of one account at once: all are checked before any is stored.

    `actor` is the user making the change (None for the CLI); nobody demotes or deactivates
    themselves, and the last active admin stays an active admin.
    """
    changes = _checked_changes(user, actor, username=username, email=email, role=role,
                               is_active=is_active, password=password)
    if not changes:
        return
    username, user_id = changes.get("username", user.username), user.id
    with committed(lambda: _duplicate_error(username, user_id)):
        _apply(user, changes, via, via_detail, actor)


def checked_theme(theme: str) -> Theme:
    """`theme` as a Theme; raises DomainError naming the choices otherwise."""
    try:
        return Theme(theme)
    except ValueError:
        *others, last = (t.label for t in Theme)
        raise DomainError.about("theme", f"Choose {', '.join(others)} or {last} as the colour "
                                "theme.") from None


def set_theme(user: User, theme: str, *, via: str = Source.SITE) -> bool:
    """The owner chose the colour theme of their pages; False when it was that already
    (nothing stored). Raises DomainError for a theme that does not exist."""
    chosen = checked_theme(theme).value
    if chosen == user.theme:
        return False
    with committed():
        audit.record("user.theme", user, via=via, actor=user,
                     changes={"theme": [user.theme, chosen]})
        user.theme = chosen
    return True


REVERTIBLE = ("user.update", "user.role", "user.activate", "user.deactivate")


def revert_fields(user: User, event: AuditEvent) -> list[RevertField]:
    """What reverting `event` (a change of the account's name, email, role or active flag)
    would put back, field by field, with the value each has now."""
    if event.target_type != "user" or event.target_id != str(user.id) \
            or event.action not in REVERTIBLE:
        raise DomainError.about("event", "This event is not a change of this account that "
                                "can be reverted.", Refusal.MISSING)
    return revert_fields_of(event, audit.snapshot(user, ACCOUNT_FIELDS))


def revert(user: User, event: AuditEvent, fields: list[str], *, actor: User | None,
           via: str) -> None:
    """Put back the chosen fields' values from before `event`, under every rule of an edit
    (nobody demotes themselves, the last admin stays); the events name the one reverted."""
    offered = {field.field: field.before for field in revert_fields(user, event)}
    if not fields or set(fields) - offered.keys():
        raise DomainError.about("fields", "Choose the fields of this change to put back.")
    update_account(user, actor=actor, via=via, via_detail=f"revert of event {event.id}",
                   **{name: offered[name] for name in fields})


def set_active(users: list[User], active: bool, *, actor: User | None, via: str) -> int:
    """Activate or deactivate several accounts at once, all or none; returns how many changed."""
    changing = [user for user in users if user.is_active != active]
    if not active:
        if actor is not None and any(user.id == actor.id for user in changing):
            raise DomainError.about("is_active", "You cannot deactivate yourself.")
        if any(_is_active_admin(user) for user in changing) and not _active_admins_besides(
                changing):
            raise DomainError.about("is_active", "The last active admin cannot be deactivated.")
    for user in changing:
        _apply(user, {"is_active": active}, via)
    db.session.commit()
    return len(changing)


def _history(user: User) -> list[str]:
    """What a person did under this account that deleting it would orphan."""
    held = []
    if db.session.scalar(select(MissionApplication.id).where(
            (MissionApplication.applicant_id == user.id)
            | (MissionApplication.reviewed_by_id == user.id)).limit(1)):
        held.append("mission applications")
    if db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id).limit(1)):
        held.append("API tokens")
    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.actor_id == user.id).limit(1)):
        held.append("a history in the audit log")
    return held


def delete_accounts(users: list[User], *, actor: User | None, via: str) -> None:
    """Delete several accounts at once, all or none. An account with applications, API tokens
    or anything it did in the audit log is deactivated instead, never deleted."""
    if actor is not None and any(user.id == actor.id for user in users):
        raise DomainError.about("id", "You cannot delete your own account.")
    if any(_is_active_admin(user) for user in users) and not _active_admins_besides(users):
        raise DomainError.about("id", "The last active admin cannot be deleted.")
    for user in users:
        if held := _history(user):
            raise DomainError.about(
                "id", f"{user.username} has {' and '.join(held)}, so the account cannot be "
                "deleted; deactivate it instead.", Refusal.CONFLICT)
    for user in users:
        audit.record("user.delete", user, via=via, changes=audit.diff(
            audit.snapshot(user, ACCOUNT_FIELDS), {}))
        db.session.delete(user)
    db.session.commit()
