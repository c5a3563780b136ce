"""Every route and CLI command that writes is audited in the same transaction.

A listener on the engine sees every INSERT, UPDATE and DELETE, whoever sends it (the ORM or raw
SQL), and every commit: a commit that changed a table other than the audit log without adding an
audit event is a failure. The walk sends a request to every route that accepts a write method and
runs every command, so a new route or command without a step here fails the test too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from flask import Flask, has_request_context, request
from sqlalchemy import event, select

from console.cli import (
    archive_planet_command,
    create_token_command,
    create_user_command,
    deactivate_command,
    delete_planet_command,
    ensure_admin_command,
    export_planets_command,
    import_planets_command,
    reset_two_factor_command,
    seed_command,
    set_password_command,
    set_role_command,
)
from console.services import applications, two_factor
from models import (
    ApiToken,
    AuditEvent,
    ImportFile,
    Job,
    JobState,
    MissionApplication,
    Planet,
    User,
    UserSession,
    db,
)
from tests.conftest import PASSWORD, PLANET, AuthActions, bearer
from tests.smtp import link_in

WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The job queue's records of its work (a mail queued, a job claimed, done or retried later):
# the changes a job makes are audited like any other, and an admin's retry is audited
# (tests/test_jobs.py). A file uploaded for an import is its input, kept until it is applied:
# what the import changes is audited per planet (tests/test_console_import.py).
BOOKKEEPING = {"jobs", "import_files", "import_file_chunks"}
RECOVERY_CODE = re.compile(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}")
LAST_SEEN = re.compile(r"^\s*UPDATE\s+user_sessions\s+SET\s+last_seen_at=[^,]*"
                       r"(,\s*remote_addr=[^,]*)?\s+WHERE", re.IGNORECASE)


class Writes:
    """The tables written in each open transaction, and every commit that left them unaudited."""

    def __init__(self) -> None:
        self.watching = False  # set by start(), after the test's own factories wrote
        self.open: dict[int, set[str]] = {}
        self.audited_commits = 0
        self.last_seen_stamps = 0
        self.unaudited: list[tuple[str, set[str]]] = []

    def start(self) -> None:
        self.watching = True

    def statement(self, connection, cursor, statement, parameters, context, executemany):
        if self.watching and (match := WRITE.match(statement)):
            if LAST_SEEN.match(statement):
                self.last_seen_stamps += 1  # bookkeeping, not a change anybody made
                return
            self.open.setdefault(id(connection), set()).add(match[1].lower())

    def commit(self, connection) -> None:
        tables = self.open.pop(id(connection), set())
        if tables - {"audit_events"} - BOOKKEEPING:
            if "audit_events" in tables:
                self.audited_commits += 1
            else:
                where = request.endpoint if has_request_context() else "command"
                self.unaudited.append((str(where), tables))

    def rollback(self, connection) -> None:
        self.open.pop(id(connection), None)


@pytest.fixture
def writes(app: Flask) -> Iterator[Writes]:
    seen = Writes()
    with app.app_context():
        engine = db.engine
    listeners = [("before_cursor_execute", seen.statement), ("commit", seen.commit),
                 ("rollback", seen.rollback)]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    yield seen
    for name, listener in listeners:
        event.remove(engine, name, listener)


def _write_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & WRITE_METHODS}


class Walk:
    """Sends requests and remembers the endpoints they reached."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.reached: set[str] = set()

    def send(self, client, method: str, url: str, **kwargs):
        response = client.open(url, method=method, **kwargs)
        with self.app.test_request_context(url.split("?")[0], method=method):
            self.reached.add(request.url_rule.endpoint)
        return response


def _turn_on_two_factor(app: Flask, username: str) -> None:
    secret = two_factor.new_secret()
    with app.app_context():
        two_factor.enable(User.find_by_login(username), secret, pyotp.TOTP(secret).now())


def _path(link: str) -> str:
    """A link from a mail as the test client's path: "/confirm-email?token=..."."""
    return link.removeprefix("http://localhost")


def _one(app: Flask, model, **where):
    with app.app_context():
        return db.session.scalars(select(model).filter_by(**where)).first()


def test_every_write_of_every_route_is_audited(app, writes, make_user, make_planet, mailbox):
    walk = Walk(app)
    make_user("root", role="admin")
    editor = make_user("eddie", role="editor")
    planet_id = make_planet(name="Kepler-452 b")
    spare_id = make_planet(name="Spare b")
    spare_user = make_user("spare")
    lost_phone = make_user("lost_phone")
    _turn_on_two_factor(app, "lost_phone")
    writes.start()

    # The member site and account pages.
    visitor = app.test_client()
    walk.send(visitor, "POST", "/register", data={
        "username": "ada_l", "email": "ada@example.com", "password": PASSWORD,
        "confirm": PASSWORD})
    member = app.test_client()
    walk.send(member, "POST", "/login", data={"username": "ada_l", "password": "wrong one!"})
    walk.send(member, "POST", "/login", data={"username": "ada_l", "password": PASSWORD})
    walk.send(member, "POST", "/account", data={"email": "ada.l@example.com",
                                                "current_password": PASSWORD})
    # The address: a registration with it again (nothing stored), the link sent again and
    # followed (before that, no mission applications).
    walk.send(app.test_client(), "POST", "/register", data={
        "username": "someone", "email": "ada.l@example.com", "password": PASSWORD,
        "confirm": PASSWORD})
    walk.send(member, "POST", "/confirm-email/resend")
    walk.send(member, "POST", _path(link_in(mailbox[-1], "/confirm-email")))
    walk.send(member, "POST", "/mission-application", data={"planet": "Kepler-452 b",
                                                           "motivation": "To see it."})
    application = _one(app, MissionApplication)
    walk.send(member, "POST", f"/mission-application/{application.id}/withdraw")
    walk.send(member, "POST", "/mission-application", data={"planet": "Kepler-452 b",
                                                           "motivation": "Again."})
    walk.send(member, "POST", "/account/password", data={
        "current_password": PASSWORD, "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    other_device = app.test_client()
    AuthActions(other_device).login("ada_l", "a brand new passphrase")
    AuthActions(app.test_client()).login("ada_l", "a brand new passphrase")
    ended = _one(app, UserSession, user_id=_one(app, User, username="ada_l").id)
    walk.send(member, "POST", f"/account/sessions/{ended.id}/end")
    walk.send(member, "POST", "/account/sessions/end-others")
    walk.send(member, "POST", "/account/theme", data={"theme": "dark"})
    walk.send(visitor, "POST", "/account/theme", data={"theme": "light"})  # a cookie, no row
    # Two-factor sign-in: on, new recovery codes, a login's code step (wrong, right), off.
    enrolling = app.test_client()
    AuthActions(enrolling).login("ada_l", "a brand new passphrase")
    page = enrolling.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([^<]+)<', page)[1].replace(" ", "")
    enrolment = re.search(r'name="enrolment"[^>]*value="([^"]+)"', page)[1]
    codes = RECOVERY_CODE.findall(walk.send(enrolling, "POST", "/account/two-factor", data={
        "code": pyotp.TOTP(secret).now(), "enrolment": enrolment}).get_data(as_text=True))
    codes = RECOVERY_CODE.findall(walk.send(
        enrolling, "POST", "/account/two-factor/recovery-codes",
        data={"renew-current_password": "a brand new passphrase", "renew-code": codes[0]},
    ).get_data(as_text=True))
    second_factor = app.test_client()
    AuthActions(second_factor).login("ada_l", "a brand new passphrase")
    walk.send(second_factor, "POST", "/login/two-factor", data={"code": "not-a-code"})
    walk.send(second_factor, "POST", "/login/two-factor", data={"code": codes[0]})
    walk.send(second_factor, "POST", "/account/two-factor/disable", data={
        "off-current_password": "a brand new passphrase", "off-code": codes[1]})
    assert not _one(app, User, username="ada_l").two_factor_enabled
    # A forgotten password: the request, then the link (which ends every session).
    walk.send(app.test_client(), "POST", "/forgot-password", data={"email": "ada.l@example.com"})
    walk.send(app.test_client(), "POST", _path(link_in(mailbox[-1], "/reset-password")), data={
        "password": "yet another passphrase", "confirm": "yet another passphrase"})
    assert AuthActions(app.test_client()).login(
        "ada_l", "yet another passphrase").status_code == 302
    walk.send(member, "POST", "/logout")

    editor_client = app.test_client()
    AuthActions(editor_client).login("eddie")
    walk.send(editor_client, "POST", "/account/tokens", data={"name": "ci"})
    token = _one(app, ApiToken, name="ci")
    walk.send(editor_client, "POST", f"/account/tokens/{token.id}/revoke")

    # The API.
    with app.app_context():
        from console.services import api_tokens
        _, secret = api_tokens.create_token(db.session.get(User, editor.id), "script")
    headers = bearer(secret)
    api = app.test_client()
    created = walk.send(api, "POST", "/api/planets", json={**PLANET, "name": "Api b"},
                        headers=headers).get_json()
    walk.send(api, "PATCH", f"/api/planets/{created['id']}", json={"mass_earth": 2.0},
              headers=headers)
    walk.send(api, "PUT", f"/api/planets/{created['id']}", json={**PLANET, "name": "Api b"},
              headers=headers)
    walk.send(api, "POST", f"/api/planets/{created['id']}/archive", headers=headers)
    walk.send(api, "POST", f"/api/planets/{created['id']}/unarchive", headers=headers)
    walk.send(api, "DELETE", f"/api/planets/{created['id']}", headers=headers)

    # The console, as an admin: every view's every write endpoint.
    console = app.test_client()
    AuthActions(console).login("root")
    form = {"name": "Console b", "planet_type": "gas_giant", "host_star": "Console",
            "discovery_method": "transit"}
    walk.send(console, "POST", "/admin/planet/new/", data=form)
    console_planet = _one(app, Planet, name="Console b")
    walk.send(console, "POST", f"/admin/planet/edit/?id={console_planet.id}",
              data={**form, "mass_earth": "3"})
    walk.send(console, "POST", "/admin/planet/ajax/update/",
              data={"list_form_pk": str(console_planet.id), "name": "Renamed b"})
    for name in ("archive", "unarchive"):
        walk.send(console, "POST", "/admin/planet/action/",
                  data={"action": name, "rowid": [str(console_planet.id)]})
    update = _one(app, AuditEvent, action="planet.update", target_id=str(console_planet.id))
    walk.send(console, "POST", f"/admin/planet/revert/?id={console_planet.id}&event={update.id}",
              data={"field": ["mass_earth"]})
    walk.send(console, "POST", "/admin/planet/delete/", data={"id": console_planet.id})
    deleted = _one(app, AuditEvent, action="planet.delete")
    walk.send(console, "POST", f"/admin/planet/restore/?event={deleted.id}")
    walk.send(console, "POST", "/admin/planet/action/",
              data={"action": "delete", "rowid": [str(spare_id)]})
    # A CSV import: the upload and its dry run, then the apply.
    export = console.get("/admin/planet/export/csv/").get_data()
    renamed = io.BytesIO(export.replace(b"Kepler-452 b", b"Kepler-452 c"))
    walk.send(console, "POST", "/admin/planet/import/", content_type="multipart/form-data",
              data={"update": "y", "file": (renamed, "planets.csv")})
    walk.send(console, "POST", "/admin/planet/import/apply/",
              data={"key": _one(app, ImportFile).key, "update": "y"})
    assert _one(app, Planet, name="Kepler-452 c") is not None
    walk.send(console, "POST", "/admin/user/new/", data={
        "username": "newbie", "email": "newbie@example.com", "role": "member",
        "is_active": "y", "new_password": "another good passphrase"})
    newbie = _one(app, User, username="newbie")
    walk.send(console, "POST", f"/admin/user/edit/?id={newbie.id}", data={
        "username": "newbie", "email": "newbie@example.com", "role": "viewer",
        "is_active": "y", "new_password": ""})
    walk.send(console, "POST", "/admin/user/ajax/update/",
              data={"list_form_pk": str(newbie.id), "role": "editor"})
    for name in ("end_sessions", "deactivate", "activate"):
        walk.send(console, "POST", "/admin/user/action/",
                  data={"action": name, "rowid": [str(newbie.id)]})
    walk.send(console, "POST", "/admin/user/action/",
              data={"action": "reset_two_factor", "rowid": [str(lost_phone.id)]})
    assert not _one(app, User, username="lost_phone").two_factor_enabled
    walk.send(console, "POST", "/admin/user/delete/", data={"id": newbie.id})
    walk.send(console, "POST", "/admin/user/action/",
              data={"action": "delete", "rowid": [str(spare_user.id)]})
    # Applications: a bulk action asks for the note (writes nothing), the decision stores it.
    pending = _one(app, MissionApplication, status="pending")
    walk.send(console, "POST", "/admin/application/action/",
              data={"action": "approve", "rowid": [str(pending.id)]})
    walk.send(console, "POST", "/admin/application/review/",
              data={"decision": "approve", "id": [str(pending.id)], "review_note": "Go."})
    with app.app_context():
        again = applications.submit(db.session.get(User, pending.applicant_id),
                                    db.session.get(Planet, planet_id), "Once more.").id
    walk.send(console, "POST", "/admin/application/action/",
              data={"action": "reject", "rowid": [str(again)]})
    walk.send(console, "POST", "/admin/application/review/",
              data={"decision": "reject", "id": [str(again)], "review_note": ""})  # refused
    walk.send(console, "POST", "/admin/application/review/",
              data={"decision": "reject", "id": [str(again)], "review_note": "Not now."})
    assert _one(app, MissionApplication, id=again).status == "rejected"
    walk.send(console, "POST", "/admin/token/action/",
              data={"action": "revoke", "rowid": [str(_one(app, ApiToken, name="script").id)]})
    failed = _one(app, Job, kind="mail")
    with app.app_context():
        db.session.get(Job, failed.id).state = JobState.FAILED.value
        db.session.commit()
    walk.send(console, "POST", "/admin/job/action/",
              data={"action": "retry", "rowid": [str(failed.id)]})
    assert _one(app, AuditEvent, action="job.retry") is not None
    # Endpoints these views do not offer: refused, and nothing written.
    for view in ("application", "token", "audit", "planet", "user", "job"):
        for endpoint in ("new/", "edit/?id=1", "delete/", "action/", "ajax/update/",
                         "revert/?id=1&event=1", "restore/?event=1"):
            walk.send(console, "POST", f"/admin/{view}/{endpoint}",
                      data={"id": "1", "list_form_pk": "1", "action": "delete",
                            "rowid": ["1"]})

    assert _write_endpoints(app) - walk.reached == set(), "routes that write, not walked"
    assert writes.unaudited == []
    assert writes.audited_commits >= 30  # the walk really wrote


def test_every_write_of_every_command_is_audited(app, runner, writes, tmp_path):
    writes.start()

    def run(command, args, input=None):
        result = runner.invoke(command, args, input=input)
        assert result.exit_code == 0, result.output
        return result

    run(create_user_command, ["ada", "ada@example.com", "--password-stdin"], PASSWORD + "\n")
    _turn_on_two_factor(app, "ada")
    run(reset_two_factor_command, ["ada"])
    run(set_role_command, ["ada", "editor"])
    run(set_password_command, ["ada", "--password-stdin"], "a brand new passphrase\n")
    run(create_token_command, ["ada", "nightly"])
    run(deactivate_command, ["ada"])
    run(ensure_admin_command, [])
    run(seed_command, [])
    run(seed_command, ["--synthetic", "3"])
    export = tmp_path / "all.csv"
    run(export_planets_command, [str(export)])
    export.write_text(export.read_text().replace("Earth", "Earth II", 1))
    run(import_planets_command, [str(export), "--update", "--dry-run"])  # writes nothing
    run(import_planets_command, [str(export), "--update"])
    run(archive_planet_command, ["Mars"])
    run(archive_planet_command, ["Mars", "--undo"])
    run(delete_planet_command, ["Synthetic-00000001 b"])
    # `worker` runs jobs until stopped: tests/test_jobs.py runs real workers.
    commands = {name for name in app.cli.list_commands(None) if name not in ("db", "worker")}
    assert commands == {"create-user", "set-role", "deactivate", "ensure-admin", "seed",
                        "import-planets", "export-planets", "create-token", "delete-planet",
                        "archive-planet", "reset-two-factor", "set-password"}, \
        "a new command needs a step in this walk"
    assert writes.unaudited == []
    assert writes.audited_commits == 14  # every command but the export, and one enrolment


def test_the_walk_catches_a_write_without_an_audit_event(app, writes, make_planet):
    """The listener itself: a change stored with no audit event is reported."""
    planet_id = make_planet()
    writes.start()
    with app.app_context():
        db.session.get(Planet, planet_id).mass_earth = 9.0
        db.session.commit()
    assert writes.unaudited == [("command", {"planets"})]


def test_a_sessions_last_seen_stamp_is_the_one_write_left_unaudited(app, writes, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    with app.app_context():
        stored = db.session.scalars(select(UserSession).filter_by(user_id=ada.id)).one()
        stored.last_seen_at -= timedelta(minutes=2)
        db.session.commit()
    writes.start()
    assert browser.get("/account").status_code == 200
    assert writes.last_seen_stamps == 1
    assert writes.unaudited == []
