"""Settings read once from the environment, with safe defaults for development."""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from pathlib import Path

from limits import parse_many

MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 128  # estimated from the key's own character frequencies
WEAK_SECRET_KEYS = {"dev", "secret", "changeme", "change-me", "you-will-never-guess", "development"}


class ConfigurationError(SystemExit):
    """Stops start-up with a one-line explanation (exit status 1, no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Configuration error: {message}")


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for the bare `postgres://` and `postgresql://` schemes."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret_key(instance_path: Path) -> str:
    """Generate the development key once and keep it in instance/ so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def estimated_bits(key: str) -> float:
    """Shannon entropy of the key's characters times its length: a generous estimate of how
    hard it is to guess (0123456789... and repeated words score low)."""
    counts = Counter(key)
    return -sum(n * math.log2(n / len(key)) for n in counts.values())


def _secret_key(production: bool, instance_path: Path) -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if not production:
        return key or _development_secret_key(instance_path)
    if not key:
        raise ConfigurationError("SECRET_KEY must be set when CONSOLE_ENV=production.")
    if (len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in WEAK_SECRET_KEYS
            or estimated_bits(key) < MIN_SECRET_KEY_BITS):
        raise ConfigurationError(
            f"SECRET_KEY is too weak; use a random value of at least {MIN_SECRET_KEY_LENGTH} "
            'characters, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))".'
        )
    return key


def _int_env(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, not {value}.")
    return value


def _rate_limit_env(name: str, default: str) -> str:
    """A Flask-Limiter rate such as "60 per minute", checked at start-up rather than per request."""
    raw = os.environ.get(name, "").strip() or default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a rate such as {default!r}, not {raw!r}."
        ) from None
    return raw


def _bool_env(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}.")


def _mail_settings(production: bool) -> dict[str, object]:
    """Flask-Mailman's settings. With no MAIL_SERVER, mail is written to instance/mail/ as
    .eml files instead (console/mail.py), so every mail flow works on a fresh machine."""
    server = os.environ.get("MAIL_SERVER", "").strip()
    use_tls, use_ssl = _bool_env("MAIL_USE_TLS"), _bool_env("MAIL_USE_SSL")
    if use_tls and use_ssl:
        raise ConfigurationError("MAIL_USE_TLS (STARTTLS, usually port 587) and MAIL_USE_SSL "
                                 "(TLS from the start, usually port 465) exclude each other.")
    port = _int_env("MAIL_PORT", 465 if use_ssl else 587 if use_tls else 25, minimum=1)
    if port > 65535:
        raise ConfigurationError(f"MAIL_PORT must be at most 65535, not {port}.")
    sender = os.environ.get("MAIL_DEFAULT_SENDER", "").strip()
    if production and not server:
        raise ConfigurationError("MAIL_SERVER must name the SMTP server when "
                                 "CONSOLE_ENV=production; without it mail only goes to "
                                 "instance/mail/ and nobody gets a reset or confirmation link.")
    if production and not sender:
        raise ConfigurationError("MAIL_DEFAULT_SENDER must be set when CONSOLE_ENV=production, "
                                 "e.g. Console <no-reply@example.org>.")
    return {
        "MAIL_SERVER": server,
        "MAIL_PORT": port,
        "MAIL_USE_TLS": use_tls,
        "MAIL_USE_SSL": use_ssl,
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", "").strip() or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", "") or None,
        "MAIL_DEFAULT_SENDER": sender or "Interstellar Space Station <no-reply@localhost>",
        "MAIL_TIMEOUT": _int_env("MAIL_TIMEOUT", 10, minimum=1),  # seconds, per SMTP step
    }


def _trusted_hosts(production: bool) -> list[str] | None:
    """The site's host names; requests for any other Host get 400 (Flask's TRUSTED_HOSTS), so
    no Host header an attacker sends reaches a redirect or a link. Required in production."""
    hosts = [h.strip().lower() for h in os.environ.get("TRUSTED_HOSTS", "").split(",")
             if h.strip()]
    if production and not hosts:
        raise ConfigurationError("TRUSTED_HOSTS must list the site's host names when "
                                 "CONSOLE_ENV=production, e.g. console.example.org.")
    return hosts or None


STAFF_TWO_FACTOR_CHOICES = ("required", "optional")


def _staff_two_factor(production: bool) -> str:
    """Whether staff must turn on two-factor sign-in before they enter the console: "required"
    by default in production, "optional" in development so that `make run` stays one step."""
    raw = os.environ.get("STAFF_TWO_FACTOR", "").strip().lower()
    if not raw:
        return "required" if production else "optional"
    if raw not in STAFF_TWO_FACTOR_CHOICES:
        raise ConfigurationError(f"STAFF_TWO_FACTOR must be \"required\" or \"optional\", "
                                 f"not {raw!r}.")
    return raw


def _job_queue_url(production: bool) -> str:
    """Where the job queue lives: Redis (redis://...) in production, where workers run on
    several hosts; by default a SQLite file in instance/ (sqlite:///path names another)."""
    url = os.environ.get("JOB_QUEUE_URL", "").strip()
    if production and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("JOB_QUEUE_URL must name the Redis server of the job queue "
                                 "when CONSOLE_ENV=production, e.g. redis://cache:6379/1.")
    if url and not url.startswith(("redis://", "rediss://", "unix://", "sqlite:///")):
        raise ConfigurationError(f"JOB_QUEUE_URL must start with redis:// or sqlite:///, "
                                 f"not {url!r}.")
    return url


def settings_from_environment(instance_path: Path) -> dict[str, object]:
    """Return the Flask config for this process, read from the environment."""
    production = os.environ.get("CONSOLE_ENV", "development").strip().lower() == "production"
    database_url = os.environ.get("DATABASE_URL", "").strip() or (
        f"sqlite:///{instance_path / 'console.db'}"
    )
    return {
        "CONSOLE_ENV": "production" if production else "development",
        "SECRET_KEY": _secret_key(production, instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://",
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "").strip(),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": _rate_limit_env("LOGIN_RATE_LIMIT", "5 per minute"),
        "REGISTER_RATE_LIMIT": _rate_limit_env("REGISTER_RATE_LIMIT", "10 per hour"),
        # Password reset requests, and confirmation links sent again: per address and per
        # account (the email typed, or the logged-in account).
        "RESET_RATE_LIMIT": _rate_limit_env("RESET_RATE_LIMIT", "5 per hour"),
        "CONFIRM_RATE_LIMIT": _rate_limit_env("CONFIRM_RATE_LIMIT", "5 per hour"),
        "API_RATE_LIMIT": _rate_limit_env("API_RATE_LIMIT", "120 per minute"),
        "API_WRITE_RATE_LIMIT": _rate_limit_env("API_WRITE_RATE_LIMIT", "60 per minute"),
        # Attempts at the login's code step, per account (right or wrong).
        "TWO_FACTOR_RATE_LIMIT": _rate_limit_env("TWO_FACTOR_RATE_LIMIT",
                                                 "5 per minute; 20 per hour"),
        "STAFF_TWO_FACTOR": _staff_two_factor(production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_NAME": "remember_token",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * _int_env("REMEMBER_DAYS", 14, minimum=1),
        # A session without "keep me logged in" ends after this long unused; any session ends
        # this long after its login.
        "SESSION_IDLE_MINUTES": _int_env("SESSION_IDLE_MINUTES", 120, minimum=1),
        "SESSION_LIFETIME_DAYS": _int_env("SESSION_LIFETIME_DAYS", 30, minimum=1),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "TRUSTED_PROXY_HOPS": _int_env("TRUSTED_PROXY_HOPS", 0, minimum=0),
        "TRUSTED_HOSTS": _trusted_hosts(production),
        **_mail_settings(production),
        "JOB_QUEUE_URL": _job_queue_url(production),
        "JOB_QUEUE_NAME": os.environ.get("JOB_QUEUE_NAME", "").strip() or "console",
        "JOB_RETRIES": _int_env("JOB_RETRIES", 5, minimum=1),  # tries before a job fails
        # A running job whose worker gives no sign of life for this long is run again.
        "JOB_LEASE_SECONDS": _int_env("JOB_LEASE_SECONDS", 60, minimum=1),
        # CSV imports in the console: a larger file is checked and applied by a job, with a
        # progress bar; an upload may be this large (the rest of the site: MAX_CONTENT_LENGTH).
        "IMPORT_JOB_THRESHOLD": _int_env("IMPORT_JOB_THRESHOLD", 1024 * 1024, minimum=0),
        "IMPORT_MAX_BYTES": 1024 * 1024 * _int_env("IMPORT_MAX_MB", 1024, minimum=1),
    }
