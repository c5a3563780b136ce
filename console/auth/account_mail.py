"""The mails of the account flows and the signed links in them.

A link carries a token signed with SECRET_KEY (itsdangerous), salted per purpose so that one
kind of link never works as another:

    password reset       valid 1 hour; the user id and a fingerprint of the password hash, so
                         it stops working once used (the hash changes) or once the password
                         changes any other way
    email confirmation   valid 24 hours; the user id and a fingerprint of the address, so a
                         link to an address the account no longer has does nothing

Tokens travel in the query string, which the request log never writes (console/request_log.py).
Inactive accounts get no mail: there is nothing they could do with a link.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from console import mail
from models import User, db
from models.users import normalise_email

RESET_MAX_AGE = timedelta(hours=1)
CONFIRM_MAX_AGE = timedelta(hours=24)
RESET, CONFIRM = "password-reset", "email-confirm"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"console.{purpose}")


def _fingerprint(value: str) -> str:
    """A short keyed digest: it tells a changed value from the same one, and nothing of the
    value itself (the token's payload is signed, not encrypted)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def _reset_fingerprint(user: User) -> str:
    return _fingerprint(user.password_hash)


def _confirm_fingerprint(user: User) -> str:
    return _fingerprint(user.email.lower())


FINGERPRINTS = {RESET: _reset_fingerprint, CONFIRM: _confirm_fingerprint}
MAX_AGES = {RESET: RESET_MAX_AGE, CONFIRM: CONFIRM_MAX_AGE}


def address_key(typed: str) -> str:
    """An address as typed, for counting requests per address: normalised when it is one,
    never looked up, so that the variants of one address share a count whether or not an
    account has it (a count kept per account would tell that it exists)."""
    typed = typed.strip()
    try:
        return normalise_email(typed).lower()
    except ValueError:
        return typed.lower()


def token_for(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps([user.id, FINGERPRINTS[purpose](user)])


def user_for(token: str, purpose: str) -> User | None:
    """The active account a token of `purpose` names while it is valid, or None: expired,
    forged, made for another purpose, or its password or address changed meanwhile."""
    try:
        user_id, fingerprint = _serializer(purpose).loads(
            token, max_age=int(MAX_AGES[purpose].total_seconds()))
    except (BadData, ValueError, TypeError):  # expired and forged tokens are BadData
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or not isinstance(fingerprint, str):
        return None
    if not hmac.compare_digest(fingerprint, FINGERPRINTS[purpose](user)):
        return None
    return user


def _link(endpoint: str, user: User, purpose: str) -> str:
    return url_for(endpoint, token=token_for(user, purpose), _external=True)


def _hours(age: timedelta) -> int:
    return int(age.total_seconds() // 3600)


def send_password_reset(user: User) -> None:
    if not user.is_active:
        return
    mail.send("password_reset", user.email, "Reset your password", user=user,
                     link=_link("auth.reset_password", user, RESET))


def send_confirmation(user: User) -> None:
    if not user.is_active:
        return
    mail.send("confirm_email", user.email, "Confirm your email address", user=user,
                     link=_link("auth.confirm_email", user, CONFIRM),
                     hours=_hours(CONFIRM_MAX_AGE))


def send_registration_attempt(user: User) -> None:
    """To the owner of an address somebody tried to register again: log in, or reset."""
    if not user.is_active:
        return
    mail.send("registration_attempt", user.email,
                     "Someone tried to register with your email address", user=user,
                     link=_link("auth.reset_password", user, RESET),
                     login_url=url_for("auth.login", _external=True))


def send_lockout_notice(user: User) -> None:
    """To the owner of an account whose logins are paused after repeated failures."""
    if not user.is_active:
        return
    mail.send("login_lockout", user.email, "Failed logins to your account", user=user,
                     link=_link("auth.reset_password", user, RESET))
