"""A console address's error (403, 404, ...) in the console's page, with its navigation, for
the staff who use the console; anyone else gets the site's error page (console/errors.py)."""

from __future__ import annotations

from flask import current_app, request
from flask_admin import Admin


def console_error_page(status: int, message: str) -> str | None:
    """The error page of a console address for staff who may use the console, or None."""
    admins: list[Admin] = current_app.extensions.get("admin", [])
    if not admins:
        return None
    admin = admins[0]
    if request.path != admin.url and not request.path.startswith(f"{admin.url}/"):
        return None
    if not admin.index_view.is_accessible():
        return None
    return admin.index_view.render("admin/error.html", status=status, message=message)
