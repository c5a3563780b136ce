"""Every write of two-factor sign-in (TOTP, RFC 6238): turning it on with a code from an
authenticator app, taking the code of each login, single-use recovery codes, turning it off,
and an admin's (or the CLI's) reset.

The shared secret is stored as base32 (the server must compute the codes from it, so it cannot
be hashed); recovery codes are random and stored only as their SHA-256. A code is taken once:
a TOTP code only for a later time step than the last one taken (`User.totp_last_step`), a
recovery code only while unused, each by a conditional UPDATE, so two requests racing with one
code cannot both win. No secret and no code goes into the audit log: the events say what
changed and how many recovery codes there are.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from enum import StrEnum

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from console import audit
from console.audit import Source
from console.services import sessions
from models import RecoveryCode, User, db, utcnow
from models.api_tokens import secret_hash
from models.errors import DomainError, Refusal

ISSUER = "Interstellar Space Station"  # the account's label in the authenticator app
CODE_DIGITS = 6
VALID_WINDOW = 1  # a code of the time step before or after this one counts (clock drift)
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # lowercase base32: no 0, 1, 8 or 9
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4  # "abcd-efgh-ijkl": 60 random bits, easy to read out and type
MAX_CODE_LENGTH = 40  # longer input is no code (forms say so before the service is asked)
SECRET_PATTERN = re.compile(r"[A-Z2-7]{32}")  # what new_secret() makes

WRONG_CODE = "That code is not right, or it was used already. Try the newest code of your app."
WRONG_PASSWORD = "The current password is not correct."  # noqa: S105 - a message


class CodeKind(StrEnum):
    APP = "app"
    RECOVERY = "recovery code"


def new_secret() -> str:
    """A new random shared secret: 160 bits in base32, as authenticator apps expect."""
    return pyotp.random_base32()


def valid_secret(secret: str) -> bool:
    return bool(SECRET_PATTERN.fullmatch(secret))


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def _normal(code: str) -> str:
    """A typed code without spaces and hyphens, in lower case."""
    return re.sub(r"[\s-]+", "", code[:MAX_CODE_LENGTH]).lower()


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The earliest time step near now, later than `after`, whose TOTP code is `code`."""
    if not re.fullmatch(f"[0-9]{{{CODE_DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _take_code(user: User, code: str) -> CodeKind | None:
    """Take `code` for `user`, once, inside the caller's transaction: a TOTP code of a time step
    later than the last one taken, or an unused recovery code (then marked used)."""
    code = _normal(code)
    if not user.two_factor_enabled or not code:
        return None
    step = _matching_step(user.totp_secret, code, after=user.totp_last_step)
    if step is not None:
        unused = User.totp_last_step.is_(None) | (User.totp_last_step < step)
        taken = db.session.execute(
            update(User).where(User.id == user.id, unused).values(totp_last_step=step),
            execution_options={"synchronize_session": False}).rowcount
        if taken:
            set_committed_value(user, "totp_last_step", step)
            return CodeKind.APP
        return None
    taken = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == secret_hash(code),
                                   RecoveryCode.used_at.is_(None)).values(used_at=utcnow()),
        execution_options={"synchronize_session": False}).rowcount
    return CodeKind.RECOVERY if taken else None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def _new_recovery_code() -> str:
    return "-".join("".join(secrets.choice(RECOVERY_ALPHABET)
                            for _ in range(RECOVERY_GROUP_LENGTH))
                    for _ in range(RECOVERY_GROUPS))


def _replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes for `user` instead of the old ones, in the caller's transaction; the
    codes are returned in clear this once and stored as their hashes."""
    _delete_recovery_codes(user)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=secret_hash(_normal(code)))
                       for code in codes)
    return codes


def _delete_recovery_codes(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id),
                       execution_options={"synchronize_session": False})


def _checked_password_and_code(user: User, password: str, code: str) -> CodeKind:
    """Raises DomainError unless two-factor is on, `password` is right and `code` is taken."""
    if not user.two_factor_enabled:
        raise DomainError.about("code", "Two-factor sign-in is off.", Refusal.CONFLICT)
    if not user.check_password(password):
        raise DomainError.about("current_password", WRONG_PASSWORD)
    kind = _take_code(user, code)
    if kind is None:
        raise DomainError.about("code", WRONG_CODE)
    return kind


def enable(user: User, secret: str, code: str) -> list[str]:
    """Turn on two-factor sign-in for `user` with the new `secret`, once `code` shows that their
    app has it; returns the recovery codes, in clear this once. Raises DomainError."""
    if not valid_secret(secret):
        raise DomainError.about("code", "This page has expired; scan the new QR code.")
    step = _matching_step(secret, _normal(code), after=None)
    if step is None:
        raise DomainError.about("code", WRONG_CODE)
    # Only while it is off: of two submissions of one page, the second finds it on.
    turned_on = db.session.execute(
        update(User).where(User.id == user.id, User.totp_secret.is_(None))
        .values(totp_secret=secret, totp_last_step=step),
        execution_options={"synchronize_session": False}).rowcount
    if not turned_on:
        raise DomainError.about("code", "Two-factor sign-in is on already.", Refusal.CONFLICT)
    set_committed_value(user, "totp_secret", secret)
    set_committed_value(user, "totp_last_step", step)
    codes = _replace_recovery_codes(user)
    audit.record("two_factor.enable", user, actor=user,
                 changes={"two_factor": [False, True], "recovery_codes": [0, len(codes)]})
    db.session.commit()
    return codes


def log_in(user: User, code: str, *, remember: bool) -> bool:
    """The second step of a login whose password was right: take `code`, then store the session
    (console/services/sessions.py), in one transaction. False, and audited, when the code is
    wrong or used already."""
    kind = _take_code(user, code)
    if kind is None:
        audit.record("login.two_factor_failed", user)
        db.session.commit()
        return False
    if kind is CodeKind.RECOVERY:
        left = recovery_codes_left(user)
        audit.record("two_factor.recovery_code_used", user, actor=user,
                     changes={"recovery_codes": [left + 1, left]})
    sessions.log_in(user, remember=remember)
    return True


def disable(user: User, password: str, code: str) -> None:
    """The owner turns two-factor sign-in off, with their password and a code."""
    _checked_password_and_code(user, password, code)
    left = recovery_codes_left(user)
    _turn_off(user)
    audit.record("two_factor.disable", user, actor=user,
                 changes={"two_factor": [True, False], "recovery_codes": [left, 0]})
    db.session.commit()


def replace_recovery_codes(user: User, password: str, code: str) -> list[str]:
    """The owner swaps their recovery codes for new ones, with their password and a code;
    returns the new codes, in clear this once."""
    _checked_password_and_code(user, password, code)
    left = recovery_codes_left(user)
    codes = _replace_recovery_codes(user)
    audit.record("two_factor.recovery_codes", user, actor=user,
                 changes={"recovery_codes": [left, len(codes)]})
    db.session.commit()
    return codes


def _turn_off(user: User) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    _delete_recovery_codes(user)


def reset(users: list[User], *, actor: User | None = None, via: str = Source.CONSOLE) -> int:
    """An admin (or the CLI, with no `actor`) turns off two-factor sign-in of accounts that lost
    their app and codes, all or none; they log in with their password alone and can turn it on
    again. Nobody resets their own: they turn it off with a code. Returns how many changed."""
    changing = [user for user in users if user.two_factor_enabled]
    if actor is not None and any(user.id == actor.id for user in changing):
        raise DomainError.about("id", "You cannot reset your own two-factor sign-in; turn it "
                                "off on your account page.")
    for user in changing:
        left = recovery_codes_left(user)
        _turn_off(user)
        audit.record("two_factor.reset", user, via=via,
                     changes={"two_factor": [True, False], "recovery_codes": [left, 0]})
    db.session.commit()
    return len(changing)
