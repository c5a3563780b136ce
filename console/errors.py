"""Error pages in the product's look (HTML), or one JSON shape under /api:

    {"error": {"status": 422, "message": "...", "fields": {"mass_earth": ["must be ..."]}}}

with `fields` only when the error is about named inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from console.extensions import login_manager
from models import db

MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You do not have permission to see this page.",
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    409: "The request conflicts with what is already stored.",
    412: "The record has changed since the version the request names.",
    413: "The request is too large.",
    415: "This address does not accept a body of that type.",
    422: "The request has invalid values.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. Please try again later.",
    503: "The service is temporarily unavailable. Please try again shortly.",
}


def sentence(message: str) -> str:
    """A service's message ("must be a number", "a planet named ... exists") as a sentence."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else f"{message}."


class ApiError(Exception):
    """A refused API request, answered in the JSON error shape; `headers` go with it."""

    def __init__(self, status: int, message: str | None = None, *,
                 fields: Mapping[str, list[str]] | None = None,
                 headers: Mapping[str, str] | None = None,
                 beside: Mapping[str, Any] | None = None) -> None:
        super().__init__(message or MESSAGES.get(status, "Error"))
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = dict(headers or {})
        self.beside = dict(beside or {})  # top-level members next to "error" (412: "planet")


def _wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str | None = None,
                   fields: Mapping[str, list[str]] | None = None,
                   beside: Mapping[str, Any] | None = None):
    message = message or MESSAGES.get(status, "Error")
    if _wants_json():
        error = {"status": status, "message": message}
        if fields:
            error["fields"] = {str(name): list(messages) for name, messages in fields.items()}
        response = jsonify(error=error, **(beside or {}))
    else:
        response = _page(status, message)
    return response, status


def _page(status: int, message: str) -> str:
    """The site's error page; a console address's refusal (4xx) for staff in the console's
    page, with its navigation. A server error always gets the site's page, which needs the
    least of what may have just failed."""
    if status < 500:
        from console.admin.error_page import console_error_page  # console.admin imports us

        page = console_error_page(status, message)
        if page is not None:
            return page
    return render_template("errors/error.html", status=status, message=message)


def handle_http_exception(error: HTTPException):
    if request_ctx.url_adapter is None:  # a Host not in TRUSTED_HOSTS: no page can be built
        return MESSAGES.get(error.code, "Error"), error.code, {"Content-Type": "text/plain"}
    response, status = error_response(error.code or 500)
    # Keep headers such as Allow (405) and Retry-After (429).
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return response, status, headers


def handle_api_error(error: ApiError):
    response, status = error_response(error.status, error.message, error.fields, error.beside)
    return response, status, error.headers


def handle_csrf_error(error: CSRFError):
    return error_response(
        400, "The form has expired or did not come from this site. Reload the page and try again."
    )


def handle_database_unavailable(error: OperationalError | InterfaceError):
    """503 while the database cannot be reached (PEP 249 reports refused and lost connections
    and timeouts as these two); once it is back, the pool replaces the dead connections."""
    db.session.rollback()
    # The page must not ask the database who is logged in (nor refresh a user the rollback has
    # expired): show it as to a visitor, by setting the user Flask-Login keeps for this request.
    g._login_user = login_manager.anonymous_user()
    reason = (str(error.orig).splitlines() or [""])[0]  # never the statement or its parameters
    current_app.logger.error("Database unavailable: %s: %s", type(error.orig).__name__, reason)
    response, status = error_response(503)
    return response, status, {"Retry-After": "30"}


def handle_unexpected_error(error: Exception):
    # A failed flush leaves the session unusable until rolled back; the page needs it (who is
    # logged in), so roll back first.
    db.session.rollback()
    return error_response(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
