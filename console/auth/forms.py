"""Forms of the public account pages; the rules themselves live on the User model."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from console.services.two_factor import MAX_CODE_LENGTH
from models.api_tokens import MAX_TOKEN_NAME_LENGTH
from models.users import MAX_PASSWORD_LENGTH, password_problem, username_problem


def valid_username(form: FlaskForm, field: Field) -> None:
    if problem := username_problem(field.data or ""):
        raise ValidationError(problem)


def strong_password(form: FlaskForm, field: Field) -> None:
    """The model's password rules, checked against this form's username and email if any."""
    username = form.username.data if hasattr(form, "username") else ""
    email = form.email.data if hasattr(form, "email") else ""
    user = getattr(form, "user", None)
    if user is not None:
        username, email = user.username, user.email
    if problem := password_problem(field.data or "", username or "", email or ""):
        raise ValidationError(problem)


def _password(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), strong_password])


def _confirm() -> PasswordField:
    return PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class RegisterForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), valid_username])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = _password()
    confirm = _confirm()


class LoginForm(FlaskForm):
    username = StringField("Username or email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField("Keep me logged in on this device")


class EmailChangeForm(FlaskForm):
    email = EmailField("New email", validators=[DataRequired(), Length(max=254)])
    current_password = PasswordField("Current password", validators=[DataRequired()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = _password("New password")
    confirm = _confirm()

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


class ApiTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(),
                                                 Length(max=MAX_TOKEN_NAME_LENGTH)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    """A new password for the account a reset link names (the rules see its name and email)."""

    password = _password("New password")
    confirm = _confirm()

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


def _code(label: str) -> StringField:
    return StringField(label, validators=[DataRequired("Enter a code."),
                                          Length(max=MAX_CODE_LENGTH, message="This is no code.")])


class TwoFactorEnrolForm(FlaskForm):
    code = _code("Code from the app")
    # The new secret, signed (console/auth/two_factor.py): not kept on the server or in the
    # session until the code shows that the app has it.
    enrolment = HiddenField(validators=[DataRequired()])


class TwoFactorCheckForm(FlaskForm):
    """The password and a code, to turn two-factor sign-in off or to get new recovery codes."""

    current_password = PasswordField("Current password", validators=[DataRequired()])
    code = _code("Code from the app, or a recovery code")


class TwoFactorLoginForm(FlaskForm):
    code = _code("Code from your authenticator app, or a recovery code")
