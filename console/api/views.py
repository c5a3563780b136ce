"""The planets API: JSON in, JSON out. Every write goes through the planets service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request, url_for

from console.api import bp
from console.api.bearer import requires_write_token
from console.api.docs import render_docs
from console.api.openapi import openapi_document
from console.api.parameters import MAX_PLANET_ID, PlanetListQuery
from console.audit import Source
from console.errors import ApiError, sentence
from console.services import planets
from models import ApiToken, Planet, as_utc, db
from models.errors import DomainError, Refusal
from models.planets import PLANET_FIELDS

PLANET_URL = "/planets/<int:planet_id>"


def _timestamp(value: datetime) -> str:
    """ISO 8601 with the offset, in UTC."""
    return as_utc(value).isoformat()


def planet_json(planet: Planet) -> dict[str, Any]:
    return {
        "id": planet.id,
        **{field.name: getattr(planet, field.name) for field in PLANET_FIELDS},
        "archived": planet.archived,
        "created_at": _timestamp(planet.created_at),
        "updated_at": _timestamp(planet.updated_at),
    }


def _json_body() -> dict[str, Any]:
    """The request's JSON object; 415, 400 or 422 ApiError when it is something else."""
    if not request.is_json:
        raise ApiError(415, "The request body must be JSON, sent as Content-Type: "
                            "application/json.")
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):  # bad syntax or encoding; absurdly deep nesting
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The request body must be a JSON object of planet fields.")
    return body


STATUS = {Refusal.INVALID: 422, Refusal.CONFLICT: 409, Refusal.MISSING: 404}


def _write(token: ApiToken, operation, *args: Any, **kwargs: Any) -> Any:
    """Run a planets service operation for this token; a DomainError becomes the JSON error
    with its fields."""
    try:
        return operation(*args, actor=token.user, via=Source.API, via_detail=token.name,
                         **kwargs)
    except DomainError as error:
        message = ("Some fields are not valid." if error.kind is Refusal.INVALID
                   else sentence(error.message))
        raise ApiError(STATUS[error.kind], message, fields=error.fields) from None


def _planet_or_404(planet_id: int) -> Planet:
    # Checked here, not by the URL converter: a converter's refusal would make werkzeug answer
    # 405 to a PUT of /planets/0, because the GET rule matched the path.
    in_range = 1 <= planet_id <= MAX_PLANET_ID
    planet = db.session.get(Planet, planet_id) if in_range else None
    if planet is None:
        raise ApiError(404, f"There is no planet with id {planet_id}.")
    return planet


def etag(planet: Planet) -> str:
    """The planet's version as an entity tag: it changes with every write."""
    return f"v{planet.version}"


def _answer(planet: Planet, status: int = 200, **headers: str) -> tuple[Response, int]:
    response = jsonify(planet_json(planet))
    response.set_etag(etag(planet))
    response.headers.update(headers)
    return response, status


def _planet_to_change(planet_id: int) -> Planet:
    """The planet a write names, if the request's If-Match (when sent) names its current
    version; otherwise a 412 with the planet as it is now, and nothing changes."""
    planet = _planet_or_404(planet_id)
    if request.if_match and not request.if_match.contains(etag(planet)) \
            and not request.if_match.star_tag:
        raise ApiError(412, "The planet has changed since the version in If-Match; nothing was "
                            "changed. The current planet is in `planet`, its version in ETag.",
                       headers={"ETag": f'"{etag(planet)}"'},
                       beside={"planet": planet_json(planet)})
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
def get_planet(planet_id: int) -> tuple[Response, int]:
    return _answer(_planet_or_404(planet_id))


@bp.post("/planets")
@requires_write_token
def create_planet(token: ApiToken) -> tuple[Response, int]:
    planet = _write(token, planets.create, _json_body())
    return _answer(planet, 201, Location=url_for("api.get_planet", planet_id=planet.id))


def _update(planet_id: int, token: ApiToken, *, partial: bool) -> tuple[Response, int]:
    planet = _planet_to_change(planet_id)
    _write(token, planets.update, planet, _json_body(), partial=partial)
    return _answer(planet)


@bp.put(PLANET_URL)
@requires_write_token
def replace_planet(planet_id: int, token: ApiToken) -> tuple[Response, int]:
    return _update(planet_id, token, partial=False)


@bp.patch(PLANET_URL)
@requires_write_token
def update_planet(planet_id: int, token: ApiToken) -> tuple[Response, int]:
    return _update(planet_id, token, partial=True)


@bp.delete(PLANET_URL)
@requires_write_token
def delete_planet(planet_id: int, token: ApiToken) -> tuple[str, int]:
    _write(token, planets.delete, [_planet_to_change(planet_id)])
    return "", 204


def _set_archived(planet_id: int, token: ApiToken, archived: bool) -> tuple[Response, int]:
    planet = _planet_to_change(planet_id)
    _write(token, planets.set_archived, [planet], archived)
    return _answer(planet)


@bp.post(f"{PLANET_URL}/archive")
@requires_write_token
def archive_planet(planet_id: int, token: ApiToken) -> tuple[Response, int]:
    return _set_archived(planet_id, token, True)


@bp.post(f"{PLANET_URL}/unarchive")
@requires_write_token
def unarchive_planet(planet_id: int, token: ApiToken) -> tuple[Response, int]:
    return _set_archived(planet_id, token, False)


@bp.get("/openapi.json")
def openapi() -> Response:
    # Not jsonify, which sorts keys: the document reads best in its own order (info, paths, ...).
    return Response(json.dumps(openapi_document()), mimetype="application/json")


@bp.get("/docs")
def docs() -> str:
    return render_docs()
