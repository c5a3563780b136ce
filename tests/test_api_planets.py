"""The planets API: each endpoint, its statuses, and one JSON error shape for every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, Planet, db
from models.planets import PLANET_FIELDS
from tests.conftest import PLANET, bearer


@pytest.fixture
def editor(make_user):
    return make_user("eddie", role="editor")


@pytest.fixture
def headers(editor, make_token):
    return bearer(make_token(editor, name="ci"))


def _planet(app, planet_id):
    with app.app_context():
        return db.session.get(Planet, planet_id)


def _events(app, action):
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return db.session.scalars(query).all()


def assert_error(response, status, fields=None):
    """The one error shape: {"error": {"status", "message"[, "fields"]}}, always JSON."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    assert set(error) <= {"status", "message", "fields"}
    if fields is not None:
        assert set(error["fields"]) == set(fields), error
    return error


# --- reading ------------------------------------------------------------------------------------


def test_get_planet_has_every_field_and_iso_timestamps(client, make_planet):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0)
    response = client.get(f"/api/planets/{planet_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"id", *(f.name for f in PLANET_FIELDS), "archived", "created_at",
                         "updated_at"}
    assert (body["id"], body["name"], body["mass_earth"], body["discovery_year"]) == (
        planet_id, "Kepler-452 b", 5.0, 2015)
    assert body["updated_at"].endswith("+00:00") and "T" in body["created_at"]


def test_missing_planet_is_a_json_404(client):
    assert "no planet with id 424242" in assert_error(client.get("/api/planets/424242"),
                                                      404)["message"]


@pytest.mark.parametrize("path", ["/api/planets/0", "/api/planets/-1", "/api/planets/abc",
                                  "/api/planets/99999999999999999999999", "/api/nothing"])
def test_addresses_outside_the_api_are_json_404s(client, path):
    assert_error(client.get(path), 404)


def test_list_is_paginated_by_fetching_one_more_row(client, make_planet):
    for name in ["Delta", "alpha", "Charlie", "bravo", "Echo"]:
        make_planet(name=name)
    first = client.get("/api/planets?per_page=2").get_json()
    assert [p["name"] for p in first["items"]] == ["alpha", "bravo"]
    assert (first["page"], first["per_page"]) == (1, 2)
    assert first["next"].startswith("/api/planets?page=2&per_page=2&after=")
    second = client.get(first["next"]).get_json()
    assert [p["name"] for p in second["items"]] == ["Charlie", "Delta"]
    last = client.get(second["next"]).get_json()
    assert [p["name"] for p in last["items"]] == ["Echo"] and last["next"] is None


def test_list_defaults_to_25_per_page(client, make_planet):
    for number in range(26):
        make_planet(name=f"P{number:02}")
    body = client.get("/api/planets").get_json()
    assert len(body["items"]) == 25 and body["per_page"] == 25 and body["next"]


def test_list_filters_by_type_method_and_years(client, make_planet):
    make_planet(name="Old giant", planet_type="gas_giant", discovery_method="radial_velocity",
                discovery_year=1995)
    make_planet(name="New giant", planet_type="gas_giant", discovery_method="transit",
                discovery_year=2010)
    make_planet(name="New rock", planet_type="terrestrial", discovery_method="transit",
                discovery_year=2012)

    def names(query):
        return [p["name"] for p in client.get(f"/api/planets?{query}").get_json()["items"]]

    assert names("type=gas_giant") == ["New giant", "Old giant"]
    assert names("method=transit") == ["New giant", "New rock"]
    assert names("discovered_from=2000") == ["New giant", "New rock"]
    assert names("discovered_to=2010") == ["New giant", "Old giant"]
    assert names("type=gas_giant&method=transit&discovered_from=2010&discovered_to=2010") == [
        "New giant"]


def test_list_search_on_name_and_host_star_ignores_case(client, make_planet):
    make_planet(name="Kepler-22 b", host_star="Kepler-22")
    make_planet(name="Proxima b", host_star="Proxima Centauri")
    make_planet(name="Odd one", host_star="kepler-99")
    make_planet(name="100%_real", host_star="Somewhere")
    names = [p["name"] for p in client.get("/api/planets?q=KEPLER").get_json()["items"]]
    assert names == ["Kepler-22 b", "Odd one"]
    # LIKE wildcards in the text are matched literally.
    assert [p["name"] for p in client.get("/api/planets?q=100%25_").get_json()["items"]] == [
        "100%_real"]
    assert client.get("/api/planets?q=%25").get_json()["items"] == []


def test_list_sorts_with_id_as_tie_breaker(client, make_planet):
    heavy = make_planet(name="Heavy", mass_earth=300.0)
    light_a = make_planet(name="Light a", mass_earth=1.0)
    light_b = make_planet(name="Light b", mass_earth=1.0)

    def ids(sort):
        items = client.get(f"/api/planets?sort={sort}&q=l").get_json()["items"]
        return [p["id"] for p in items]

    assert ids("mass_earth") == [light_a, light_b]
    assert ids("-mass_earth") == [light_b, light_a]
    heavy_first = client.get("/api/planets?sort=-mass_earth&q=h").get_json()["items"]
    assert [p["id"] for p in heavy_first] == [heavy]
    names = [p["name"] for p in client.get("/api/planets?sort=-name").get_json()["items"]]
    assert names == ["Light b", "Light a", "Heavy"]


def test_next_link_keeps_filters_and_sort(client, make_planet):
    for number in range(3):
        make_planet(name=f"Giant {number}", planet_type="gas_giant")
    body = client.get("/api/planets?type=gas_giant&per_page=1&sort=-name&q=gi").get_json()
    assert body["next"].startswith(
        "/api/planets?page=2&per_page=1&type=gas_giant&q=gi&sort=-name&after=")
    assert client.get(body["next"]).get_json()["items"][0]["name"] == "Giant 1"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("page=0", ["page"]),
        ("page=abc", ["page"]),
        ("page=100001", ["page"]),
        ("page=99999999999999999999999999", ["page"]),
        ("page=%C2%B2", ["page"]),  # a superscript two is a digit to str.isdigit, not to int()
        ("per_page=0", ["per_page"]),
        ("per_page=101", ["per_page"]),
        ("per_page=-5", ["per_page"]),
        ("type=moon", ["type"]),
        ("method=guessing", ["method"]),
        ("discovered_from=1.5", ["discovered_from"]),
        ("discovered_to=10000", ["discovered_to"]),
        ("sort=colour", ["sort"]),
        ("sort=--name", ["sort"]),
        ("q=" + "x" * 101, ["q"]),
        ("q=a%00b", ["q"]),
        ("page=0&per_page=1000&sort=x", ["page", "per_page", "sort"]),
    ],
)
def test_bad_query_parameters_are_a_400_naming_each(client, query, fields):
    assert_error(client.get(f"/api/planets?{query}"), 400, fields)


# --- creating -----------------------------------------------------------------------------------


def test_create_returns_201_location_and_the_stored_planet(client, headers, app):
    response = client.post("/api/planets", json={**PLANET, "mass_earth": 5}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/planets/{body['id']}"
    assert body["name"] == "Kepler-452 b" and body["mass_earth"] == 5.0
    assert body["description"] == "" and body["distance_ly"] is None
    assert client.get(response.headers["Location"]).get_json() == body
    assert _planet(app, body["id"]).host_star == "Kepler-452"


def test_validation_names_every_bad_field_and_stores_nothing(client, headers, app):
    response = client.post("/api/planets", headers=headers, json={
        "name": " ", "planet_type": "moon", "host_star": "Sun", "discovery_method": "transit",
        "mass_earth": 0, "radius_earth": -1, "discovery_year": 3000, "colour": "blue"})
    error = assert_error(response, 422, ["name", "planet_type", "mass_earth", "radius_earth",
                                         "discovery_year", "colour"])
    assert error["fields"]["mass_earth"] == ["must be greater than 0"]
    assert error["fields"]["colour"] == ["is not a planet field"]
    with app.app_context():
        assert db.session.scalars(select(Planet)).all() == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"mass_earth": 10**400}, "mass_earth"),
        ({"mass_earth": 1e300}, "mass_earth"),
        ({"mass_earth": True}, "mass_earth"),
        ({"mass_earth": {"value": 1}}, "mass_earth"),
        ({"mass_earth": [1]}, "mass_earth"),
        ({"discovery_year": 10**400}, "discovery_year"),
        ({"discovery_year": 2015.5}, "discovery_year"),
        ({"discovery_year": False}, "discovery_year"),
        ({"name": ["Kepler"]}, "name"),
        ({"name": {"nested": {"deeper": "x"}}}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"name": "lone \ud800 surrogate"}, "name"),
        ({"planet_type": 1}, "planet_type"),
        ({"planet_type": None}, "planet_type"),
    ],
)
def test_odd_json_values_are_422_not_500(client, headers, value, field):
    assert_error(client.post("/api/planets", json={**PLANET, **value}, headers=headers), 422,
                 [field])


def test_unicode_names_are_stored_as_sent(client, headers):
    response = client.post("/api/planets", json={**PLANET, "name": "Ἀφροδίτη 🪐 ñ"},
                           headers=headers)
    assert response.status_code == 201
    assert response.get_json()["name"] == "Ἀφροδίτη 🪐 ñ"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"name": "x",}', "application/json", 400),
        (b"\xff\xfe\xfa", "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        ("", "application/json", 400),
        ('["a", "list"]', "application/json", 422),
        ('"a string"', "application/json", 422),
        ("null", "application/json", 422),
        ("42", "application/json", 422),
        ('{"name": "x"}', "text/plain", 415),
        ("name=x", "application/x-www-form-urlencoded", 415),
        ('{"name": "x"}', None, 415),
    ],
)
def test_malformed_bodies_get_json_errors(client, headers, data, content_type, status):
    response = client.post("/api/planets", data=data, content_type=content_type,
                           headers=headers)
    assert_error(response, status)


def test_body_over_the_size_limit_is_a_json_413(client, headers, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/planets", json={**PLANET, "description": "x" * 2000},
                           headers=headers)
    assert_error(response, 413)


@pytest.mark.parametrize("name", ["Kepler-452 b", "KEPLER-452 B", "  kepler-452 b  "])
def test_duplicate_name_ignoring_case_is_409(client, headers, make_planet, name):
    make_planet(name="Kepler-452 b")
    response = client.post("/api/planets", json={**PLANET, "name": name}, headers=headers)
    assert "already exists" in assert_error(response, 409, ["name"])["fields"]["name"][0]


def test_duplicate_name_race_past_the_look_up_is_409_not_500(client, headers, make_planet, app,
                                                              monkeypatch):
    """Another request stores the name between the look-up and the commit: the unique index
    refuses it, and the answer is still a clean 409 with nothing half-written."""
    make_planet(name="Kepler-452 b")
    monkeypatch.setattr(Planet, "find_by_name", staticmethod(lambda name: None))
    response = client.post("/api/planets", json={**PLANET, "name": "kepler-452 B"},
                           headers=headers)
    assert_error(response, 409, ["name"])
    assert _events(app, "planet.create") == []
    assert client.get("/api/planets").get_json()["items"][0]["name"] == "Kepler-452 b"


# --- changing -----------------------------------------------------------------------------------


def test_put_replaces_the_whole_planet(client, headers, make_planet):
    planet_id = make_planet(name="Old", mass_earth=3.0, description="to be emptied")
    response = client.put(f"/api/planets/{planet_id}", headers=headers, json={
        "name": "New", "planet_type": "dwarf", "host_star": "Sun",
        "discovery_method": "imaging"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["planet_type"], body["mass_earth"], body["description"]) == (
        "New", "dwarf", None, "")


def test_put_needs_the_required_fields(client, headers, make_planet):
    planet_id = make_planet()
    response = client.put(f"/api/planets/{planet_id}", json={"name": "Only"}, headers=headers)
    assert_error(response, 422, ["planet_type", "host_star", "discovery_method"])


def test_patch_changes_only_the_fields_sent(client, headers, make_planet):
    planet_id = make_planet(name="Keep", mass_earth=3.0)
    response = client.patch(f"/api/planets/{planet_id}", json={"mass_earth": 4.5},
                            headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["mass_earth"], body["radius_earth"]) == ("Keep", 4.5, 1.63)


def test_patch_validates_the_fields_sent(client, headers, make_planet):
    planet_id = make_planet()
    response = client.patch(f"/api/planets/{planet_id}", headers=headers,
                            json={"name": "", "distance_ly": -1, "id": 5})
    assert_error(response, 422, ["name", "distance_ly", "id"])


def test_renaming_onto_another_planet_is_409_but_own_name_in_other_case_is_fine(
        client, headers, make_planet):
    make_planet(name="Taken")
    planet_id = make_planet(name="Mine")
    response = client.patch(f"/api/planets/{planet_id}", json={"name": "TAKEN"},
                            headers=headers)
    assert_error(response, 409, ["name"])
    response = client.patch(f"/api/planets/{planet_id}", json={"name": "MINE"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["name"] == "MINE"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writes_to_a_missing_planet_are_404(client, headers, method):
    response = getattr(client, method)("/api/planets/424242", json=PLANET, headers=headers)
    assert_error(response, 404)


def test_delete_answers_204_and_removes_the_planet(client, headers, make_planet):
    planet_id = make_planet()
    response = client.delete(f"/api/planets/{planet_id}", headers=headers)
    assert response.status_code == 204 and response.data == b""
    assert_error(client.get(f"/api/planets/{planet_id}"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/planets/1"), ("delete", "/api/planets"), ("put", "/api/planets"),
     ("post", "/api/openapi.json")],
)
def test_wrong_method_is_a_json_405_with_allow(client, method, path):
    response = getattr(client, method)(path)
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


# --- auditing -----------------------------------------------------------------------------------


def test_writes_are_audited_with_the_token_and_its_user(client, headers, app):
    created = client.post("/api/planets", json=PLANET, headers=headers).get_json()
    client.patch(f"/api/planets/{created['id']}", json={"mass_earth": 2.0, "name": PLANET["name"]},
                 headers=headers)
    client.delete(f"/api/planets/{created['id']}", headers=headers)
    [create] = _events(app, "planet.create")
    [update] = _events(app, "planet.update")
    [delete] = _events(app, "planet.delete")
    for event in (create, update, delete):
        assert (event.actor_username, event.via, event.target_type, event.target_id) == (
            "eddie", "api", "planet", str(created["id"]))
        assert event.via_detail == "ci"
    assert create.changes["name"] == [None, "Kepler-452 b"]
    assert create.changes["radius_earth"] == [None, 1.63]
    assert update.changes == {"mass_earth": [None, 2.0]}
    assert delete.changes["name"] == ["Kepler-452 b", None]
    assert delete.changes["mass_earth"] == [2.0, None]


def test_a_write_that_changes_nothing_records_nothing(client, headers, make_planet, app):
    planet_id = make_planet(name="Same")
    response = client.patch(f"/api/planets/{planet_id}", json={"name": "Same"}, headers=headers)
    assert response.status_code == 200
    assert _events(app, "planet.update") == []


def test_refused_writes_are_not_audited(client, headers, app):
    client.post("/api/planets", json={"name": "x"}, headers=headers)
    assert _events(app, "planet.create") == []
