"""One JSON object per line per request on the `console.requests` logger, for example

    {"level": "INFO", "method": "GET", "path": "/planets", "status": 200, "duration_ms": 4.2,
     "user_id": 7, "remote_addr": "203.0.113.9", "time": "2026-05-01T09:30:00.123456+00:00"}

Never the query string, headers, cookies or bodies: they may carry passwords and tokens.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request, request_finished, request_started
from pythonjsonlogger.json import JsonFormatter

from models import User

logger = logging.getLogger("console.requests")


class _StandardError(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is written (as logging's own last-resort
    handler does), not to the stream that was standard error when the app was built."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def json_handler() -> logging.Handler:
    """Standard error, one JSON object per line: the fields of the request (see `_log_request`),
    the level as "level" and the time as "time" (ISO 8601, UTC). No message text."""
    handler = _StandardError()
    handler.setFormatter(JsonFormatter(["levelname"], rename_fields={"levelname": "level"},
                                       timestamp="time"))
    return handler


def _start_clock(sender: Flask, **extra: Any) -> None:
    g.request_started_at = time.perf_counter()


def _user_id() -> int | None:
    """The id of the user this request has already loaded, read without a query: the log must
    work while the database is down and after a rollback has expired the user's attributes."""
    user = g.get("_login_user")  # where Flask-Login keeps the user of this request
    if not isinstance(user, User):
        return None
    identity = sa.inspect(user).identity
    return identity[0] if identity else None


def _log_request(sender: Flask, response: Response, **extra: Any) -> None:
    started = g.get("request_started_at")
    # The fields travel as the record's attributes; the JSON formatter writes exactly these.
    logger.info("request", extra={
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user_id": _user_id(),
        "remote_addr": request.remote_addr or "",
    })


QUERY_STRING = re.compile(r"\?[^\s\"]*")


def drop_query_strings(record: logging.LogRecord) -> bool:
    """The development server's access log ("werkzeug") writes each request line; its query
    string may hold a reset or confirmation link's token, so the line goes without it."""
    if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
        record.args = (QUERY_STRING.sub("", record.args[0]), *record.args[1:])
    return True


def register_request_log(app: Flask) -> None:
    """Signals rather than before/after_request hooks, so that a request refused by an earlier
    hook (a rate limit's 429) is timed and logged too."""
    # `logger` is a child of app.logger ("console"), to which Flask adds its default handler,
    # "[time] INFO in request_log: ..."; the request log has a JSON handler of its own (one,
    # however many apps a process builds) and does not propagate, so each request is one line
    # on standard error and that line is one JSON object.
    if not any(isinstance(handler, _StandardError) for handler in logger.handlers):
        logger.addHandler(json_handler())
    logger.propagate = False
    logger.setLevel(logging.INFO)
    access_log = logging.getLogger("werkzeug")
    if drop_query_strings not in access_log.filters:
        access_log.addFilter(drop_query_strings)
    request_started.connect(_start_clock, app)
    request_finished.connect(_log_request, app)
