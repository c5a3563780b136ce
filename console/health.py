"""GET /healthz for load balancers and monitors: is this app able to reach its database?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from console.extensions import limiter
from models import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 {"status": "ok"} or 503 {"status": "unavailable"}, with no details for attackers."""
    try:
        db.session.execute(text("SELECT 1"))
    except DBAPIError:
        db.session.rollback()
        response, status = jsonify(status="unavailable"), 503
    else:
        response, status = jsonify(status="ok"), 200
    response.headers["Cache-Control"] = "no-store"
    return response, status
