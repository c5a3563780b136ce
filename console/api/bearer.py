"""Bearer tokens on API writes, and the API's rate limits (per client address, per token).

Writes never look at the session cookie: a logged-in browser has no more power here than
anybody else without a token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, request
from flask_limiter.util import get_remote_address

from console.api import bp
from console.errors import ApiError
from console.extensions import limiter
from console.security import can
from console.services import api_tokens
from models import ApiToken
from models.api_tokens import secret_hash

WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
CHALLENGE = 'Bearer realm="api"'


def _presented_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def write_token() -> ApiToken:
    """The token of this request if it may change planets; raises a 401 or 403 ApiError."""
    secret = _presented_secret()
    if secret is None:
        raise ApiError(401, "Send an API token: Authorization: Bearer <token>.",
                       headers={"WWW-Authenticate": CHALLENGE})
    token = api_tokens.authenticate(secret)
    if token is None:
        raise ApiError(401, "The API token is unknown or revoked, or its account is inactive.",
                       headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'})
    if not can(api_tokens.TOKEN_PERMISSION, token.user):
        raise ApiError(403, "The account of this API token may not change planets.")
    return token


def requires_write_token(view: Callable) -> Callable:
    """View decorator: passes the request's valid write token to the view as `token`."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return view(*args, token=write_token(), **kwargs)

    return wrapped


def _token_key() -> str:
    """Writes count against the presented token, or the address when there is none."""
    secret = _presented_secret()
    return f"api-token:{secret_hash(secret)}" if secret else f"api-addr:{get_remote_address()}"


limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api")(bp)
limiter.shared_limit(lambda: current_app.config["API_WRITE_RATE_LIMIT"], scope="api-write",
                     key_func=_token_key, methods=WRITE_METHODS)(bp)
