"""Console view of user accounts: the same rules as registration, and the admin guards."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from flask_admin.form import BaseForm
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from console import labels
from console.admin.base import ConsoleModelView
from console.admin.dashboard import AUTH_ACTIONS
from console.audit import Source
from console.history import RevertField
from console.security import Permission
from console.services import accounts, sessions, two_factor
from models import AuditEvent, Role, User, UserSession, db
from models.errors import DomainError
from models.users import MAX_PASSWORD_LENGTH

ROLE_CHOICES = [SelectChoice(value, label) for value, label in labels.choices(labels.ROLE_LABELS)]


class UserForm(BaseForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=20)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.MEMBER.value)
    is_active = BooleanField("Active", default=True)
    new_password = PasswordField(
        "New password", validators=[Length(max=MAX_PASSWORD_LENGTH)],
        description="Leave blank to keep the current password. At least 10 characters; the "
                    "user must choose their own at their next login.",
    )


class UserView(ConsoleModelView):
    history_target = "user"
    permission = Permission.USERS_READ
    write_permission = Permission.USERS_WRITE
    action_permissions = {"activate": Permission.USERS_WRITE,
                          "deactivate": Permission.USERS_WRITE,
                          "end_sessions": Permission.USERS_WRITE,
                          "reset_two_factor": Permission.USERS_WRITE}
    form = UserForm
    form_field_names = {"password": "new_password"}
    # The browser must not fill in the admin's own saved login on someone else's account.
    form_widget_args = {"username": {"autocomplete": "off"}, "email": {"autocomplete": "off"},
                        "new_password": {"autocomplete": "new-password"}}
    details_template = "admin/model/user_details.html"  # with the user's own recent changes
    offers_revert = True
    revertible = accounts.REVERTIBLE
    delete_confirmation = ("Delete this account? An account with applications, API tokens or "
                           "audit history cannot be deleted; deactivate it instead.")

    # The password hash and the session token are never a column, a row, a filter or a field.
    column_list = ["username", "email", "role", "is_active", "created_at", "last_login_at"]
    column_details_list = ["id", *column_list, "two_factor_enabled"]  # never its secret
    column_sortable_list = column_list
    column_default_sort = "username"
    column_sort_ignoring_case = ("username", "email")  # served by their lower(...) indexes
    column_searchable_list = ["username", "email"]
    column_filters = ["role", "is_active"]
    column_choices = {"role": labels.choices(labels.ROLE_LABELS)}  # list, details and filter
    column_labels = {"is_active": "Active", "created_at": "Created",
                     "two_factor_enabled": "Two-factor sign-in",
                     "last_login_at": "Last login"}

    def record_label(self, model: User) -> str:
        return model.username

    def revert_fields(self, record: User, event: AuditEvent) -> list[RevertField]:
        return accounts.revert_fields(record, event)

    def revert_record(self, record: User, event: AuditEvent, fields: list[str]) -> None:
        accounts.revert(record, event, fields, actor=current_user, via=Source.CONSOLE)

    def sessions_of(self, user: User) -> list[UserSession]:
        return sessions.of_user(user)

    device = staticmethod(sessions.device)

    def recent_changes_by(self, user_id: int, limit: int = 10) -> list[AuditEvent]:
        """What this user changed lately, newest first (their logins left out)."""
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == user_id,
                                     AuditEvent.action.not_in(AUTH_ACTIONS))
            .order_by(AuditEvent.id.desc()).limit(limit)).all()

    def create_form(self, obj: Any = None):
        form = super().create_form(obj)
        form.new_password.label.text = "Password"
        form.new_password.description = ("At least 10 characters. The user chooses their own "
                                          "at their first login.")
        return form

    def create_model(self, form: UserForm):
        if not form.new_password.data:
            form.new_password.errors = ["A new account needs a password."]
            return False
        try:
            user = accounts.create_account(form.username.data, form.email.data,
                                           form.new_password.data, form.role.data,
                                           is_active=form.is_active.data, via=Source.CONSOLE,
                                           must_change_password=True)
        except DomainError as error:
            self.refused(error, form)
            return False
        return user

    def update_model(self, form: UserForm, model: User) -> bool:
        try:
            accounts.update_account(
                model, actor=current_user, username=form.username.data, email=form.email.data,
                role=form.role.data, is_active=form.is_active.data,
                password=form.new_password.data or None, via=Source.CONSOLE,
            )
        except DomainError as error:
            self.refused(error, form)
            return False
        return True

    def delete_records(self, records: list[User]) -> None:
        accounts.delete_accounts(records, actor=current_user, via=Source.CONSOLE)

    def _set_active(self, ids: list[str], active: bool) -> None:
        users = self.selected(ids)
        try:
            changed = accounts.set_active(users, active, actor=current_user, via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error, outcome="Nothing was changed.")
            return
        flash(f"{changed} account(s) {'activated' if active else 'deactivated'}.", "success")

    @action("activate", "Activate")
    def action_activate(self, ids: list[str]) -> None:
        self._set_active(ids, True)

    @action("deactivate", "Deactivate", "Deactivate the selected accounts and end their sessions?")
    def action_deactivate(self, ids: list[str]) -> None:
        self._set_active(ids, False)

    @action("end_sessions", "End sessions",
            "Log the selected accounts out on every device? They can log in again.")
    def action_end_sessions(self, ids: list[str]) -> None:
        users = self.selected(ids)
        ended = sessions.end_all_of(users, via=Source.CONSOLE)
        flash(f"Ended {ended} session(s) of {len(users)} account(s).", "success")

    @action("reset_two_factor", "Reset two-factor",
            "Turn off two-factor sign-in of the selected accounts? They log in with their "
            "password alone until they turn it on again.")
    def action_reset_two_factor(self, ids: list[str]) -> None:
        try:
            reset = two_factor.reset(self.selected(ids), actor=current_user, via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error, outcome="Nothing was changed.")
            return
        flash(f"Two-factor sign-in reset for {reset} account(s).", "success")
