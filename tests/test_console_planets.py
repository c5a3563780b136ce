"""The planets view: the shared schema's messages, search, filters, sorting, export, audit."""

import csv
import html
import io
import re

import pytest
from sqlalchemy import func, select

from console.cli import import_planets_command
from models import AuditEvent, Planet, db
from tests.plans import plan_of

FORM = {"name": "New World b", "planet_type": "gas_giant", "host_star": "New World",
        "discovery_year": "2020", "discovery_method": "transit", "mass_earth": "300",
        "radius_earth": "", "orbital_period_days": "", "semi_major_axis_au": "",
        "distance_ly": "", "equilibrium_temp_k": "", "description": "", "source": ""}


@pytest.fixture
def editor(login_as):
    client, _ = login_as("editor", username="eddie")
    return client


def _planets(app):
    with app.app_context():
        return {p.name: p for p in db.session.scalars(select(Planet))}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mass_earth": "-1"}, "mass_earth", "must be greater than 0"),
        ({"mass_earth": "heavy"}, "mass_earth", "must be a number"),
        ({"distance_ly": "-3"}, "distance_ly", "must be at least 0"),
        ({"discovery_year": "3000"}, "discovery_year", "cannot be in the future"),
        ({"discovery_year": "1500"}, "discovery_year", "must be 1600 or later"),
        ({"name": ""}, "name", "is required"),
        ({"name": "n" * 101}, "name", "must be at most 100 characters"),
        ({"planet_type": "hot_jupiter"}, "planet_type", "must be one of: terrestrial"),
    ],
)
def test_create_shows_the_schemas_message_and_stores_nothing(editor, app, changes, field,
                                                               message):
    response = editor.post("/admin/planet/new/", data={**FORM, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _planets(app) == {}


def test_create_stores_cleaned_values_and_audits(editor, app):
    response = editor.post("/admin/planet/new/", data={**FORM, "name": "  New World b "})
    assert response.status_code == 302
    planet = _planets(app)["New World b"]
    assert planet.mass_earth == 300.0 and planet.discovery_year == 2020
    assert planet.radius_earth is None
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "planet.create")).one()
        assert event.actor_username == "eddie" and event.via == "console"
        assert event.target_id == str(planet.id) and event.changes["mass_earth"] == [None, 300.0]


def test_duplicate_name_ignoring_case_is_a_field_error(editor, make_planet, app):
    make_planet(name="New World b")
    response = editor.post("/admin/planet/new/", data={**FORM, "name": "NEW WORLD B"})
    assert response.status_code == 200
    assert "a planet named &#39;NEW WORLD B&#39; already exists" in response.get_data(
        as_text=True)
    assert list(_planets(app)) == ["New World b"]


def test_edit_audits_only_the_changed_fields(editor, make_planet, app):
    planet_id = make_planet(name="New World b", planet_type="gas_giant", host_star="New World",
                            discovery_year=2020, discovery_method="transit", mass_earth=300,
                            radius_earth=None, orbital_period_days=None)
    response = editor.post(f"/admin/planet/edit/?id={planet_id}",
                           data={**FORM, "mass_earth": "310.5"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "planet.update")).one()
        assert event.changes == {"mass_earth": [300.0, 310.5]}


def test_edit_keeping_its_own_name_is_not_a_duplicate(editor, make_planet, app):
    planet_id = make_planet(name="New World b")
    response = editor.post(f"/admin/planet/edit/?id={planet_id}",
                           data={**FORM, "name": "new world B", "mass_earth": "2"})
    assert response.status_code == 302
    assert list(_planets(app)) == ["new world B"]


def test_failed_edit_changes_nothing_and_writes_no_event(editor, make_planet, app):
    planet_id = make_planet(name="New World b", mass_earth=300)
    editor.post(f"/admin/planet/edit/?id={planet_id}", data={**FORM, "mass_earth": "0"})
    assert _planets(app)["New World b"].mass_earth == 300
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.target_type == "planet")) == 0


def test_delete_and_bulk_delete_are_audited(editor, make_planet, app):
    first, second, third = (make_planet(name=n) for n in ("One b", "Two b", "Three b"))
    editor.post("/admin/planet/delete/", data={"id": first})
    editor.post("/admin/planet/action/", data={"action": "delete",
                                               "rowid": [str(second), str(third)]})
    assert _planets(app) == {}
    with app.app_context():
        deleted = db.session.scalars(select(AuditEvent.changes).where(
            AuditEvent.action == "planet.delete")).all()
        assert sorted(c["name"][0] for c in deleted) == ["One b", "Three b", "Two b"]
        assert all(c["name"][1] is None for c in deleted)


def test_search_filters_and_sorting(login_as, make_planet):
    client, _ = login_as("viewer")
    make_planet(name="Kepler-22 b", host_star="Kepler-22", planet_type="super_earth",
                discovery_year=2011, mass_earth=None)
    make_planet(name="51 Pegasi b", host_star="51 Pegasi", planet_type="gas_giant",
                discovery_year=1995, discovery_method="radial_velocity", mass_earth=150)
    page = client.get("/admin/planet/?search=kepler").get_data(as_text=True)
    assert "Kepler-22 b" in page and "51 Pegasi b" not in page
    page = client.get("/admin/planet/?search=51+peg").get_data(as_text=True)
    assert "51 Pegasi b" in page and "Kepler-22 b" not in page
    page = client.get("/admin/planet/?flt0_0=gas_giant").get_data(as_text=True)
    assert "51 Pegasi b" in page and "Kepler-22 b" not in page
    page = client.get("/admin/planet/?flt0_2=2000").get_data(as_text=True)  # after 2000
    assert "Kepler-22 b" in page and "51 Pegasi b" not in page
    for column in range(8):
        for direction in ("", "&desc=1"):
            assert client.get(f"/admin/planet/?sort={column}{direction}").status_code == 200
    ascending = client.get("/admin/planet/?sort=3").get_data(as_text=True)
    assert ascending.index("51 Pegasi b") < ascending.index("Kepler-22 b")


def _column(page: str, name: str) -> list[str]:
    """The cells of one column of a console list page, top to bottom."""
    return [html.unescape(cell) for cell in re.findall(rf'<td class="col-{name}">([^<]*)</td>',
                                                       page)]


@pytest.mark.parametrize(("sort", "names"), [
    ("", ["alpha b", "Proxima Centauri b", "PSR B1257+12 b"]),
    ("sort=0&desc=1", ["PSR B1257+12 b", "Proxima Centauri b", "alpha b"]),
    ("sort=2", ["Proxima Centauri b", "PSR B1257+12 b", "alpha b"]),  # by host star
])
def test_names_sort_ignoring_case(login_as, make_planet, sort, names):
    client, _ = login_as("viewer")
    make_planet(name="PSR B1257+12 b", host_star="PSR B1257+12")
    make_planet(name="Proxima Centauri b", host_star="Proxima Centauri")
    make_planet(name="alpha b", host_star="Zeta")
    assert _column(client.get(f"/admin/planet/?{sort}").get_data(as_text=True), "name") == names


def test_the_console_lists_names_in_the_order_of_the_catalog_and_the_api(login_as, client,
                                                                          make_planet):
    viewer, _ = login_as("viewer")
    for name in ("PSR B1257+12 b", "Proxima Centauri b", "alpha b", "Beta c", "beta b"):
        make_planet(name=name)
    console = _column(viewer.get("/admin/planet/").get_data(as_text=True), "name")
    api = [item["name"] for item in client.get("/api/planets?sort=name").get_json()["items"]]
    catalog = re.findall(r'href="/planets/\d+">([^<]+)</a>', client.get("/planets").get_data(
        as_text=True))
    assert console == api == catalog


@pytest.mark.parametrize(("sort", "key", "index"), [
    ("", "lower(planets.name)", "uq_planets_name_lower"),
    ("sort=0&desc=1", "lower(planets.name)", "uq_planets_name_lower"),
    ("sort=2", "lower(planets.host_star)", "ix_planets_host_star_lower"),
])
def test_sorts_ignoring_case_read_an_index_in_order(app, login_as, make_planet, sort, key,
                                                    index):
    client, _ = login_as("viewer")
    for number in range(3):
        make_planet(name=f"Planet {number}", host_star=f"Star {number}")
    plan = plan_of(app, client, f"/admin/planet/?{sort}", f"ORDER BY {key}")
    assert index in plan
    assert "TEMP B-TREE" not in plan and "Seq Scan" not in plan  # SQLite, PostgreSQL


def test_export_is_raw_values_and_neutralises_formulas(login_as, make_planet):
    client, _ = login_as("viewer")
    make_planet(name="=cmd|' /C calc'!A0", planet_type="gas_giant", mass_earth=2.5)
    response = client.get("/admin/planet/export/csv/")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=planets.csv"
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["name"].startswith("'=") and row["planet_type"] == "gas_giant"
    assert row["mass_earth"] == "2.5"


def test_export_honours_search_and_filters_and_imports_back(login_as, make_planet, runner,
                                                             tmp_path, app):
    client, _ = login_as("viewer")
    make_planet(name="Kepler-22 b", host_star="Kepler-22", planet_type="super_earth")
    make_planet(name="Kepler-90 h", host_star="Kepler-90", planet_type="gas_giant")
    make_planet(name="51 Pegasi b", host_star="51 Pegasi", planet_type="gas_giant")
    body = client.get("/admin/planet/export/csv/?search=kepler&flt0_0=gas_giant").get_data(
        as_text=True)
    assert [row["name"] for row in csv.DictReader(io.StringIO(body))] == ["Kepler-90 h"]
    everything = tmp_path / "all.csv"
    everything.write_text(client.get("/admin/planet/export/csv/").get_data(as_text=True))
    result = runner.invoke(import_planets_command, [str(everything)])
    assert result.exit_code == 0 and "0 added, 0 updated, 3 unchanged" in result.output


def test_export_of_other_formats_is_404(login_as):
    client, _ = login_as("viewer")
    assert client.get("/admin/planet/export/xlsx/").status_code == 404


def test_row_links_lead_to_each_rows_own_pages(editor, make_planet):
    import re

    ids = [make_planet(name=name) for name in ("Alpha b", "Beta b")]
    page = editor.get("/admin/planet/").get_data(as_text=True)
    for view in ("details", "edit"):
        links = re.findall(rf'href="(/admin/planet/{view}/\?[^"]+)"', page)
        assert sorted(int(re.search(r"id=(\d+)", link)[1]) for link in links) == sorted(ids)
        for link in links:
            response = editor.get(link.replace("&amp;", "&"))
            planet_id = int(re.search(r"id=(\d+)", link)[1])
            expected = b"Alpha b" if planet_id == ids[0] else b"Beta b"
            assert response.status_code == 200 and expected in response.data
