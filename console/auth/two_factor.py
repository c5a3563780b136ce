"""Two-factor sign-in pages: turning it on and off at /account/two-factor, and the code step of
a login at /login/two-factor. The rules are in console/services/two_factor.py.

Between the password and the code, the login is pending: the user's id, the remember-me choice,
the page to go to and the time are kept for a few minutes in Flask's signed session cookie
(which the browser can read, so nothing secret is in it). A secret being enrolled travels in a
signed hidden form field until a code confirms it; it is kept nowhere before that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup

from console.auth import bp
from console.auth.forms import TwoFactorCheckForm, TwoFactorEnrolForm, TwoFactorLoginForm
from console.extensions import limiter
from console.security import safe_next_url
from console.services import two_factor
from models import User, db
from models.errors import DomainError

PENDING_LOGIN = "two_factor_login"  # the session key of a login waiting for its code
PENDING_SECONDS = 5 * 60
ENROLMENT_SALT = "two-factor-enrolment"
ENROLMENT_SECONDS = 30 * 60
QR_TITLE = "QR code to scan with your authenticator app"
LIMIT_SCOPE = "two-factor"  # one budget of code attempts per account, on every page that asks


def _limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _account_key(user_id: object) -> str:
    if isinstance(user_id, int):
        return f"two-factor:{user_id}"
    return f"two-factor:?{get_remote_address()}"


def _pending_account_key() -> str:
    pending = session.get(PENDING_LOGIN)
    return _account_key(pending.get("user") if isinstance(pending, dict) else None)


def _own_account_key() -> str:
    return _account_key(current_user.id if current_user.is_authenticated else None)


def _code_limit(key_func):
    return limiter.shared_limit(_limit, scope=LIMIT_SCOPE, key_func=key_func, methods=["POST"])


# --- the code step of a login -------------------------------------------------------------------

def ask_for_code(user: User, *, remember: bool, next_url: str | None):
    """The password of `user` was right and two-factor sign-in is on: keep the login pending
    and ask for the code (console/auth/views.py login() calls this)."""
    session[PENDING_LOGIN] = {"user": user.id, "remember": bool(remember), "next": next_url,
                              "at": int(time.time())}
    return redirect(url_for("auth.login_code"))


def _pending_login() -> tuple[User, dict] | None:
    """The user and the state of a login waiting for its code, unless it is too old or the
    account changed meanwhile (deactivated, two-factor reset)."""
    pending = session.get(PENDING_LOGIN)
    if not isinstance(pending, dict):
        return None
    at, user_id = pending.get("at"), pending.get("user")
    if not (isinstance(at, int) and isinstance(user_id, int)
            and 0 <= time.time() - at <= PENDING_SECONDS):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not user.two_factor_enabled:
        return None
    return user, pending


@bp.route("/login/two-factor", methods=["GET", "POST"])
@_code_limit(_pending_account_key)
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("site.index"))
    found = _pending_login()
    if found is None:
        if session.pop(PENDING_LOGIN, None) is not None:
            flash("Log in again: the code is asked for within a few minutes of the password.",
                  "info")
        return redirect(url_for("auth.login"))
    user, pending = found
    form = TwoFactorLoginForm()
    recovery = request.args.get("recovery") == "1"
    if recovery:
        form.code.label.text = "Recovery code"
    if form.validate_on_submit():
        remember = bool(pending.get("remember"))
        if two_factor.log_in(user, form.code.data, remember=remember):
            session.pop(PENDING_LOGIN, None)
            login_user(user, remember=remember)
            return redirect(safe_next_url(pending.get("next")) or url_for("site.index"))
        form.code.errors.append(two_factor.WRONG_CODE)
    return render_template("auth/two_factor_login.html", form=form, recovery=recovery)


# --- turning it on ------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ENROLMENT_SALT)


def _enrolment(secret: str) -> str:
    return _serializer().dumps({"user": current_user.id, "secret": secret})


def _enrolled_secret(enrolment: str | None) -> str | None:
    """The secret of a signed enrolment this page made for this user, unless it expired."""
    try:
        payload = _serializer().loads(enrolment or "", max_age=ENROLMENT_SECONDS)
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("user") != current_user.id:
        return None
    secret = payload.get("secret")
    return secret if isinstance(secret, str) and two_factor.valid_secret(secret) else None


def _qr_code(uri: str) -> Markup:
    """The QR code of `uri` as inline SVG, drawn here (no outside service sees the secret);
    with a viewBox beside its size, so that it shrinks to fit a narrow screen (console.css)."""
    code = segno.make(uri, error="m")
    width, height = code.symbol_size(scale=5)
    svg = code.svg_inline(scale=5, dark="#000", light="#fff", title=QR_TITLE,
                          svgclass="two-factor-qr", omitsize=True)
    svg = svg.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)
    return Markup(svg)  # noqa: S704 - segno escapes the title; the rest is paths it drew


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _next_url() -> str | None:
    return safe_next_url(request.args.get("next"))


@bp.route("/account/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_page():
    user = current_user._get_current_object()
    if user.two_factor_enabled:
        return _status_page()
    form = TwoFactorEnrolForm()
    secret = _enrolled_secret(form.enrolment.data) if form.is_submitted() else None
    if form.validate_on_submit():
        if secret is None:
            form.code.errors.append("This page has expired; scan the new QR code and enter "
                                    "its code.")
        else:
            try:
                codes = two_factor.enable(user, secret, form.code.data)
            except DomainError as error:
                form.code.errors.append(error.message)
            else:
                flash("Two-factor sign-in is on.", "success")
                return _recovery_codes_page(codes)
    secret = secret or two_factor.new_secret()
    form.enrolment.data = _enrolment(secret)
    return render_template("auth/two_factor_enrol.html", form=form, secret=_grouped(secret),
                           qr_code=_qr_code(two_factor.provisioning_uri(user, secret)),
                           next_url=_next_url())


def _recovery_codes_page(codes: list[str]):
    """The one response that ever shows these recovery codes (no-store, as every page for a
    logged-in user: console/security.py)."""
    return render_template("auth/recovery_codes.html", codes=codes, next_url=_next_url())


# --- when it is on: turning it off, new recovery codes ------------------------------------------

def _status_page(off_form: TwoFactorCheckForm | None = None,
                 renew_form: TwoFactorCheckForm | None = None):
    return render_template(
        "auth/two_factor.html",
        off_form=off_form or TwoFactorCheckForm(prefix="off", formdata=None),
        renew_form=renew_form or TwoFactorCheckForm(prefix="renew", formdata=None),
        codes_left=two_factor.recovery_codes_left(current_user),
    )


def _checked_step(prefix: str, change: Callable[[User, str, str], Any],
                  done: Callable[[Any], Any]):
    """A form of the status page that needs the password and a code: runs
    `change(user, password, code)` and answers `done(what it returned)`; a refusal goes next
    to its field on the status page again."""
    if not current_user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    form = TwoFactorCheckForm(prefix=prefix)
    if form.validate_on_submit():
        try:
            result = change(current_user._get_current_object(), form.current_password.data,
                            form.code.data)
        except DomainError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            return done(result)
    return _status_page(**{f"{prefix}_form": form})


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
@_code_limit(_own_account_key)
def disable_two_factor():
    def done(_: None):
        flash("Two-factor sign-in is off. You log in with your password alone.", "success")
        return redirect(url_for("auth.account"))
    return _checked_step("off", two_factor.disable, done)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@login_required
@_code_limit(_own_account_key)
def new_recovery_codes():
    def done(codes: list[str]):
        flash("You have new recovery codes; the old ones no longer work.", "success")
        return _recovery_codes_page(codes)
    return _checked_step("renew", two_factor.replace_recovery_codes, done)
