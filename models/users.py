"""User accounts: roles, credentials and the rules every account must follow."""

from __future__ import annotations

import re
from datetime import datetime
from difflib import SequenceMatcher
from enum import StrEnum
from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import DateTime, Index, String, false, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from models import NEVER_REUSE_IDS, db, one_of, sort_indexes, utcnow

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,20}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# zxcvbn's guessability score, 0 to 4: 3 is "safely unguessable" (about 10^10 guesses).
MIN_PASSWORD_SCORE = 3
# A password holding the username or email with at most this many characters more, or this
# similar to it (difflib's ratio), is a near copy.
NEAR_COPY_EXTRA = 4
NEAR_COPY_RATIO = 0.8


class Role(StrEnum):
    MEMBER = "member"
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Theme(StrEnum):
    """The colours an account's pages use: the system's setting (prefers-color-scheme) or one
    chosen for good."""

    AUTO = "auto"
    LIGHT = "light"
    DARK = "dark"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def username_problem(username: str) -> str | None:
    """Why `username` cannot be a username, or None when it can."""
    if not USERNAME_PATTERN.fullmatch(username):
        return "Use 3 to 20 characters: letters, digits, dot, underscore or hyphen."
    return None


def normalise_email(email: str) -> str:
    """The normalised form of `email`; raises ValueError with a readable message."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def _letters_and_digits(text: str) -> str:
    return "".join(char for char in text.lower() if char.isalnum())


def _near_copy(password: str, of: str) -> bool:
    """Whether `password` is `of` give or take a few characters, case and punctuation aside:
    GOODNAME1x for goodname1, ada.lovelace! for ada.lovelace@example.com."""
    password, of = _letters_and_digits(password), _letters_and_digits(of)
    if len(of) < 3:
        return False
    return (of in password and len(password) - len(of) <= NEAR_COPY_EXTRA
            or password in of
            or SequenceMatcher(None, password, of).ratio() >= NEAR_COPY_RATIO)


def password_problem(password: str, username: str = "", email: str = "") -> str | None:
    """Why `password` is too weak for this account, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.isdigit():
        return "Use something other than digits only."
    names = [username, email, email.partition("@")[0]]
    if any(_near_copy(password, name) for name in names if name):
        return ("The password must differ from the username and the email address by more "
                "than a few characters.")
    if password.lower() in common_passwords():
        return "This password is too common; choose another."
    estimate = zxcvbn(password, user_inputs=[name for name in names if name])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        warning = estimate["feedback"]["warning"]
        reason = f"{warning.rstrip('.')}: " if warning else ""
        return (f"{reason}This password would be easy to guess; add a word or two, or use "
                "a longer passphrase.")
    return None


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role, "role_known"),
        one_of("theme", Theme, "theme_known"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10), default=Role.MEMBER.value)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # None until the owner follows the confirmation link (accounts made by staff start confirmed).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set with a password somebody else chose: the owner picks their own before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The shared TOTP secret (base32) once two-factor sign-in is on, and the last time step a
    # code was accepted for, so that no code is taken twice.
    totp_secret: Mapped[str | None] = mapped_column(String(32))
    totp_last_step: Mapped[int | None] = mapped_column()
    # The colour theme of the owner's pages, in the site and the console alike.
    theme: Mapped[str] = mapped_column(String(5), default=Theme.AUTO.value,
                                       server_default=Theme.AUTO.value)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    # The token of the stored session this request runs in (console/services/sessions.py):
    # what Flask-Login keeps in the session cookie and the remember-me cookie.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @staticmethod
    def find_by_login(login: str) -> User | None:
        """The user whose username or email matches `login`, ignoring case."""
        lowered = login.strip().lower()
        if not lowered:
            return None
        column = User.email if "@" in lowered else User.username
        return db.session.scalar(select(User).where(func.lower(column) == lowered))

    @staticmethod
    def username_taken(username: str) -> bool:
        query = select(User.id).where(func.lower(User.username) == username.lower())
        return db.session.scalar(query) is not None

    @staticmethod
    def email_taken(email: str, excluding_id: int | None = None) -> bool:
        query = select(User.id).where(func.lower(User.email) == email.lower())
        if excluding_id is not None:
            query = query.where(User.id != excluding_id)
        return db.session.scalar(query) is not None


# Uniqueness ignoring case is the database's job, so two racing requests cannot both win.
Index("uq_users_username_lower", func.lower(User.username), unique=True)
Index("uq_users_email_lower", func.lower(User.email), unique=True)
sort_indexes(User.username, User.email, User.role, User.is_active, User.created_at,
             User.last_login_at)
