"""Pages show values as words: roles, statuses, audit actions and targets by name, numbers as
published (no 3000.0, no float noise), every time with its zone, "unknown" for a missing
discovery year and "in antiquity" only for the planets known since then, and what a Solar
System distance is. The JSON API keeps identifiers and raw values."""

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from console import labels
from console.admin import rows
from models import AuditEvent, MissionApplication, Planet, as_utc, db

SUN = {"host_star": "Sun", "discovery_method": "observation", "discovery_year": None}
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?")


@pytest.mark.parametrize(("value", "expected"), [
    (3000.0, "3000"),
    (1.17, "1.17"),
    (0.1 + 0.2, "0.3"),  # float noise
    (0.000157, "0.000157"),  # never 1.57e-04
    (1.5e-7, "0.00000015"),
    (1956.94, "1956.94"),
    (4332.589, "4332.589"),
    (1e15, "1000000000000000"),
    (-0.0, "0"),
    (2015, "2015"),
    (None, ""),
])
def test_numbers_read_as_published(value, expected):
    assert labels.number(value) == expected


@pytest.mark.parametrize(("show", "value", "expected"), [
    (labels.role_label, "member", "Member"),
    (labels.role_label, "admin", "Admin"),
    (labels.status_label, "approved", "Approved"),
    (labels.status_label, "withdrawn", "Withdrawn"),
    (labels.target_label, "mission_application", "Mission application"),
    (labels.target_label, "api_token", "API token"),
    (labels.action_label, "planet.delete", "Planet deleted"),
    (labels.action_label, "application.approve", "Application approved"),
    (labels.action_label, "user.role", "Role changed"),
    (labels.action_label, "some_new.thing_done", "Some new thing done"),  # unknown: humanised
    (labels.source_label, "cli", "Command line"),
    (labels.source_label, "site", "Member site"),
    (labels.job_kind_label, "planet_import", "Planet import"),
    (labels.field_label, "mass_earth", "Mass (Earth masses)"),
    (labels.field_label, "is_active", "Active"),
    (lambda value: labels.change_value(value, "planet_type"), "gas_giant", "Gas giant"),
    (lambda value: labels.change_value(value, "discovery_method"), "radial_velocity",
     "Radial velocity"),
    (lambda value: labels.change_value(value, "status"), "pending", "Pending"),
    (lambda value: labels.change_value(value, "is_active"), True, "Yes"),
    (lambda value: labels.change_value(value, "mass_earth"), 3000.0, "3000"),
    (lambda value: labels.change_value(value, "reviewed_at"),
     "2026-12-01T19:40:38.479512+00:00", "2026-12-01 19:40:38 UTC"),
    (lambda value: labels.change_value(value, "description"), "free text_kept", "free text_kept"),
])
def test_identifiers_read_as_words(show, value, expected):
    assert show(value) == expected


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 12, 1, 19, 40, 38), "2026-12-01 19:40 UTC"),  # SQLite's naive UTC
    (datetime(2026, 12, 1, 19, 40, tzinfo=UTC), "2026-12-01 19:40 UTC"),
    (datetime(2026, 12, 1, 21, 40, tzinfo=timezone(timedelta(hours=2))), "2026-12-01 19:40 UTC"),
    (None, ""),
])
def test_times_are_shown_in_utc_with_their_zone(moment, expected):
    assert labels.utc_time(moment) == expected


def test_the_one_naive_to_utc_helper():
    assert as_utc(datetime(2026, 1, 2, 3, 4)) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    eastern = datetime(2026, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=-5)))
    assert as_utc(eastern).tzinfo is UTC and as_utc(eastern) == eastern


def _recorded_actions() -> set[str]:
    """The audit actions the code records, read from its source: every "kind.verb" text of
    the kinds of record (endpoints and column names aside)."""
    source = "\n".join(path.read_text() for path in Path("console").rglob("*.py"))
    literal = r'"((?:application|job|login|planet|session|token|two_factor|user)\.[a-z_]+)"'
    found = {name for name in re.findall(literal, source)
             if not name.endswith("_view") and name not in ("planet.name", "user.username")}
    return found | {"login", "logout", "application.approve", "application.reject"}


def test_every_audit_action_the_code_records_has_a_label():
    actions = _recorded_actions()
    assert {"planet.delete", "user.create", "login"} <= actions  # the scan finds them
    assert actions - labels.ACTION_LABELS.keys() == set()


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def decided(app, login_as, make_planet):
    """An approved application of member ada for Jupiter, decided by admin root in the
    console; returns (admin client, member client, application id)."""
    make_planet(name="Jupiter", planet_type="gas_giant", **SUN)
    member, _ = login_as(username="ada")
    member.post("/mission-application", data={"planet": "Jupiter",
                                               "motivation": "To see the Great Red Spot."})
    with app.app_context():
        application_id = db.session.scalar(select(MissionApplication.id))
    admin, root = login_as("admin", username="root")
    admin.post("/admin/application/review/", data={"decision": "approve",
                                                   "id": str(application_id)})
    admin.user_id = root.id
    return admin, member, application_id


def _cells(page: str, column: str) -> list[str]:
    return [cell.strip() for cell in re.findall(rf'<td class="col-{column}">(.*?)</td>', page,
                                                re.S)]


def test_the_console_shows_an_applications_status_as_a_word(decided):
    admin, _, application_id = decided
    listed = admin.get("/admin/application/").get_data(as_text=True)
    assert _cells(listed, "status") == ["Approved"]
    details = admin.get(f"/admin/application/details/?id={application_id}").get_data(
        as_text=True)
    assert re.search(r"<td>\s*Approved\s*</td>", details)
    assert "Application approved by root, from the Console" in details
    assert not re.search(r">\s*approved\s*<", listed + details)


def test_the_audit_log_names_actions_targets_and_sources_in_words(decided, make_planet):
    admin, _, _ = decided
    admin.post("/admin/planet/delete/", data={"id": make_planet(name="Gone b")})
    page = admin.get("/admin/audit/").get_data(as_text=True)
    assert _cells(page, "action")[:2] == ["Planet deleted", "Application approved"]
    assert "Application submitted" in _cells(page, "action")
    assert "Mission application" in _cells(page, "target_type")
    assert {"Console", "Member site"} <= set(_cells(page, "via"))
    cells = " ".join(_cells(page, "action") + _cells(page, "target_type") + _cells(page, "via"))
    assert not re.search(r"\b[a-z_]+\.[a-z_]+\b|mission_application|\bconsole\b", cells)
    # The filters offer the words too, for the identifiers they filter by.
    assert '["planet.delete", "Planet deleted"]' in page


def test_an_audit_events_changes_are_listed_in_words(decided, app):
    admin, _, application_id = decided
    with app.app_context():
        event_id = db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "application.approve"))
    page = admin.get(f"/admin/audit/details/?id={event_id}").get_data(as_text=True)
    assert '<span class="font-weight-bold">Status</span>: Pending → Approved' in page
    assert re.search(r"Reviewed</span>: — → \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)
    assert "[before, after]" not in page and '"status"' not in page


def test_the_console_home_and_history_show_changes_in_words(decided, login_as):
    admin, _, application_id = decided
    home = admin.get("/admin/").get_data(as_text=True)
    assert "<td>Application approved</td>" in home and "Mission application " in home
    assert re.search(r"Member\s*</span><strong>", home)  # users by role
    history = admin.get(f"/admin/application/history/?id={application_id}").get_data(
        as_text=True)
    assert '<th scope="row">Status</th><td>Pending</td><td>Approved</td>' in history


def test_roles_read_as_words_on_the_dashboard_and_in_the_console(decided, app):
    admin, member, _ = decided
    dashboard = member.get("/").get_data(as_text=True)
    assert re.search(r'<span class="badge badge-role badge-member">Member</span>', dashboard)
    assert re.search(r'<span class="badge status-approved">Approved</span>', dashboard)
    users = admin.get("/admin/user/").get_data(as_text=True)
    assert sorted(_cells(users, "role")) == ["Admin", "Member"]
    assert '["editor", "Editor"]' in users  # the role filter's options


def test_a_planet_without_a_discovery_year_is_unknown_and_antiquity_is_for_five_planets(
        client, make_planet, login_as):
    exoplanet = make_planet(name="Nameless b", discovery_year=None)
    jupiter = make_planet(name="Jupiter", planet_type="gas_giant", **SUN)
    uranus = make_planet(name="Uranus", planet_type="ice_giant", **{**SUN, "discovery_year": 1781})
    haumea = make_planet(name="Haumea", planet_type="dwarf", **SUN)  # a year the catalog lacks

    def discovered(planet_id: int) -> str:
        page = client.get(f"/planets/{planet_id}").get_data(as_text=True)
        return re.search(r"<dt[^>]*>Discovered</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)[1]

    assert "unknown" in discovered(exoplanet) and "antiquity" not in discovered(exoplanet)
    assert discovered(jupiter) == "in antiquity"
    assert discovered(uranus) == "1781"
    assert "unknown" in discovered(haumea)
    catalog = client.get("/planets").get_data(as_text=True)
    assert catalog.count("in antiquity") == 1
    admin, _ = login_as("admin")
    listed = admin.get("/admin/planet/").get_data(as_text=True)
    assert sorted(_cells(listed, "discovery_year")) == ["1781", "in antiquity", "unknown",
                                                        "unknown"]


def test_solar_system_distances_say_what_they_are(client, make_planet, login_as):
    jupiter = make_planet(name="Jupiter", planet_type="gas_giant", semi_major_axis_au=5.203, **SUN)
    page = client.get(f"/planets/{jupiter}").get_data(as_text=True)
    distance = re.search(r"<dt[^>]*>Distance from the Sun</dt>\s*<dd[^>]*>(.*?)</dd>", page,
                         re.S)[1]
    assert distance == "In the Solar System: 5.203 AU on average (its semi-major axis)"
    assert "in the Solar System" in client.get("/planets").get_data(as_text=True)
    admin, _ = login_as("admin")
    assert _cells(admin.get("/admin/planet/").get_data(as_text=True), "distance_ly") == [
        "in the Solar System"]


def test_numbers_show_without_float_noise_on_the_site_and_in_the_console(client, make_planet,
                                                                          login_as, app):
    planet_id = make_planet(name="Heavy b", mass_earth=3000.0, radius_earth=1.17,
                            distance_ly=1956.94, equilibrium_temp_k=279.0)
    with app.app_context():
        db.session.get(Planet, planet_id).orbital_period_days = 0.1 + 0.2  # noise, stored
        db.session.commit()
    page = client.get(f"/planets/{planet_id}").get_data(as_text=True)
    for shown in ("3000 Earth masses", "1.17 Earth radii", "0.3 days", "1956.94 light years",
                  "279 K"):
        assert shown in page
    catalog = client.get("/planets").get_data(as_text=True)
    assert "<td class=\"text-right\">3000</td>" in catalog and "1956.94" in catalog
    admin, _ = login_as("admin")
    listed = admin.get("/admin/planet/").get_data(as_text=True)
    assert _cells(listed, "mass_earth") == ["3000"]
    details = admin.get(f"/admin/planet/details/?id={planet_id}").get_data(as_text=True)
    for html in (page, catalog, listed, details):
        shown = re.sub(r"<script.*?</script>|<link[^>]*>", "", html, flags=re.S)
        assert not re.search(r"\d\.0\b|0000000000", shown)
    assert re.search(r"<td>\s*0\.3\s*</td>", details)
    assert client.get(f"/api/planets/{planet_id}").get_json()["mass_earth"] == 3000.0  # raw


def test_each_console_list_cell_is_what_flask_admin_would_show(decided, app, make_planet):
    """The rows' writer (console/admin/rows.py) looks up a column's formatter, path and
    choices once per page; every cell still shows what Flask-Admin's get_list_value gives."""
    make_planet(name="Heavy b", mass_earth=3000.0, radius_earth=None, distance_ly=1956.94)
    with app.test_request_context("/admin/"):
        listed = set()
        for view in app.extensions["admin"][0]._views:
            if not getattr(view, "_list_columns", None):
                continue
            records = db.session.scalars(select(view.model)).all()
            for name, _ in view._list_columns:
                read = rows.cell_reader(view, None, name)
                for record in records:
                    assert read(record) == view.get_list_value(None, record, name), (
                        view.endpoint, name)
            listed |= {view.endpoint} if records else set()
    assert {"planet", "user", "application", "audit", "job"} <= listed


@pytest.mark.parametrize("url", ["/admin/application/", "/admin/application/details/?id={id}",
                                 "/admin/audit/", "/admin/user/", "/admin/user/details/?id={user}",
                                 "/admin/job/", "/admin/", "/admin/application/history/?id={id}"])
def test_every_time_in_the_console_shows_its_zone(decided, url):
    admin, _, application_id = decided
    page = admin.get(url.format(id=application_id, user=admin.user_id)).get_data(as_text=True)
    times = [match.end() for match in TIME.finditer(page)]
    assert times, "no time on the page"
    assert all(page[end:end + 4] == " UTC" for end in times), url


def test_every_time_on_the_member_pages_shows_its_zone(decided):
    _, member, _ = decided
    for url in ("/", "/account"):
        page = member.get(url).get_data(as_text=True)
        times = list(re.finditer(r"\d\d \w{3} \d{4}, \d\d:\d\d", page))
        assert times and all(page[m.end():m.end() + 4] == " UTC" for m in times), url
