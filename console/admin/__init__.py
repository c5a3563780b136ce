"""The staff console at /admin (Flask-Admin with its bundled Bootstrap 4 theme)."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from console.admin.base import ConsoleIndexView
from console.security import csp_nonce


def init_admin(app: Flask) -> Admin:
    """Create the console for this app; Flask-Admin views cannot be shared between apps."""
    return Admin(
        app,
        name="Console",
        index_view=ConsoleIndexView(url="/admin", name="Home"),
        theme=Bootstrap4Theme(base_template="admin/console_base.html", swatch="default"),
        csp_nonce_generator=csp_nonce,
    )
