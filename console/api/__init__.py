"""Blueprint: the JSON API over the planets catalog, and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from console.api import views  # noqa: E402,F401
