"""Roles and permissions, access checks, safe redirects and response headers.

Every check in the site, the console and the API reads PERMISSIONS; no view compares role names.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user

from console.extensions import login_manager
from models import Role


class Permission(StrEnum):
    CONSOLE = "console"  # enter /admin and see its home page
    PLANETS_READ = "planets.read"  # list, details, export
    PLANETS_WRITE = "planets.write"  # create, edit, delete (console and API)
    APPLICATIONS_READ = "applications.read"
    APPLICATIONS_REVIEW = "applications.review"  # approve, reject
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"  # create, edit, delete, role, password, deactivate
    AUDIT_READ = "audit.read"
    JOBS = "jobs"  # the Jobs view: list, retry


_STAFF = {Permission.CONSOLE, Permission.PLANETS_READ, Permission.APPLICATIONS_READ,
          Permission.USERS_READ}
_EDITOR = _STAFF | {Permission.PLANETS_WRITE, Permission.APPLICATIONS_REVIEW}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.MEMBER: frozenset(),
    Role.VIEWER: frozenset(_STAFF),
    Role.EDITOR: frozenset(_EDITOR),
    Role.ADMIN: frozenset(_EDITOR | {Permission.USERS_WRITE, Permission.AUDIT_READ,
                                     Permission.JOBS}),
}


def role_allows(role: str, permission: Permission) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())  # Role is a StrEnum: str keys work


def can(permission: Permission, user: Any = None) -> bool:
    """Whether `user` (default: the current user) is an active account holding `permission`."""
    user = current_user._get_current_object() if user is None else user
    return bool(
        user.is_authenticated and user.is_active and role_allows(user.role, permission)
    )


def lacks_required_two_factor(user: Any = None) -> bool:
    """Whether `user` (default: the current user) is staff who must turn on two-factor sign-in
    before entering the console (STAFF_TWO_FACTOR=required) and has not yet."""
    user = current_user._get_current_object() if user is None else user
    return (current_app.config["STAFF_TWO_FACTOR"] == "required"
            and can(Permission.CONSOLE, user) and not user.two_factor_enabled)


def require(permission: Permission) -> Callable:
    """View decorator: log in first, then 403 unless the user holds `permission`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next_url(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (open-redirect protection)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash and drop tabs and newlines: "/\\evil", "/\t/evil".
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def csp_nonce() -> str:
    """One nonce per response for the inline scripts and styles that cannot be avoided."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _signed_in() -> bool:
    """Whether the request comes from a logged-in browser, read from its cookies alone: asking
    the database here would fail the answer of a page that needs none (/healthz while the
    database is down)."""
    return "_user_id" in session or current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies


def set_security_headers(response: Response) -> Response:
    nonce = csp_nonce()
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A page opened from a link with a token sets "no-referrer" (console/auth/email_links.py).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config["CONSOLE_ENV"] == "production":
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if "Authorization" in request.headers or _signed_in():
        # A page for a logged-in user, or an API answer to a token, is nobody else's to keep.
        response.headers["Cache-Control"] = "no-store"
    return response


RETRY_AFTER_STATUSES = (429, 503)


def drop_stray_retry_after(response: Response) -> Response:
    """Retry-After only on a refusal that asks to come back later (429, 503): the rate
    limiter's headers put it on every answer of a limited address, where it means nothing."""
    if response.status_code not in RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


def refuse_nul_characters() -> None:
    """400 for a NUL character anywhere in the path, the query or a form, naming the input: no
    field accepts one and PostgreSQL cannot even compare text holding it."""
    inputs = [("path", request.path), *request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        inputs += request.form.items(multi=True)
    bad = sorted({name for name, value in inputs if "\x00" in name or "\x00" in value})
    if bad:
        from console.errors import ApiError  # the errors module imports this one

        raise ApiError(400, "The request holds a NUL character, which no input accepts.",
                       fields={name.replace("\x00", "\\0"): ["must not contain a NUL character"]
                               for name in bad})


# The one form that takes a file: the console's CSV import (console/admin/planet_import.py).
FILE_ENDPOINTS = {"planet.import_view"}


def refuse_bodies_no_form_takes() -> None:
    """The site's and the console's forms take form fields only: a JSON body (which Flask-WTF
    would read as the form, with numbers and lists where text belongs) is a 415, a file is a
    400 but for FILE_ENDPOINTS. The API under /api reads JSON itself."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return
    if request.is_json:
        abort(415)
    if request.files and request.endpoint not in FILE_ENDPOINTS:
        abort(400)


def _static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def load_signed_in_user() -> None:
    """Load a logged-in request's user before its view runs, so the stored session's
    last-seen stamp (console/services/sessions.py) commits on its own, never amid the view's
    changes. Static files and the health checks need no user."""
    if _signed_in() and not _static(request.endpoint) and request.blueprint != "health":
        current_user._get_current_object()


# What a user who must choose a new password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "auth.set_theme"}


def require_password_change() -> Response | None:
    """A user whose password somebody else chose (console/services/accounts.py) changes it
    before anything else; the API answers bearer tokens, not sessions, and is left alone."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
            and not _static(request.endpoint) and request.blueprint not in ("api", "health")):
        flash("Choose a new password of your own before you go on.", "info")
        return redirect(url_for("auth.change_password"))
    return None


def register_security(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_bodies_no_form_takes)
    app.before_request(load_signed_in_user)
    app.before_request(require_password_change)
    app.after_request(set_security_headers)
    # Flask runs the app's after_request hooks last registered first: the first in the list
    # runs after all others, the rate limiter's headers included.
    app.after_request_funcs.setdefault(None, []).insert(0, drop_stray_retry_after)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, can=can, Permission=Permission)
