"""Register, log in, log out and account settings."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from console.auth import account_mail, bp
from console.auth.forms import (
    ApiTokenForm,
    EmailChangeForm,
    LoginForm,
    PasswordChangeForm,
    RegisterForm,
)
from console.auth.two_factor import ask_for_code
from console.extensions import limiter
from console.security import (
    Permission,
    can,
    lacks_required_two_factor,
    require,
    safe_next_url,
)
from console.services import accounts, api_tokens, sessions
from models import MAX_ID, ApiToken, User, db
from models.errors import DomainError
from models.users import normalise_email

LOGIN_FAILED = "Invalid username/email or password."


def _field_error(form: FlaskForm, error: DomainError) -> None:
    getattr(form, error.field).errors.append(error.message)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_key() -> str:
    """One account counts once, whether its username or its email is typed. Worked out once
    per request: both limits and the lockout audit ask for it."""
    if "login_account_key" not in g:
        typed = request.form.get("username", "").strip().lower()
        user = User.find_by_login(typed) if typed else None
        g.login_account_key = (f"login-account:{user.id}" if user is not None
                               else f"login-account:?{typed}")
    return g.login_account_key


def _login_failed(response) -> bool:
    """Only failed attempts count towards the login rate limits."""
    return bool(g.get("login_failed"))


def _record_lockout(request_limit) -> None:
    """Audit refused attempts once per account, address and window: not per request (an attacker
    could fill the audit log at request rate), and once when both limits hit."""
    if g.get("lockout_recorded"):
        return
    g.lockout_recorded = True
    window = request_limit.limit
    once = type(window)(1, window.multiples)
    if limiter.limiter.hit(once, "login-lockout-audit", _login_account_key(),
                           get_remote_address()):
        accounts.record_failed_login(request.form.get("username", ""), action="login.locked")
        # Its owner hears of it once per window, however many addresses try; nobody does
        # for a login that names no account.
        user = User.find_by_login(request.form.get("username", ""))
        if user is not None and limiter.limiter.hit(once, "login-lockout-mail",
                                                    _login_account_key()):
            account_mail.send_lockout_notice(user)


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def _register_address_key() -> str:
    """Registrations count per address typed as well, so the owner of a taken address gets
    at most this many "someone tried to register" mails."""
    return f"register-address:{account_mail.address_key(request.form.get('email', ''))}"


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
@limiter.limit(_register_limit, methods=["POST"], key_func=_register_address_key)
def register():
    """A new address gets its confirmation link, a taken one a mail to its owner; the page
    and its status are the same, so they tell nobody whether the address has an account."""
    if current_user.is_authenticated:
        return redirect(url_for("site.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user, owner = accounts.register(form.username.data, form.email.data,
                                            form.password.data)
        except DomainError as error:
            _field_error(form, error)
        else:
            if user is not None:
                account_mail.send_confirmation(user)
            elif owner is not None:
                account_mail.send_registration_attempt(owner)
            return render_template("auth/check_inbox.html", purpose="register",
                                   email=normalise_email(form.email.data))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_login_failed,
               on_breach=_record_lockout)
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account_key,
               deduct_when=_login_failed, on_breach=_record_lockout)
def login():
    next_url = safe_next_url(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("site.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None and user.two_factor_enabled:
            return ask_for_code(user, remember=form.remember.data, next_url=next_url)
        if user is not None:
            sessions.log_in(user, remember=form.remember.data)
            login_user(user, remember=form.remember.data)
            return redirect(next_url or url_for("site.index"))
        g.login_failed = True
        accounts.record_failed_login(form.username.data)
        form.form_errors.append(LOGIN_FAILED)
    elif request.method == "POST":
        g.login_failed = True
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        sessions.log_out(current_user)
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("site.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = EmailChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append("The current password is not correct.")
        else:
            user = current_user._get_current_object()
            before = user.email
            try:
                accounts.update_account(user, actor=user, email=form.email.data)
            except DomainError as error:
                _field_error(form, error)
            else:
                if user.email != before:  # unconfirmed now: the new address gets a link
                    account_mail.send_confirmation(user)
                    flash(f"Your email address has been changed. We sent a confirmation link "
                          f"to {user.email}; it is valid for 24 hours.", "success")
                return redirect(url_for("auth.account"))
    return _account_page(form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm(current_user)
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append("The current password is not correct.")
        elif current_user.check_password(form.password.data):
            form.password.errors.append("Choose a password other than the current one.")
        else:
            user = current_user._get_current_object()
            accounts.update_account(user, actor=user, password=form.password.data)
            login_user(user, remember=sessions.current().remember)  # the session's new token
            flash("Your password has been changed; your other sessions have been logged out.",
                  "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form)


def _account_page(form: EmailChangeForm, token_form: ApiTokenForm | None = None,
                  new_secret: str | None = None):
    """The account page; with `new_secret` it is the one response that ever shows that token."""
    may_hold_tokens = can(Permission.PLANETS_WRITE)
    return render_template(
        "auth/account.html", form=form, token_form=token_form or ApiTokenForm(formdata=None),
        api_tokens=api_tokens.user_tokens(current_user) if may_hold_tokens else [],
        new_secret=new_secret, sessions=sessions.of_user(current_user),
        this_session=sessions.current(), device=sessions.device,
    )  # Cache-Control: no-store, as on every page for a logged-in user (console/security.py)


@bp.route(f"/account/sessions/<int(max={MAX_ID}):session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """Log out one device; this very one is a plain logout."""
    if session_id == sessions.current().id:
        return logout()
    if not sessions.end(current_user, session_id):
        abort(404)
    flash("That device is logged out.", "success")
    return redirect(url_for("auth.account", _anchor="sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    ended = sessions.end_others(current_user)
    flash(f"Logged out everywhere else ({ended} other session{'s' * (ended != 1)}).", "success")
    return redirect(url_for("auth.account", _anchor="sessions"))


@bp.route("/account/tokens", methods=["POST"])
@require(Permission.PLANETS_WRITE)
def create_api_token():
    """A token acts with its holder's rights: staff who must turn on two-factor sign-in to
    enter the console (STAFF_TWO_FACTOR=required) do that first here too."""
    if lacks_required_two_factor():
        flash("Turn on two-factor sign-in first: staff accounts need it for API tokens too.",
              "warning")
        return redirect(url_for("auth.two_factor"))
    token_form = ApiTokenForm()
    new_secret = None
    if token_form.validate_on_submit():
        try:
            _, new_secret = api_tokens.create_token(current_user, token_form.name.data)
        except DomainError as error:
            token_form.name.errors.append(error.message)
        else:
            token_form = None  # an empty form for the next token
    return _account_page(EmailChangeForm(formdata=None), token_form, new_secret)


@bp.route(f"/account/tokens/<int(max={MAX_ID}):token_id>/revoke", methods=["POST"])
@require(Permission.PLANETS_WRITE)
def revoke_api_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    api_tokens.revoke_token(token)
    flash(f"The API token {token.name!r} is revoked.", "success")
    return redirect(url_for("auth.account"))
