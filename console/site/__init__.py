"""Blueprint: landing page and the member's dashboard."""

from flask import Blueprint

bp = Blueprint("site", __name__)

from console.site import views  # noqa: E402,F401
