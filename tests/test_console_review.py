"""Reviewing applications, reading the audit log, and CSRF on every console POST."""

import re

import pytest
from sqlalchemy import event, func, select

from models import AuditEvent, MissionApplication, Planet, User, db
from tests.conftest import csrf_token_from
from tests.plans import plan_of


@pytest.fixture
def applications(app, make_user, make_planet):
    member = make_user("ada")
    ids = []
    with app.app_context():
        for name in ("One b", "Two b", "Three b"):
            planet = db.session.get(Planet, make_planet(name=name))
            application = MissionApplication(applicant_id=member.id, planet_id=planet.id,
                                             motivation=f"To {name}.")
            db.session.add(application)
            db.session.commit()
            ids.append(application.id)
    return ids


def _statuses(app):
    with app.app_context():
        rows = db.session.execute(select(MissionApplication.id, MissionApplication.status,
                                         MissionApplication.reviewed_by_id)).all()
        return {row.id: (row.status, row.reviewed_by_id) for row in rows}


def test_bulk_approve_records_reviewer_and_audits(login_as, applications, app):
    client, editor = login_as("editor", username="eddie")
    confirmation = client.post("/admin/application/action/", data={
        "action": "approve", "rowid": [str(i) for i in applications[:2]]})
    assert "Approve 2 applications</button>" in confirmation.get_data(as_text=True)
    assert _statuses(app)[applications[0]] == ("pending", None)  # nothing until confirmed
    response = client.post("/admin/application/review/", data={
        "decision": "approve", "id": [str(i) for i in applications[:2]]}, follow_redirects=True)
    assert "2 application(s) approved." in response.get_data(as_text=True)
    statuses = _statuses(app)
    assert statuses[applications[0]] == ("approved", editor.id)
    assert statuses[applications[2]] == ("pending", None)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "application.approve")).all()
        assert len(events) == 2 and all(e.actor_username == "eddie" for e in events)


def test_review_leaves_decided_applications_unchanged(login_as, applications, app):
    client, editor = login_as("editor")
    client.post("/admin/application/review/", data={
        "decision": "reject", "id": [str(applications[0])], "review_note": "Not now."})
    response = client.post("/admin/application/review/", data={
        "decision": "approve", "id": [str(i) for i in applications]}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 application(s) approved." in page
    assert "1 application(s) were no longer pending and were left unchanged." in page
    assert _statuses(app)[applications[0]] == ("rejected", editor.id)


def test_applications_filter_by_status_and_details(login_as, applications):
    client, _ = login_as("viewer")
    details = client.get(f"/admin/application/details/?id={applications[0]}")
    assert details.status_code == 200 and b"To One b." in details.data
    assert b"One b" in client.get("/admin/application/?flt0_0=pending").data
    assert b"One b" not in client.get("/admin/application/?flt0_0=approved").data


@pytest.fixture
def two_applicants(app, make_user, make_planet):
    """alice applies to PSR B1257+12 b, Bob to Proxima Centauri b."""
    with app.app_context():
        for username, planet in (("alice", "PSR B1257+12 b"), ("Bob", "Proxima Centauri b")):
            db.session.add(MissionApplication(applicant_id=make_user(username).id,
                                              planet_id=make_planet(name=planet),
                                              motivation="To see it."))
        db.session.commit()


def _applicants(page: str) -> list[str]:
    return re.findall(r'<td class="col-applicant.username">([^<]*)</td>', page)


@pytest.mark.parametrize(("sort", "applicants"), [
    ("sort=0", ["alice", "Bob"]),
    ("sort=0&desc=1", ["Bob", "alice"]),
    ("sort=1", ["Bob", "alice"]),  # by planet: Proxima Centauri b, PSR B1257+12 b
])
def test_applications_sort_by_applicant_and_planet_ignoring_case(login_as, two_applicants,
                                                                 sort, applicants):
    client, _ = login_as("viewer")
    assert _applicants(client.get(f"/admin/application/?{sort}").get_data(as_text=True)) == \
        applicants


@pytest.mark.parametrize(("filters", "applicants"), [
    ({"flt0_1": "proxima CENTAURI b"}, ["Bob"]),  # the planet filter
    ({"flt0_1": " PSR b1257+12 B "}, ["alice"]),
    ({"flt0_1": "Proxima"}, []),  # equals, not starts with
    ({"flt0_2": "bob"}, ["Bob"]),  # the applicant filter
    ({"flt0_2": "ALICE"}, ["alice"]),
])
def test_applications_filter_by_planet_and_applicant_ignoring_case(login_as, two_applicants,
                                                                   filters, applicants):
    client, _ = login_as("viewer")
    page = client.get("/admin/application/", query_string=filters).get_data(as_text=True)
    assert _applicants(page) == applicants


def test_audit_log_is_newest_first_and_filterable(login_as, make_planet):
    client, _ = login_as("admin", username="root")
    client.post("/admin/planet/delete/", data={"id": make_planet()})
    actions = _audit_column(client.get("/admin/audit/").get_data(as_text=True), "action")
    assert actions.index("Planet deleted") < actions.index("User created")  # newest first
    filtered = client.get("/admin/audit/?flt0_0=planet").get_data(as_text=True)
    assert _audit_column(filtered, "action") == ["Planet deleted"]


def _audit_column(page: str, column: str) -> list[str]:
    """The cells of one column of the audit log's list, top to bottom."""
    return re.findall(rf'<td class="col-{column}">(.*?)</td>', page)


def test_audit_log_cannot_be_changed_by_anyone(login_as, app):
    client, _ = login_as("admin")
    with app.app_context():
        event_id = db.session.scalar(select(AuditEvent.id))
    assert client.post("/admin/audit/delete/", data={"id": event_id}).status_code == 403
    assert client.get(f"/admin/audit/edit/?id={event_id}").status_code == 403
    assert client.post("/admin/audit/new/", data={"action": "forged"}).status_code == 403


def test_console_home_shows_the_figures_and_the_chart(login_as, make_planet, applications):
    client, _ = login_as("admin")
    make_planet(name="Old b", discovery_year=1995)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Pending applications" in page and '<p class="display-4 mb-0">3</p>' in page
    assert "<svg" in page and "1995: 1" in page and "2015: 3" in page
    assert "Recent changes" in page and "The whole audit log" in page


def _gas_giants(page: str) -> str:
    return re.search(r"<span>Gas giant</span><strong>([\d,]+)</strong>", page)[1]


def test_console_home_counts_at_most_once_per_period_and_says_when(app, login_as, make_planet):
    client, _ = login_as("admin")
    make_planet(name="One b", planet_type="gas_giant")
    with app.app_context():
        engine = db.engine
    counts = []

    def count(connection, cursor, statement, *args) -> None:
        if "GROUP BY" in statement:
            counts.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = client.get("/admin/").get_data(as_text=True)
        assert _gas_giants(first) == "1" and len(counts) == 4  # roles, active, types, years
        when = re.search(r'Figures as of <time datetime="[^"]+Z">\d\d:\d\d:\d\d UTC</time>',
                         first)
        assert when and "counted again when 60 seconds old" in first

        make_planet(name="Two b", planet_type="gas_giant")
        again = client.get("/admin/").get_data(as_text=True)
        assert _gas_giants(again) == "1" and len(counts) == 4  # counted less than 60 s ago
        assert when[0] in again

        app.extensions["admin"][0].index_view.figures.seconds = 0  # as if a minute had passed
        assert _gas_giants(client.get("/admin/").get_data(as_text=True)) == "2"
        assert len(counts) == 8
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_console_home_counts_again_once_the_cache_is_cleared(app, login_as, make_planet):
    client, _ = login_as("admin")
    client.get("/admin/")
    make_planet(name="One b", planet_type="gas_giant")
    app.extensions["admin"][0].index_view.figures.clear()
    assert _gas_giants(client.get("/admin/").get_data(as_text=True)) == "1"


def test_console_home_shows_changes_at_once_while_its_figures_are_cached(login_as,
                                                                         make_planet):
    client, _ = login_as("admin")
    client.get("/admin/")
    client.post("/admin/planet/delete/", data={"id": make_planet(name="Gone b")})
    assert "Planet deleted" in client.get("/admin/").get_data(as_text=True)


def test_console_home_reads_the_recent_changes_newest_first_by_id(app, login_as):
    client, _ = login_as("admin")
    plan = plan_of(app, client, "/admin/", "FROM audit_events")
    # Not every event of the readable kinds through their index, then sorted.
    assert plan == "SCAN audit_events" or "Index Scan Backward using pk_audit_events" in plan
    assert "Sort" not in plan


def test_console_home_links_the_audit_log_for_admins_only(login_as):
    client, _ = login_as("editor")
    assert "The whole audit log" not in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
class TestConsoleCSRF:
    def _admin(self, app, make_user):
        make_user("root", role="admin")
        client = app.test_client()
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": "root",
                                    "password": "correct horse battery"})
        return client

    @pytest.mark.parametrize(
        ("path", "data"),
        [
            ("/admin/planet/new/", {"name": "Forged b", "planet_type": "gas_giant",
                                    "host_star": "F", "discovery_method": "transit"}),
            ("/admin/planet/delete/", {"id": "{planet}"}),
            ("/admin/planet/action/", {"action": "delete", "rowid": "{planet}"}),
            ("/admin/user/action/", {"action": "deactivate", "rowid": "{user}"}),
            ("/admin/user/edit/?id={user}", {"username": "victim", "email": "x@example.com",
                                             "role": "admin", "is_active": "y"}),
        ],
    )
    def test_console_posts_without_token_are_refused(self, app, make_user, make_planet, path,
                                                     data):
        client = self._admin(app, make_user)
        victim = make_user("victim")
        planet = make_planet(name="Target b")
        fill = {"planet": planet, "user": victim.id}
        response = client.post(path.format(**fill),
                               data={k: v.format(**fill) for k, v in data.items()})
        assert response.status_code == 400
        with app.app_context():
            assert db.session.get(Planet, planet) is not None
            assert Planet.find_by_name("Forged b") is None
            stored = db.session.get(User, victim.id)
            assert stored.is_active and stored.role == "member"

    def test_console_forms_carry_a_token(self, app, make_user, make_planet):
        client = self._admin(app, make_user)
        make_planet()
        for path in ("/admin/planet/new/", "/admin/planet/", "/admin/user/"):
            assert 'name="csrf_token"' in client.get(path).get_data(as_text=True), path
        page = client.get("/admin/planet/new/").get_data(as_text=True)
        form = {"csrf_token": csrf_token_from(page), "name": "Real b",
                "planet_type": "gas_giant", "host_star": "R", "discovery_method": "transit"}
        assert client.post("/admin/planet/new/", data=form).status_code == 302
        with app.app_context():
            assert db.session.scalar(select(func.count(Planet.id))) == 2


def test_discoveries_chart_draws_recent_years_and_counts_older_ones():
    from console.admin.dashboard import discoveries_chart

    chart = discoveries_chart({1781: 1, 1995: 2, 1997: 4}, span=3)
    assert [(bar.year, bar.count) for bar in chart.bars] == [(1995, 2), (1996, 0), (1997, 4)]
    assert chart.earlier == 1 and chart.max_count == 4
    assert chart.bars[2].height == chart.height - 20 and chart.bars[1].height == 0
    assert discoveries_chart({}).bars == []


def test_admin_revokes_someones_token_in_the_console(login_as, make_user, app):
    from console.services import api_tokens as tokens

    editor = make_user("eddie", role="editor")
    with app.app_context():
        token, secret = tokens.create_token(db.session.get(User, editor.id), "deploy script")
        token_id = token.id
    client, _ = login_as("admin", username="root")
    page = client.get("/admin/token/").get_data(as_text=True)
    assert "deploy script" in page and secret not in page
    response = client.post("/admin/token/action/", data={"action": "revoke",
                                                          "rowid": str(token_id)},
                           follow_redirects=True)
    assert "1 token(s) revoked." in response.get_data(as_text=True)
    with app.app_context():
        assert tokens.authenticate(secret) is None
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "token.revoke")).one()
        assert event.actor_username == "root" and event.via == "console"


def test_audit_list_shows_minutes_and_names_actorless_events(login_as, runner, make_user):
    import re

    from console.cli import set_role_command

    make_user("ada")
    runner.invoke(set_role_command, ["ada", "viewer"])
    client, _ = login_as("admin", username="root")
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\s*<", page)
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", page)
    assert ("no one logged in", "Command line") in zip(_audit_column(page, "actor_username"),
                                                       _audit_column(page, "via"), strict=True)
