"""One structured line per request on the `console.requests` logger, for example

    {"method": "GET", "path": "/planets", "status": 200, "duration_ms": 4.2, "user_id": 7,
     "remote_addr": "203.0.113.9"}

Never the query string, headers, cookies or bodies: they may carry passwords and tokens.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request, request_finished, request_started

from models import User

logger = logging.getLogger("console.requests")


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
    logger.info(json.dumps({
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user_id": _user_id(),
        "remote_addr": request.remote_addr or "",
    }))


def register_request_log(app: Flask) -> None:
    """Signals rather than before/after_request hooks, so that a request refused by an earlier
    hook (a rate limit's 429) is timed and logged too."""
    # `logger` is this child of app.logger ("console"), so the lines go wherever the app's log
    # goes: by default to standard error, through the handler Flask adds to app.logger.
    app.logger.getChild("requests").setLevel(logging.INFO)
    request_started.connect(_start_clock, app)
    request_finished.connect(_log_request, app)
