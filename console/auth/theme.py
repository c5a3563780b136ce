"""The colour theme switch in every page's header: Auto (the system's setting), Light or Dark.

A logged-in user's choice is stored on their account (console/services/accounts.py), so it
follows them to every browser; a visitor's is kept in a cookie. The pages render it into
`<html data-theme="...">`, so they never flash in the other theme; with "auto" the stylesheet
(console/static/console.css) follows prefers-color-scheme.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from console.audit import Source
from console.auth import bp
from console.errors import ApiError
from console.security import safe_next_url
from console.services import accounts
from models import Theme
from models.errors import DomainError

THEME_COOKIE = "theme"
THEME_COOKIE_AGE = timedelta(days=365)
THEMES = tuple(Theme)  # the switch's buttons, in this order


@bp.app_template_global()
def page_theme() -> str:
    """The theme of the page being rendered: the account's, else the visitor's cookie's."""
    if current_user.is_authenticated:
        return current_user.theme
    chosen = request.cookies.get(THEME_COOKIE, "")
    return chosen if chosen in Theme._value2member_map_ else Theme.AUTO.value


@bp.app_context_processor
def theme_choices() -> dict:
    return {"THEMES": THEMES}


@bp.route("/account/theme", methods=["POST"])
def set_theme():
    """Store the chosen theme, then go back to the page the switch was on (`next`)."""
    next_url = safe_next_url(request.form.get("next")) or url_for("site.index")
    try:
        if current_user.is_authenticated:
            via = Source.CONSOLE if next_url.startswith("/admin") else Source.SITE
            accounts.set_theme(current_user._get_current_object(), request.form.get("theme", ""),
                               via=via)
            return redirect(next_url)
        theme = accounts.checked_theme(request.form.get("theme", ""))
    except DomainError as error:
        raise ApiError(400, error.message, fields={error.field: [error.message]}) from None
    response = redirect(next_url)
    response.set_cookie(THEME_COOKIE, theme.value, max_age=THEME_COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
