"""The pages behind the account mails: a forgotten password, the reset link, the confirmation
link and sending that link again. The mails and their signed links: console/auth/account_mail.py.

No answer tells whether an address has an account: asking for a reset shows the same page, with
the same status, for any address.
"""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm

from console.auth import account_mail, bp
from console.auth.account_mail import CONFIRM, RESET
from console.auth.forms import ForgotPasswordForm, ResetPasswordForm
from console.extensions import limiter
from console.services import accounts
from models import User
from models.errors import DomainError
from models.users import normalise_email


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _confirm_limit() -> str:
    return current_app.config["CONFIRM_RATE_LIMIT"]


def _reset_account_key() -> str:
    return f"reset-account:{account_mail.address_key(request.form.get('email', ''))}"


def _confirm_account_key() -> str:
    return f"confirm-account:{current_user.id if current_user.is_authenticated else '?'}"


def _private(page: str, status: int = 200):
    """A page opened from a link with a token: kept by no cache, sent on to no other site."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _link_invalid(purpose: str):
    return _private(render_template("auth/link_invalid.html", purpose=purpose), 400)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_limit, methods=["POST"], key_func=_reset_account_key)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            email = normalise_email(form.email.data)
        except ValueError as error:
            form.email.errors.append(str(error))
        else:
            user = User.find_by_login(email)
            if user is not None:
                account_mail.send_password_reset(user)
            return render_template("auth/check_inbox.html", purpose=RESET, email=email)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    user = account_mail.user_for(request.args.get("token", ""), RESET)
    if user is None:
        return _link_invalid(RESET)
    form = ResetPasswordForm(user)
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            if current_user.is_authenticated and current_user.id == user.id:
                logout_user()  # its stored session ended with all the others
            flash("Your password has been changed and every device is logged out. Log in "
                  "with your new password.", "success")
            return redirect(url_for("auth.login"))
    return _private(render_template("auth/reset_password.html", form=form, user=user))


@bp.route("/confirm-email", methods=["GET", "POST"])
def confirm_email():
    """The link opens a page with one button: a POST (with CSRF) confirms, so that a mail
    program or a scanner that fetches links does not confirm on its own."""
    user = account_mail.user_for(request.args.get("token", ""), CONFIRM)
    if user is None:
        return _link_invalid(CONFIRM)
    form = FlaskForm()
    if form.validate_on_submit():
        accounts.confirm_email(user)
        flash(f"Thank you: {user.email} is confirmed.", "success")
        return redirect(url_for("site.index") if current_user.is_authenticated
                        else url_for("auth.login"))
    return _private(render_template("auth/confirm_email.html", form=form, user=user))


@bp.route("/confirm-email/resend", methods=["POST"])
@limiter.limit(_confirm_limit)
@limiter.limit(_confirm_limit, key_func=_confirm_account_key)
@login_required
def resend_confirmation():
    user = current_user._get_current_object()
    if user.email_confirmed:
        flash("Your email address is confirmed already.", "info")
    else:
        account_mail.send_confirmation(user)
        flash(f"We sent a new confirmation link to {user.email}; it is valid for 24 hours.",
              "success")
    return redirect(url_for("site.index"))
