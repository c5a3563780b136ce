"""The planets API: JSON in, JSON out. Every planet input passes models.planets.clean_planet."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from console import audit
from console.api import bp
from console.api.docs import render_docs
from console.api.openapi import openapi_document
from console.api.parameters import MAX_PLANET_ID, PlanetListQuery
from console.api.tokens import requires_write_token
from console.errors import ApiError
from models import ApiToken, Planet, db
from models.planets import (
    PLANET_FIELDS,
    PlanetValidationError,
    clean_planet,
    duplicate_name_message,
)

PLANET_URL = "/planets/<int:planet_id>"


def _timestamp(value: datetime) -> str:
    """ISO 8601 with the offset; SQLite gives back naive datetimes, which are UTC here."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def planet_json(planet: Planet) -> dict[str, Any]:
    return {
        "id": planet.id,
        **{field.name: getattr(planet, field.name) for field in PLANET_FIELDS},
        "created_at": _timestamp(planet.created_at),
        "updated_at": _timestamp(planet.updated_at),
    }


def _json_body() -> dict[str, Any]:
    """The request's JSON object; 415, 400 or 422 ApiError when it is something else."""
    if not request.is_json:
        raise ApiError(415)
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):  # bad syntax or encoding; absurdly deep nesting
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The request body must be a JSON object of planet fields.")
    return body


def _cleaned(body: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    try:
        return clean_planet(body, partial=partial)
    except PlanetValidationError as error:
        raise ApiError(422, "Some fields are not valid.", fields=error.errors) from None


def _duplicate(name: str) -> ApiError:
    return ApiError(409, "Another planet has this name.",
                    fields={"name": [duplicate_name_message(name)]})


def _refuse_taken_name(values: Mapping[str, Any], planet_id: int | None = None) -> None:
    """409 when another planet has the name, ignoring case; the unique index backs this up."""
    if "name" not in values:
        return
    other = Planet.find_by_name(values["name"])
    if other is not None and other.id != planet_id:
        raise _duplicate(values["name"])


def _store(planet: Planet, action: str, changes: Mapping[str, Any], token: ApiToken) -> None:
    """Audit and commit in one transaction; a race lost to another writer is a 409 or 404."""
    try:
        audit.record(action, planet, changes=changes, actor=token.user,
                     via=f"api token {token.name}")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(planet.name) from None
    except StaleDataError:  # deleted by another request since it was read
        db.session.rollback()
        raise ApiError(404, "This planet no longer exists.") from None


def _planet_or_404(planet_id: int) -> Planet:
    # Checked here, not by the URL converter: a converter's refusal would make werkzeug answer
    # 405 to a PUT of /planets/0, because the GET rule matched the path.
    in_range = 1 <= planet_id <= MAX_PLANET_ID
    planet = db.session.get(Planet, planet_id) if in_range else None
    if planet is None:
        raise ApiError(404, f"There is no planet with id {planet_id}.")
    return planet


@bp.get("/planets")
def list_planets() -> Response:
    query = PlanetListQuery.from_args(request.args)
    page = query.read()
    return jsonify(
        items=[planet_json(planet) for planet in page.items],
        page=query.page,
        per_page=query.per_page,
        next=url_for("api.list_planets", **query.args_for_next(page.next))
        if page.next else None,
    )


@bp.get(PLANET_URL)
def get_planet(planet_id: int) -> Response:
    return jsonify(planet_json(_planet_or_404(planet_id)))


@bp.post("/planets")
@requires_write_token
def create_planet(token: ApiToken) -> tuple[Response, int, dict[str, str]]:
    values = _cleaned(_json_body())
    _refuse_taken_name(values)
    planet = Planet(**values)
    db.session.add(planet)
    _store(planet, "planet.create", values, token)
    location = url_for("api.get_planet", planet_id=planet.id)
    return jsonify(planet_json(planet)), 201, {"Location": location}


def _update(planet_id: int, token: ApiToken, *, partial: bool) -> Response:
    planet = _planet_or_404(planet_id)
    values = _cleaned(_json_body(), partial=partial)
    _refuse_taken_name(values, planet.id)
    changes = {key: [getattr(planet, key), value] for key, value in values.items()
               if getattr(planet, key) != value}
    if changes:
        planet.apply(values)
        _store(planet, "planet.update", changes, token)
    return jsonify(planet_json(planet))


@bp.put(PLANET_URL)
@requires_write_token
def replace_planet(planet_id: int, token: ApiToken) -> Response:
    return _update(planet_id, token, partial=False)


@bp.patch(PLANET_URL)
@requires_write_token
def update_planet(planet_id: int, token: ApiToken) -> Response:
    return _update(planet_id, token, partial=True)


@bp.delete(PLANET_URL)
@requires_write_token
def delete_planet(planet_id: int, token: ApiToken) -> tuple[str, int]:
    planet = _planet_or_404(planet_id)
    snapshot = {field.name: getattr(planet, field.name) for field in PLANET_FIELDS}
    db.session.delete(planet)
    _store(planet, "planet.delete", snapshot, token)
    return "", 204


@bp.get("/openapi.json")
def openapi() -> Response:
    # Not jsonify, which sorts keys: the document reads best in its own order (info, paths, ...).
    return Response(json.dumps(openapi_document()), mimetype="application/json")


@bp.get("/docs")
def docs() -> str:
    return render_docs()
