"""The staff console at /admin (Flask-Admin with its bundled Bootstrap 4 theme)."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from console.admin.applications import ApplicationView
from console.admin.assets import static_url
from console.admin.audit_log import AuditView
from console.admin.dashboard import ConsoleIndexView
from console.admin.history import HISTORY_VIEWS
from console.admin.jobs import JobView
from console.admin.menu import main_menu
from console.admin.planets import PlanetView
from console.admin.tokens import TokenView
from console.admin.users import UserView
from console.security import csp_nonce
from models import ApiToken, AuditEvent, Job, MissionApplication, Planet, User, db


def init_admin(app: Flask) -> Admin:
    """Create the console for this app; Flask-Admin views cannot be shared between apps."""
    admin = Admin(
        app,
        name="Console",
        index_view=ConsoleIndexView(url="/admin", name="Home"),
        theme=Bootstrap4Theme(base_template="admin/console_base.html", swatch="default"),
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(UserView(User, db, name="Users", endpoint="user"))
    admin.add_view(PlanetView(Planet, db, name="Planets", endpoint="planet"))
    admin.add_view(ApplicationView(MissionApplication, db, name="Applications",
                                   endpoint="application"))
    admin.add_view(TokenView(ApiToken, db, name="API tokens", endpoint="token"))
    admin.add_view(AuditView(AuditEvent, db, name="Audit log", endpoint="audit"))
    admin.add_view(JobView(Job, db, name="Jobs", endpoint="job"))
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["history_views"] = HISTORY_VIEWS
    app.jinja_env.globals["main_menu"] = main_menu
    return admin
