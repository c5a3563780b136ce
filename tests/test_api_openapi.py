"""The OpenAPI document: valid OpenAPI 3.1, built from the planet schema, covering every route,
rendered as a page, and true to the server under a property-based fuzz run (schemathesis)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from models import Planet, db
from models.planets import PLANET_FIELDS, clean_planet
from tests.conftest import bearer

FUZZ_EXAMPLES = 20  # per operation and generation mode; derandomized, so every run is the same
CONFORMANCE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                      response_headers_conformance, response_schema_conformance]


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_planet_schemas_follow_the_planet_fields(document):
    schemas = document["components"]["schemas"]
    planet_input, patch, planet = schemas["PlanetInput"], schemas["PlanetPatch"], schemas["Planet"]
    assert list(planet_input["properties"]) == [f.name for f in PLANET_FIELDS]
    assert planet_input["required"] == ["name", "planet_type", "host_star", "discovery_method"]
    assert "required" not in patch and patch["properties"] == planet_input["properties"]
    assert all(s["additionalProperties"] is False for s in (planet_input, patch, planet))
    fields = planet_input["properties"]
    assert fields["name"]["maxLength"] == 100 and fields["name"]["type"] == "string"
    assert fields["planet_type"]["enum"][0] == "terrestrial"
    assert fields["mass_earth"]["exclusiveMinimum"] == 0
    assert fields["mass_earth"]["type"] == ["number", "null"]
    assert fields["distance_ly"]["minimum"] == 0 and "exclusiveMinimum" not in fields[
        "distance_ly"]
    assert fields["discovery_year"]["minimum"] == 1600
    assert fields["description"]["type"] == ["string", "null"]
    assert set(planet["required"]) == {"id", "archived", "created_at", "updated_at",
                                       *(f.name for f in PLANET_FIELDS)}


def test_every_api_route_and_method_is_documented(app, document):
    implemented = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            implemented |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    assert documented == implemented


def test_write_operations_need_the_bearer_scheme_and_reads_do_not(document):
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            is_write = method in {"post", "put", "patch", "delete"}
            assert bool(operation.get("security")) == is_write
            assert ("401" in operation["responses"]) == is_write
            assert "429" in operation["responses"]


def test_docs_page_is_rendered_from_the_document(client, document):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Interstellar Space Station</a>" in html  # the site's layout
    for path, item in document["paths"].items():
        for method in item:
            if method != "parameters":
                assert f"{method.upper()} {path}" in html
    for field in PLANET_FIELDS:
        assert f"<code>{field.name}</code>" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "asset from elsewhere"


# --- fuzzing ------------------------------------------------------------------------------------


def _fuzz_runs(operation, planet_id: int) -> list[tuple[GenerationMode, dict | None]]:
    """(generation mode, fixed path parameters) pairs for one operation. Generated ids nearly
    always miss, so operations on one planet also run against a stored planet."""
    runs = [(GenerationMode.POSITIVE, None)]
    if list(operation.iter_parameters()) or operation.body:
        runs.append((GenerationMode.NEGATIVE, None))
    if operation.path_parameters:
        runs.append((GenerationMode.POSITIVE, {"planet_id": planet_id}))
        if operation.body:
            runs.append((GenerationMode.NEGATIVE, {"planet_id": planet_id}))
    return runs


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "100000 per minute",
                                         "API_WRITE_RATE_LIMIT": "100000 per minute"}])
def test_fuzzed_requests_get_documented_answers_and_keep_the_catalog_valid(
        app, app_config, make_user, make_token, make_planet):
    """Every operation, with valid and invalid data drawn from the document itself: no 5xx, and
    every status, content type, header and body as documented. Afterwards every stored planet
    still passes the planet schema."""
    headers = bearer(make_token(make_user(role="editor")))
    planet_id = make_planet(name="Fuzz target")
    make_planet(name="Another planet")
    # Naming the paths keeps the document's own operation, which schemathesis leaves out else.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).include(path_regex="^/api/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10

    for operation in operations:
        for mode, path_parameters in _fuzz_runs(operation, planet_id):
            strategy = operation.as_strategy(generation_mode=mode, headers=headers,
                                             path_parameters=path_parameters)

            @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None,
                      database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case):
                case.validate_response(case.call(), checks=CONFORMANCE_CHECKS)

            call()

    with app.app_context():
        planets = db.session.scalars(select(Planet)).all()
        assert planets
        for planet in planets:
            clean_planet({field.name: getattr(planet, field.name) for field in PLANET_FIELDS})
