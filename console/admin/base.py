"""The access rules every console view shares, read from the permission table."""

from __future__ import annotations

from flask import abort, redirect, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from console.security import Permission, can, current_path


class ConsoleAccessMixin:
    """Anonymous users go to the login page; users without the permission get a 403."""

    permission: Permission = Permission.CONSOLE

    def is_accessible(self) -> bool:
        return can(Permission.CONSOLE) and can(self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=current_path()))
        abort(403)


class ConsoleIndexView(ConsoleAccessMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/index.html")
