"""Landing page for visitors, dashboard for members and staff."""

from flask import render_template
from flask_login import current_user

from console.site import bp


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("site/landing.html")
    return render_template("site/dashboard.html")
