"""The OpenAPI 3.1 document of the API, built from the planet schema and the query rules.

Planet schemas come from models.planets.PLANET_FIELDS and the list parameters from
console.api.parameters, so the document cannot drift from what the server checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console.api.parameters import (
    ARCHIVED_VALUES,
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    DISCOVERY_METHODS,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_PLANET_ID,
    MAX_SEARCH_LENGTH,
    MAX_YEAR,
    PLANET_TYPES,
    SORT_VALUES,
)
from console.paging import MAX_CURSOR_LENGTH, MAX_OFFSET
from models.planets import MAX_MAGNITUDE, PLANET_FIELDS, PlanetField

SECURITY_SCHEME = "bearerToken"
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001F]*$"
# clean_planet's text rule: no control characters but tab and newline, and required text not blank.
TEXT_CHARACTERS = "[^\\u0000-\\u0008\\u000B-\\u001F]*"
PLAIN_TEXT = f"^{TEXT_CHARACTERS}$"
NOT_BLANK_TEXT = f"^{TEXT_CHARACTERS}[^\\s\\u0000-\\u001F]{TEXT_CHARACTERS}$"

DESCRIPTION = """\
The planets catalog as JSON. Reading is public; creating, changing, archiving and deleting
planets needs an API token of an editor or admin, sent as `Authorization: Bearer <token>`.
Editors and admins create tokens on their account page; the token is shown once.

Request bodies are JSON objects sent as `Content-Type: application/json`. Every error is one
JSON shape: `{"error": {"status": 422, "message": "...", "fields": {"mass_earth": ["must be
greater than 0"]}}}`, with `fields` only when the error is about named inputs.

Requests are rate limited per client address, and writes also per token; past a limit the
answer is 429 with a `Retry-After` header in seconds."""


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _described(field: PlanetField) -> dict[str, str]:
    text = ", ".join(part for part in (field.unit, field.description) if part)
    return {"title": field.label, **({"description": text} if text else {})}


def field_input_schema(field: PlanetField) -> dict[str, Any]:
    """What clean_planet accepts for `field`; null (or "") clears an optional field."""
    schema: dict[str, Any] = _described(field)
    if field.kind == "choice":
        return {**schema, "type": "string", "enum": list(field.choices)}
    if field.kind == "text":
        schema["maxLength"] = field.max_length
        if field.required:
            return {**schema, "type": "string", "minLength": 1, "pattern": NOT_BLANK_TEXT}
        return {**schema, "type": ["string", "null"], "pattern": PLAIN_TEXT}
    if field.kind == "int":
        schema["maximum"] = datetime.now(UTC).year
    else:
        schema["maximum"] = MAX_MAGNITUDE
    if field.exclusive_minimum:
        schema["exclusiveMinimum"] = field.minimum
    elif field.minimum is not None:
        schema["minimum"] = field.minimum
    json_type = "integer" if field.kind == "int" else "number"
    return {**schema, "type": [json_type, "null"] if not field.required else json_type}


def field_output_schema(field: PlanetField) -> dict[str, Any]:
    """How a stored value of `field` is sent: optional text is "" and optional numbers null."""
    schema: dict[str, Any] = _described(field)
    if field.kind == "choice":
        return {**schema, "type": "string", "enum": list(field.choices)}
    if field.kind == "text":
        return {**schema, "type": "string"}
    json_type = "integer" if field.kind == "int" else "number"
    return {**schema, "type": json_type if field.required else [json_type, "null"]}


def _planet_schemas() -> dict[str, Any]:
    inputs = {field.name: field_input_schema(field) for field in PLANET_FIELDS}
    required = [field.name for field in PLANET_FIELDS if field.required]
    timestamp = {"type": "string", "format": "date-time"}
    return {
        "Planet": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", *(f.name for f in PLANET_FIELDS), "archived", "created_at",
                         "updated_at"],
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                **{field.name: field_output_schema(field) for field in PLANET_FIELDS},
                "archived": {"type": "boolean", "description": "Archived planets are left out "
                             "of the default list (see `archived`) and take no applications."},
                "created_at": timestamp,
                "updated_at": timestamp,
            },
        },
        "PlanetInput": {
            "description": "A whole planet; optional fields left out are stored empty.",
            "type": "object",
            "additionalProperties": False,
            "required": required,
            "properties": inputs,
        },
        "PlanetPatch": {
            "description": "Only the fields to change.",
            "type": "object",
            "additionalProperties": False,
            "properties": inputs,
        },
        "PlanetList": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items", "page", "per_page", "next"],
            "properties": {
                "items": {"type": "array", "items": _ref("schemas", "Planet")},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "next": {"type": ["string", "null"], "format": "uri-reference",
                         "description": "The next page with the same filters and sort (by "
                                        "cursor), or null on the last page."},
            },
        },
        "Error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer"},
                    "message": {"type": "string"},
                    "fields": {
                        "description": "Messages per bad input, when the error is about inputs.",
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }},
        },
    }


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "Error")}},
    }
    if headers:
        response["headers"] = {name: {"required": True, "schema": schema}
                               for name, schema in headers.items()}
    return response


ETAG = {"ETag": {"description": "The planet's version; send it back in `If-Match` to change "
                          "only this version.", "required": True, "schema": {"type": "string"}}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "description": "Change the planet only if it is still this version (its `ETag`); "
                           "otherwise 412 and nothing changes. Without it, the write goes ahead "
                           "over whatever version is stored.",
            "schema": {"type": "string", "maxLength": 200}}
PRECONDITION_FAILED = {
    "description": "The planet has changed since the version in `If-Match`: nothing changed; "
                   "`planet` is the planet as it is now, and `ETag` its version.",
    "headers": ETAG,
    "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "required": ["error", "planet"],
        "properties": {"error": {"$ref": "#/components/schemas/Error/properties/error"},
                       "planet": {"$ref": "#/components/schemas/Planet"}}}}},
}

ERROR_RESPONSES = {
    "InvalidQuery": _error("Invalid query parameters, named in `fields`."),
    "MalformedJson": _error("The request body is not valid JSON."),
    "Unauthorized": _error("No API token, or one that is unknown, revoked or of an inactive "
                           "account.", {"WWW-Authenticate": {"type": "string"}}),
    "Forbidden": _error("The token's account may not change planets."),
    "NotFound": _error("There is no planet with this id."),
    "Conflict": _error("Another planet has this name (ignoring case), mission applications "
                       "hold the planet (archive it instead of deleting it), or another "
                       "request changed it meanwhile."),
    "PayloadTooLarge": _error("The request body is larger than the server accepts."),
    "UnsupportedMediaType": _error("The request body is not sent as application/json."),
    "PreconditionFailed": PRECONDITION_FAILED,
    "UnprocessableEntity": _error("The body is not a JSON object, or fields are invalid or "
                                  "unknown (named in `fields`)."),
    "TooManyRequests": _error("Rate limit reached; retry after `Retry-After` seconds.",
                              {"Retry-After": {"type": "integer", "minimum": 0}}),
}


def _errors(*statuses: int) -> dict[str, dict[str, str]]:
    names = {400: "MalformedJson", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
             409: "Conflict", 412: "PreconditionFailed", 413: "PayloadTooLarge",
             415: "UnsupportedMediaType",
             422: "UnprocessableEntity", 429: "TooManyRequests"}
    return {str(status): _ref("responses", names[status]) for status in (*statuses, 429)}


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("schemas", schema_name)}}}


def _versioned(description: str) -> dict[str, Any]:
    return {**_json("Planet", description), "headers": ETAG}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _list_parameters() -> list[dict[str, Any]]:
    year = {"type": "integer", "minimum": 0, "maximum": MAX_YEAR}
    return [
        _query("page", f"Page number. Without `after`, pages by number reach the first "
                       f"{MAX_OFFSET:,} planets of the list; `next` links go on from there. "
                       "With `after`, only the number the response repeats.",
               {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        _query("per_page", "Planets per page.", {"type": "integer", "minimum": 1,
                                                 "maximum": MAX_PER_PAGE,
                                                 "default": DEFAULT_PER_PAGE}),
        _query("type", "Only planets of this type.", {"type": "string", "enum": PLANET_TYPES}),
        _query("method", "Only planets found by this discovery method.",
               {"type": "string", "enum": DISCOVERY_METHODS}),
        _query("discovered_from", "Only planets discovered in or after this year.", year),
        _query("discovered_to", "Only planets discovered in or before this year.", year),
        _query("q", "Planets whose name or host star contains each word of this text, "
                    "ignoring case; a word of one or two characters must start the name, the "
                    "host star or a word of theirs, and text of such words only must start "
                    "the name or the host star. Without `sort`, names that start with the "
                    "text (its first word, when it has longer ones) come first.",
               {"type": "string", "maxLength": MAX_SEARCH_LENGTH,
                "pattern": NO_CONTROL_CHARACTERS}),
        _query("sort", "Sort key; a leading `-` sorts descending. Ties go by id. Without "
                       "it, by name, and with `q` the names that start with it first.",
               {"type": "string", "enum": SORT_VALUES, "default": DEFAULT_SORT}),
        _query("archived", "`true` lists the archived planets instead of the catalog.",
               {"type": "string", "enum": ARCHIVED_VALUES, "default": "false"}),
        _query("after", "Cursor from a `next` link: the page starts after the planet it "
                        "names, at the same cost at any depth, and stays valid when that "
                        "planet changes or is deleted. Only good with the sort it was made for.",
               {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH}),
    ]


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True,
            "content": {"application/json": {"schema": _ref("schemas", schema_name)}}}


def _write(operation: dict[str, Any]) -> dict[str, Any]:
    return {**operation, "security": [{SECURITY_SCHEME: []}]}


def _paths() -> dict[str, Any]:
    planet_id = {"name": "planet_id", "in": "path", "required": True,
                 "description": "The planet's id.",
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PLANET_ID}}
    planet = _versioned("The planet.")
    return {
        "/api/planets": {
            "get": {
                "operationId": "listPlanets", "tags": ["planets"], "summary": "List planets",
                "description": "One page of planets, filtered and sorted. `next` links the "
                               "following page.",
                "parameters": _list_parameters(),
                "responses": {"200": _json("PlanetList", "A page of planets."),
                              "400": _ref("responses", "InvalidQuery"), **_errors()},
            },
            "post": _write({
                "operationId": "createPlanet", "tags": ["planets"], "summary": "Create a planet",
                "requestBody": _body("PlanetInput"),
                "responses": {
                    "201": {**_json("Planet", "The stored planet."), "headers": {
                        **ETAG, "Location": {
                            "description": "The planet's address.", "required": True,
                            "schema": {"type": "string", "format": "uri-reference"}}}},
                    **_errors(400, 401, 403, 409, 413, 415, 422),
                },
            }),
        },
        "/api/planets/{planet_id}": {
            "parameters": [planet_id],
            "get": {
                "operationId": "getPlanet", "tags": ["planets"], "summary": "One planet",
                "responses": {"200": planet, **_errors(404)},
            },
            "put": _write({
                "operationId": "replacePlanet", "tags": ["planets"],
                "summary": "Replace a planet", "description": "Fields left out are emptied.",
                "parameters": [IF_MATCH],
                "requestBody": _body("PlanetInput"),
                "responses": {"200": planet,
                              **_errors(400, 401, 403, 404, 409, 412, 413, 415, 422)},
            }),
            "patch": _write({
                "operationId": "updatePlanet", "tags": ["planets"],
                "summary": "Change some fields of a planet",
                "parameters": [IF_MATCH],
                "requestBody": _body("PlanetPatch"),
                "responses": {"200": planet,
                              **_errors(400, 401, 403, 404, 409, 412, 413, 415, 422)},
            }),
            "delete": _write({
                "operationId": "deletePlanet", "tags": ["planets"], "summary": "Delete a planet",
                "description": "A planet that mission applications refer to is not deleted "
                               "(409): archive it instead.",
                "parameters": [IF_MATCH],
                "responses": {"204": {"description": "Deleted."},
                              **_errors(401, 403, 404, 409, 412)},
            }),
        },
        "/api/planets/{planet_id}/archive": {
            "parameters": [planet_id],
            "post": _write({
                "operationId": "archivePlanet", "tags": ["planets"],
                "summary": "Archive a planet",
                "description": "It leaves the catalog and the default list, and keeps its "
                               "mission applications. Archiving an archived planet changes "
                               "nothing.",
                "parameters": [IF_MATCH],
                "responses": {"200": planet, **_errors(401, 403, 404, 409, 412)},
            }),
        },
        "/api/planets/{planet_id}/unarchive": {
            "parameters": [planet_id],
            "post": _write({
                "operationId": "unarchivePlanet", "tags": ["planets"],
                "summary": "Bring an archived planet back",
                "parameters": [IF_MATCH],
                "responses": {"200": planet, **_errors(401, 403, 404, 409, 412)},
            }),
        },
        "/api/openapi.json": {"get": {
            "operationId": "getOpenApiDocument", "tags": ["documentation"],
            "summary": "This document",
            "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {
                "application/json": {"schema": {"type": "object"}}}}, **_errors()},
        }},
        "/api/docs": {"get": {
            "operationId": "getApiDocs", "tags": ["documentation"],
            "summary": "This document as a web page",
            "responses": {"200": {"description": "The page.", "content": {
                "text/html": {"schema": {"type": "string"}}}}, **_errors()},
        }},
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Interstellar Space Station planets API", "version": "1.0.0",
                 "description": DESCRIPTION},
        "tags": [{"name": "planets", "description": "The planets catalog."},
                 {"name": "documentation", "description": "This description of the API."}],
        "paths": _paths(),
        "components": {
            "schemas": _planet_schemas(),
            "responses": ERROR_RESPONSES,
            "securitySchemes": {SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer",
                "description": "An API token from the account page or `flask create-token`.",
            }},
        },
    }


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points at within `document`."""
    if "$ref" not in node:
        return node
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target
