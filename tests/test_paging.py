"""Previous/next links by cursor (console.paging) walk every list in its order, each row once,
on the API, the catalog page and the console; pages by number stop at MAX_OFFSET rows."""

import base64
import html
import json
import re
import time
from datetime import UTC, datetime

import pytest
from flask import url_for
from sqlalchemy import event, text

from console.admin.applications import ApplicationView
from console.admin.audit_log import AuditView
from console.admin.users import UserView
from console.paging import MAX_OFFSET
from console.services import applications
from console.services.planets import load_synthetic
from models import ApplicationStatus, MissionApplication, Planet, User, db
from tests.plans import plan_of

# Masses with NULLs and ties, types with long runs of equal values: the hard cases of keyset
# paging. Names sort ignoring case, and "beta" sits among capitalised names on purpose.
MASSES = [None, 1.0, 3.5, None, 1.0, 0.2, 1.0, None, 7.0, 3.5, 0.5, 1.0, None, 2.0]
TYPES = ["gas_giant", "terrestrial", "gas_giant"]


@pytest.fixture
def planets(make_planet) -> list[int]:
    return [make_planet(name=name, mass_earth=mass, planet_type=TYPES[number % 3],
                        discovery_year=None if number % 4 == 0 else 1990 + number % 5)
            for number, (name, mass) in enumerate(
                (f"Planet {number:02d}" if number != 6 else "beta", mass)
                for number, mass in enumerate(MASSES))]


def _ids(body: dict) -> list[int]:
    return [item["id"] for item in body["items"]]


@pytest.mark.parametrize("sort", ["name", "-name", "mass_earth", "-mass_earth", "planet_type",
                                  "-planet_type", "discovery_year", "-discovery_year"])
def test_api_next_links_walk_the_whole_list_in_order(client, planets, sort):
    whole = _ids(client.get(f"/api/planets?per_page=100&sort={sort}").get_json())
    walked, url, pages = [], f"/api/planets?per_page=3&sort={sort}", 0
    while url:
        body = client.get(url).get_json()
        walked += _ids(body)
        pages += 1
        assert body["page"] == pages
        url = body["next"]
    assert sorted(whole) == sorted(planets)
    assert walked == whole


def test_api_next_link_survives_the_deletion_of_its_row(client, app, planets):
    first = client.get("/api/planets?per_page=3").get_json()
    with app.app_context():
        db.session.delete(db.session.get(Planet, first["items"][-1]["id"]))
        db.session.commit()
    following = client.get(first["next"]).get_json()
    whole = _ids(client.get("/api/planets?per_page=100").get_json())
    assert _ids(following) == whole[2:5]


def _cursor(*payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "not a cursor",
    "%%%",
    _cursor("mass_earth", 1.0, 5),  # made for another sort order
    _cursor("name", 1.0, 5),  # a number where the name is text
    _cursor("name", "x", "5"),
    _cursor("name", "x", 0),
    _cursor("name", "x", 2**80),
    _cursor("name", "x"),
    _cursor("name", "\ud800", 5),  # a lone surrogate
    _cursor("name", "a\x00b", 5),
    _cursor(["name"], "x", 5),
    base64.urlsafe_b64encode(b'["-mass_earth", NaN, 5]').decode(),
    "x" * 3000,
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_api_refuses_a_cursor_it_did_not_make(client, planets, cursor):
    response = client.get("/api/planets", query_string={"after": cursor})
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == ["after"]


def test_api_cursor_of_another_sort_says_so(client, planets):
    cursor = _cursor("mass_earth", 1.0, 5)
    body = client.get("/api/planets", query_string={"after": cursor}).get_json()
    assert body["error"]["fields"]["after"] == [
        "belongs to another sort order; start again from the first page"]


@pytest.fixture
def many_planets(app) -> None:
    with app.app_context():
        load_synthetic(MAX_OFFSET + 30)


def test_pages_by_number_stop_at_max_offset_and_next_links_go_on(client, many_planets):
    last_numbered = MAX_OFFSET // 25  # 25 per page: its first row is row MAX_OFFSET - 24
    response = client.get(f"/api/planets?page={last_numbered + 1}")
    assert response.status_code == 400
    assert "follow the next links" in response.get_json()["error"]["fields"]["page"][0]
    body = client.get(f"/api/planets?page={last_numbered}").get_json()
    following = client.get(body["next"]).get_json()
    assert following["page"] == last_numbered + 1 and len(following["items"]) == 25
    assert following["items"][0]["name"] > body["items"][-1]["name"]
    assert client.get(f"/planets?page={last_numbered + 1}").status_code == 400
    assert client.get(f"/planets?page={last_numbered}").status_code == 200


@pytest.mark.parametrize("url", ["/api/planets?page=3&per_page=5", "/planets?page=3"])
def test_a_page_by_number_skips_its_rows_in_the_listed_index_alone(app, client, many_planets,
                                                                   url):
    """Its ids first, from ix_planets_listed without reading the table (which would be a read
    of the table for every row skipped), then its rows by id."""
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        if not sqlite:
            _vacuumed()
    # On a small table an incremental sort of the unique name index, reading the table, can
    # look as cheap; at a million rows it is not (make bench).
    ids_plan = plan_of(app, client, url, "OFFSET", postgresql_off=("seqscan", "incremental_sort"))
    if sqlite:  # SQLite 3.40 reads the name for lower(name) from the table: rows skipped by id
        assert "LIST SUBQUERY 1 SCAN planets USING INDEX ix_planets_listed" in ids_plan, ids_plan
    else:
        assert "Index Only Scan using ix_planets_listed" in ids_plan, ids_plan


def _vacuumed() -> None:
    """VACUUM (ANALYZE) the planets, as autovacuum does after so many inserts: the planner knows
    the rows, and every page is marked all-visible, which an index-only scan needs (again while
    a transaction elsewhere still sees the table as it was before the inserts)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for _ in range(50):
            connection.execute(text("VACUUM (ANALYZE) planets"))
            pages, visible = connection.execute(text(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'planets'::regclass"
            )).one()
            if visible >= pages:
                return
            time.sleep(0.2)


# --- the catalog page and the console: previous and next links in HTML -----------------------


def _link(page: str, label: str) -> str | None:
    match = re.search(rf'<a class="page-link" href="([^"#]+)"[^>]*>[^<]*{label}', page)
    return html.unescape(match.group(1)) if match else None


def _walk(client, url: str, names) -> list[list[str]]:
    """The pages from `url` by Next links, then back by Previous links: (forward, backward)."""
    forward, backward = [], []
    while url:
        page = client.get(url).get_data(as_text=True)
        forward.append(names(page))
        last, url = page, _link(page, "Next")
    url = _link(last, "Previous")
    while url:
        page = client.get(url).get_data(as_text=True)
        backward.append(names(page))
        url = _link(page, "Previous")
    return forward, backward


def _catalog_names(page: str) -> list[str]:
    return re.findall(r'href="/planets/\d+">([^<]+)</a>', page)


def test_catalog_next_and_previous_links_walk_every_page(client, app, planets, monkeypatch):
    monkeypatch.setattr("console.site.views.PLANETS_PER_PAGE", 4)
    forward, backward = _walk(client, "/planets", _catalog_names)
    with app.app_context():
        everything = sorted((planet.name for planet in db.session.scalars(db.select(Planet))),
                            key=str.lower)
    assert [name for page in forward for name in page] == everything
    assert len(forward) == 4 and backward == forward[-2::-1]


@pytest.mark.parametrize("cursor", ["not a cursor", _cursor("-name", "x", 5)])
def test_catalog_refuses_a_cursor_it_did_not_make(client, planets, cursor):
    assert client.get("/planets", query_string={"after": cursor}).status_code == 400
    assert client.get("/planets", query_string={"before": cursor}).status_code == 400


def _console_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/admin/planet/details/\?(?:[^"]*&amp;)?id=(\d+)"',
                                         page)]


# Console sort arguments: the column's place in the list, and desc=1.
@pytest.mark.parametrize("sort", ["", "sort=1", "sort=1&desc=1", "sort=5", "sort=5&desc=1",
                                  "sort=3"])
def test_console_pager_walks_every_row_once_in_order(login_as, app, planets, monkeypatch,
                                                     sort):
    client, _ = login_as("viewer")
    monkeypatch.setattr("console.admin.planets.PlanetView.page_size", 4)
    forward, backward = _walk(client, f"/admin/planet/?{sort}", _console_ids)
    monkeypatch.setattr("console.admin.planets.PlanetView.page_size", 100)
    whole = _console_ids(client.get(f"/admin/planet/?{sort}").get_data(as_text=True))
    assert sorted(whole) == sorted(planets)
    assert [pk for page in forward for pk in page] == whole
    assert backward == forward[-2::-1]


def test_console_links_to_other_lists_drop_the_cursor(login_as, planets, monkeypatch):
    client, _ = login_as("editor")
    monkeypatch.setattr("console.admin.planets.PlanetView.page_size", 4)
    second = _link(client.get("/admin/planet/").get_data(as_text=True), "Next")
    assert "after=" in second and "page=1" in second
    page = html.unescape(client.get(second).get_data(as_text=True))
    sort_links = re.findall(r'href="(/admin/planet/\?[^"]*sort=[^"]*)"', page)
    assert sort_links and not any("after=" in link or "page=" in link for link in sort_links)
    assert 'name="after"' not in page  # no hidden field of the search and filter forms
    # The way back from a record's edit page is this very page, cursor and all.
    edit_links = re.findall(r'href="(/admin/planet/edit/\?[^"]*)"', page)
    assert edit_links and all("after%3D" in link for link in edit_links)


@pytest.mark.parametrize("arguments", [
    {}, {"page": None, "sort": 2, "desc": 1, "page_size": 20},
    {"search": "kepler 452 & co/ä", "flt0_0": "gas_giant", "flt1_3": "1990"},
    {"search": "100%_'\"!$()*,:;?@+=#"}, {"page": 3, "sort": 0, "desc": None, "search": ""},
])
def test_console_list_links_are_what_url_for_makes(app, arguments):
    from console.admin.planets import PlanetView

    (view,) = [view for view in app.extensions["admin"][0]._views
               if isinstance(view, PlanetView)]
    with app.test_request_context("/admin/planet/"):
        assert view.get_url(".index_view", **arguments) == url_for("planet.index_view",
                                                                    **arguments)
        assert view.get_url(".edit_view", id=3) == url_for("planet.edit_view", id=3)


@pytest.mark.parametrize("query", ["after=not-a-cursor", f"before={_cursor('x', 1, 5)}",
                                   f"page={MAX_OFFSET // 20}"])
def test_console_refuses_bad_cursors_and_pages_past_max_offset(login_as, planets, query):
    client, _ = login_as("viewer")
    assert client.get(f"/admin/planet/?{query}").status_code == 400


@pytest.fixture
def staff_lists(app, make_user, planets) -> None:
    """Members with ties and NULLs in last_login_at and is_active, their applications with ties
    in status, and the audit events all of that wrote."""
    logins = [None, "2026-01-02 03:04:05", None, "2026-01-02 03:04:05", "2025-06-01 00:00:00"]
    members = [make_user(f"member{number:02d}", is_active=number % 3 != 0)
               for number in range(13)]
    reviewer_id = make_user("reviewer", role="editor").id
    with app.app_context():
        planet_list = db.session.scalars(db.select(Planet).order_by(Planet.id)).all()
        reviewer = db.session.get(User, reviewer_id)
        for number, member in enumerate(members):
            user = db.session.get(User, member.id)
            login = logins[number % len(logins)]
            user.last_login_at = login and datetime.fromisoformat(login).replace(tzinfo=UTC)
            application = applications.submit(user, planet_list[number % 4], "To see it.")
            if number % 2:
                applications.review([application], reviewer, ApplicationStatus.APPROVED)


# (view, its sort arguments): users by a boolean and by a nullable time, applications by a
# column of another table (the applicant's name) and by status, the audit log by time.
STAFF_SORTS = [("user", "sort=3"), ("user", "sort=5"), ("user", "sort=5&desc=1"),
               ("application", "sort=0"), ("application", "sort=2&desc=1"), ("application", ""),
               ("audit", ""), ("audit", "sort=2")]


@pytest.mark.parametrize(("view", "sort"), STAFF_SORTS)
def test_staff_list_pagers_walk_every_row_once_in_order(login_as, staff_lists, monkeypatch,
                                                        view, sort):
    client, _ = login_as("admin")
    view_class = {"user": UserView, "application": ApplicationView, "audit": AuditView}[view]

    def ids(page: str) -> list[int]:
        return [int(pk) for pk in re.findall(
            rf'href="/admin/{view}/details/\?(?:[^"]*&amp;)?id=(\d+)"', page)]

    monkeypatch.setattr(view_class, "page_size", 4)
    forward, backward = _walk(client, f"/admin/{view}/?{sort}", ids)
    monkeypatch.setattr(view_class, "page_size", 100)
    whole = ids(client.get(f"/admin/{view}/?{sort}").get_data(as_text=True))
    assert len(whole) >= 13 and len(forward) >= 4
    assert [pk for page in forward for pk in page] == whole
    assert backward == forward[-2::-1]



@pytest.mark.parametrize("url", ["/admin/application/", "/admin/application/?sort=0"])
def test_console_lists_read_the_related_records_with_their_rows(app, login_as, make_user,
                                                                make_planet, url):
    """A column of a related record (the applicant's name, the planet's) is read with the
    page's rows, not by a query per row: a page of 13 rows takes no more statements than a
    page of one."""
    client, _ = login_as("admin")

    def add_rows(count: int) -> None:
        for _ in range(count):
            applicant = make_user()
            with app.app_context():
                db.session.add(MissionApplication(applicant_id=applicant.id,
                                                  planet_id=make_planet(),
                                                  motivation="To see it."))
                db.session.commit()

    def statements() -> int:
        with app.app_context():
            engine = db.engine
        seen = []

        def count(*_) -> None:
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    add_rows(1)
    one = statements()
    add_rows(12)
    assert statements() == one
