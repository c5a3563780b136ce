"""Blueprint: register, confirm by mail, log in (with two-factor), reset a password, log out,
account settings."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from console.auth import email_links, theme, two_factor, views  # noqa: E402,F401
