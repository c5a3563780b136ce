"""Who may do what in the console: every actor against every endpoint of every view.

The expected status is derived from the permission table in console/security.py AND written
out by hand below; the two must agree, so a wrong table cannot pass by agreeing with itself.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from console.admin.applications import ApplicationView
from console.admin.audit_log import AuditView
from console.admin.planets import PlanetView
from console.admin.tokens import TokenView
from console.admin.users import UserView
from console.security import Permission, role_allows
from models import ApiToken, AuditEvent, MissionApplication, Planet, User, db
from tests.conftest import PASSWORD, AuthActions

ACTORS = ["anonymous", "member", "viewer", "editor", "admin", "inactive admin"]
OPERATIONS = ["list", "details", "new GET", "new POST", "edit GET", "edit POST", "delete POST",
              "export", "action POST"]
VIEWS = {"user": UserView, "planet": PlanetView, "application": ApplicationView,
         "token": TokenView, "audit": AuditView}
ACTIONS = {"user": "deactivate", "planet": "delete", "application": "approve",
           "token": "revoke", "audit": "delete"}

# The lowest role allowed each operation; None: nobody. Roles rank member < viewer < editor
# < admin. Written from DESIGN.md's permission table, not from the code.
HAND_WRITTEN = {
    "user": {"list": "viewer", "details": "viewer", "new GET": "admin", "new POST": "admin",
             "edit GET": "admin", "edit POST": "admin", "delete POST": "admin",
             "export": None, "action POST": "admin"},
    "planet": {"list": "viewer", "details": "viewer", "new GET": "editor",
               "new POST": "editor", "edit GET": "editor", "edit POST": "editor",
               "delete POST": "editor", "export": "viewer", "action POST": "editor"},
    "application": {"list": "viewer", "details": "viewer", "new GET": None, "new POST": None,
                    "edit GET": None, "edit POST": None, "delete POST": None, "export": None,
                    "action POST": "editor"},
    "token": {"list": "admin", "details": "admin", "new GET": None, "new POST": None,
              "edit GET": None, "edit POST": None, "delete POST": None, "export": None,
              "action POST": "admin"},
    "audit": {"list": "admin", "details": "admin", "new GET": None, "new POST": None,
              "edit GET": None, "edit POST": None, "delete POST": None, "export": None,
              "action POST": None},
}
RANK = ["member", "viewer", "editor", "admin"]


def _allowed_by_hand(view: str, operation: str, role: str) -> bool:
    lowest = HAND_WRITTEN[view][operation]
    return lowest is not None and RANK.index(role) >= RANK.index(lowest)


def _allowed_by_table(view: str, operation: str, role: str) -> bool:
    """What the permission table and the view's declared permissions allow."""
    cls = VIEWS[view]
    if not (role_allows(role, Permission.CONSOLE) and role_allows(role, cls.permission)):
        return False
    writes = cls.write_permission is not None and role_allows(role, cls.write_permission)
    if operation in ("list", "details"):
        return True
    if operation == "export":
        return cls.offers_export
    if operation.startswith("new"):
        return cls.offers_create and writes
    if operation.startswith("edit"):
        return cls.offers_edit and writes
    if operation == "delete POST":
        return cls.offers_delete and writes
    action = ACTIONS[view]
    if action == "delete":
        return cls.offers_delete and writes
    permission = cls.action_permissions.get(action)
    return permission is not None and role_allows(role, permission)


def _expected_status(view: str, operation: str, actor: str) -> int:
    if actor in ("anonymous", "inactive admin"):
        return 302  # to the login page
    if not _allowed_by_hand(view, operation, actor):
        return 403
    if (view, operation) == ("application", "action POST"):
        return 200  # the confirmation page with the note; the decision posts to review/
    return 302 if operation.endswith("POST") else 200


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("role", RANK)
def test_permission_table_agrees_with_the_hand_written_expectations(view, operation, role):
    assert _allowed_by_table(view, operation, role) == _allowed_by_hand(view, operation, role)


@pytest.fixture
def records(app, make_user, make_planet):
    """One record of each kind for the details, edit, delete and action requests."""
    target = make_user("target", role="editor")
    planet_id = make_planet(name="Kepler-452 b")
    with app.app_context():
        application = MissionApplication(applicant_id=target.id, planet_id=planet_id,
                                         motivation="Take me there.")
        db.session.add(application)
        db.session.commit()
        application_id = application.id
        token, _ = ApiToken.issue(db.session.get(User, target.id), "deploy script")
        db.session.add(token)
        db.session.commit()
        token_id = token.id
        audit_id = db.session.scalar(select(AuditEvent.id).limit(1))
    return {"user": target.id, "planet": planet_id, "application": application_id,
            "token": token_id, "audit": audit_id}


def _client_for(app, make_user, actor: str):
    client = app.test_client()
    if actor == "anonymous":
        return client
    role = "admin" if actor == "inactive admin" else actor
    user = make_user(f"actor_{role}", role=role)
    AuthActions(client).login(user.username)
    if actor == "inactive admin":
        make_user("other_admin", role="admin")  # so the actor is not the last admin
        with app.app_context():
            db.session.get(User, user.id).is_active = False
            db.session.commit()
    return client


FORMS = {
    "user": {"username": "newbie", "email": "newbie@example.com", "role": "member",
             "is_active": "y", "new_password": "a long enough password"},
    "planet": {"name": "New World b", "planet_type": "gas_giant", "host_star": "New World",
               "discovery_method": "transit", "mass_earth": "300"},
}


def _request(client, view: str, operation: str, record_id: int):
    base = f"/admin/{view}"
    form = FORMS.get(view, {"motivation": "edited"})
    if view == "user" and operation == "edit POST":
        form = {**form, "username": "target", "email": "target2@example.com", "role": "editor"}
    if view == "planet" and operation == "edit POST":
        form = {**form, "name": "Kepler-452 b"}
    return {
        "list": lambda: client.get(f"{base}/"),
        "details": lambda: client.get(f"{base}/details/?id={record_id}"),
        "new GET": lambda: client.get(f"{base}/new/"),
        "new POST": lambda: client.post(f"{base}/new/", data=form),
        "edit GET": lambda: client.get(f"{base}/edit/?id={record_id}"),
        "edit POST": lambda: client.post(f"{base}/edit/?id={record_id}", data=form),
        "delete POST": lambda: client.post(f"{base}/delete/", data={"id": record_id}),
        "export": lambda: client.get(f"{base}/export/csv/"),
        "action POST": lambda: client.post(f"{base}/action/", data={
            "action": ACTIONS[view], "rowid": str(record_id)}),
    }[operation]()


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("actor", ACTORS)
def test_console_permission_matrix(app, make_user, records, view, operation, actor):
    client = _client_for(app, make_user, actor)
    response = _request(client, view, operation, records[view])
    expected = _expected_status(view, operation, actor)
    assert response.status_code == expected, (view, operation, actor)
    if expected == 302 and actor in ("anonymous", "inactive admin"):
        location = urlsplit(response.location)
        assert location.path == "/login"
        assert parse_qs(location.query)["next"][0].startswith(f"/admin/{view}/")
    if expected == 403:
        assert b"You do not have permission" in response.data


# The decision endpoint of applications (approve or reject, with a note): editors and admins.
REVIEW_STATUS = {"anonymous": 302, "inactive admin": 302, "member": 403, "viewer": 403,
                 "editor": 302, "admin": 302}


@pytest.mark.parametrize("actor", ACTORS)
def test_application_review_endpoint_by_actor(app, make_user, records, actor):
    client = _client_for(app, make_user, actor)
    response = client.post("/admin/application/review/", data={
        "id": records["application"], "decision": "reject", "review_note": "Not now."})
    assert response.status_code == REVIEW_STATUS[actor]
    allowed = actor in RANK and _allowed_by_hand("application", "action POST", actor)
    if actor in ("anonymous", "inactive admin"):
        assert urlsplit(response.location).path == "/login"
    with app.app_context():
        status = db.session.scalar(select(MissionApplication.status))
    assert status == ("rejected" if allowed else "pending")
    assert client.get("/admin/application/review/").status_code in (302, 405)  # POST only


@pytest.mark.parametrize("actor", ACTORS)
def test_console_home_by_actor(app, make_user, actor):
    client = _client_for(app, make_user, actor)
    status = client.get("/admin/").status_code
    assert status == {"anonymous": 302, "inactive admin": 302, "member": 403}.get(actor, 200)


def test_allowed_posts_really_change_records(app, make_user, records):
    client = _client_for(app, make_user, "admin")
    _request(client, "planet", "new POST", 0)
    _request(client, "user", "action POST", records["user"])
    _request(client, "application", "action POST", records["application"])
    with app.app_context():
        assert db.session.scalar(select(MissionApplication.status)) == "pending"  # confirm first
    client.post("/admin/application/review/", data={"id": records["application"],
                                                    "decision": "approve"})
    with app.app_context():
        assert Planet.find_by_name("New World b") is not None
        assert db.session.get(User, records["user"]).is_active is False
        assert db.session.scalar(select(MissionApplication.status)) == "approved"
    _request(client, "token", "action POST", records["token"])
    with app.app_context():
        assert db.session.get(ApiToken, records["token"]).revoked_at is not None


def test_refused_posts_change_nothing(app, make_user, records):
    client = _client_for(app, make_user, "viewer")
    for view in ("user", "planet"):
        for operation in ("new POST", "edit POST", "delete POST", "action POST"):
            assert _request(client, view, operation, records[view]).status_code == 403
    assert _request(client, "application", "action POST",
                    records["application"]).status_code == 403
    assert _request(client, "token", "action POST", records["token"]).status_code == 403
    with app.app_context():
        assert Planet.find_by_name("New World b") is None
        assert Planet.find_by_name("Kepler-452 b") is not None
        target = db.session.get(User, records["user"])
        assert target.is_active and target.email == "target@example.com"
        assert db.session.scalar(select(MissionApplication.status)) == "pending"
        assert db.session.get(ApiToken, records["token"]).revoked_at is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_hidden_controls_for_roles_without_the_permission(app, make_user, records, role):
    client = _client_for(app, make_user, role)
    users_page = client.get("/admin/user/").get_data(as_text=True)
    assert "/admin/user/new/" not in users_page and "/admin/user/edit/" not in users_page
    assert "/admin/user/delete/" not in users_page and 'value="deactivate"' not in users_page
    planets_page = client.get("/admin/planet/").get_data(as_text=True)
    assert ("/admin/planet/new/" in planets_page) == (role == "editor")
    assert ("/admin/planet/delete/" in planets_page) == (role == "editor")
    assert PASSWORD not in users_page


# The console's main menu: a link to each view the role may open, and no other (from the
# hand-written table; the Jobs view is the admins' as DESIGN.md's table says).
MENU_LISTS = {**{view: HAND_WRITTEN[view]["list"] for view in VIEWS}, "job": "admin"}


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_console_menu_links_the_views_the_role_may_open(app, make_user, role):
    client = _client_for(app, make_user, role)
    html = client.get("/admin/planet/").get_data(as_text=True)
    menu = re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>', html, re.S).group(1)
    links = re.findall(r'<a class="nav-link" href="([^"]+)"', menu)
    expected = ["/admin/"] + [f"/admin/{view}/" for view, lowest in MENU_LISTS.items()
                              if RANK.index(role) >= RANK.index(lowest)]
    assert sorted(links) == sorted(expected)
    assert re.findall(r'href="([^"]+)" aria-current="page"', menu) == ["/admin/planet/"]
