"""Blueprint: register, log in, log out, account settings."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from console.auth import views  # noqa: E402,F401
