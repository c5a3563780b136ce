"""No delete takes a person's data with it: planets with mission applications are archived, not
deleted, on every path; accounts with history are deactivated; ids are never handed out again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from console.cli import archive_planet_command, delete_planet_command
from console.services import accounts, applications
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, User, db
from models.errors import DomainError
from tests.conftest import bearer

HELD = "has 2 mission applications (1 pending, 1 approved) and cannot be deleted"


@pytest.fixture
def held_planet(app, make_user, make_planet) -> int:
    """A planet with one pending and one approved application."""
    planet_id = make_planet(name="Kepler-452 b")
    first, second, reviewer = make_user(), make_user(), make_user(role="editor")
    with app.app_context():
        planet = db.session.get(Planet, planet_id)
        applications.submit(db.session.get(User, first.id), planet, "To see it.")
        approved = applications.submit(db.session.get(User, second.id), planet, "Me too.")
        applications.review([approved], db.session.get(User, reviewer.id),
                            ApplicationStatus.APPROVED)
    return planet_id


def _state(app, planet_id: int) -> tuple[bool | None, int]:
    """(archived, or None when deleted; how many applications there are)."""
    with app.app_context():
        planet = db.session.get(Planet, planet_id)
        count = db.session.scalar(select(func.count(MissionApplication.id)))
        return (planet.archived if planet else None), count


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()


@pytest.fixture
def editor(login_as):
    client, _ = login_as("editor", username="eddie")
    return client


def test_console_delete_button_refuses_a_planet_with_applications(editor, held_planet, app):
    response = editor.post("/admin/planet/delete/", data={"id": held_planet},
                           follow_redirects=True)
    assert f"Kepler-452 b {HELD}; archive it instead. Nothing was deleted." in response.get_data(
        as_text=True)
    assert _state(app, held_planet) == (False, 2)
    assert _events(app, "planet.delete") == []


def test_console_bulk_delete_refuses_all_when_one_planet_has_applications(
        editor, held_planet, make_planet, app):
    free = make_planet(name="Free b")
    response = editor.post("/admin/planet/action/", follow_redirects=True, data={
        "action": "delete", "rowid": [str(free), str(held_planet)]})
    assert HELD in response.get_data(as_text=True)
    assert _state(app, free) == (False, 2) and _state(app, held_planet) == (False, 2)


def test_api_delete_of_a_planet_with_applications_is_409(client, held_planet, make_user,
                                                           make_token, app):
    headers = bearer(make_token(make_user(role="editor")))
    response = client.delete(f"/api/planets/{held_planet}", headers=headers)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert HELD in error["message"] and error["fields"] == {"id": [f"Kepler-452 b {HELD}; "
                                                                   "archive it instead"]}
    assert _state(app, held_planet) == (False, 2)


def test_cli_delete_of_a_planet_with_applications_fails_with_one_line(runner, held_planet, app):
    result = runner.invoke(delete_planet_command, ["kepler-452 B"])
    assert result.exit_code == 1
    assert result.output == f"Error: Kepler-452 b {HELD}; archive it instead.\n"
    assert _state(app, held_planet) == (False, 2)


def test_a_planet_without_applications_is_deleted_and_audited(runner, make_planet, app):
    planet_id = make_planet(name="Free b", mass_earth=2.5)
    result = runner.invoke(delete_planet_command, ["Free b"])
    assert result.exit_code == 0, result.output
    assert _state(app, planet_id)[0] is None
    [event] = _events(app, "planet.delete")
    assert event.via == "cli" and event.changes["mass_earth"] == [2.5, None]


def test_the_database_refuses_a_delete_past_the_service(app, held_planet):
    with app.app_context():
        with pytest.raises(IntegrityError, match="(?i)foreign key"):
            db.session.execute(text("DELETE FROM planets WHERE id = :id"), {"id": held_planet})
            db.session.commit()
        db.session.rollback()
    assert _state(app, held_planet) == (False, 2)


# --- archiving ---------------------------------------------------------------------------------


def test_archived_planets_leave_the_catalog_the_form_and_the_api_list(
        editor, held_planet, login_as, client, make_planet, app):
    response = editor.post("/admin/planet/action/", follow_redirects=True,
                           data={"action": "archive", "rowid": [str(held_planet)]})
    assert "1 planet(s) archived." in response.get_data(as_text=True)
    assert _state(app, held_planet) == (True, 2)
    [event] = _events(app, "planet.archive")
    assert (event.actor_username, event.via, event.changes) == (
        "eddie", "console", {"archived": [False, True]})

    assert "Kepler-452 b" not in client.get("/planets").get_data(as_text=True)
    assert client.get(f"/planets/{held_planet}").status_code == 404
    assert client.get("/api/planets").get_json()["items"] == []
    [listed] = client.get("/api/planets?archived=true").get_json()["items"]
    assert listed["id"] == held_planet and listed["archived"] is True
    assert client.get(f"/api/planets/{held_planet}").get_json()["archived"] is True
    member, _ = login_as()
    refused = member.post("/mission-application", data={"planet": "Kepler-452 b",
                                                         "motivation": "Anyway."})
    assert "Kepler-452 b is archived and takes no applications." in refused.get_data(
        as_text=True)
    assert _state(app, held_planet) == (True, 2)
    # The console keeps it, behind a filter (flt0_4: "Archived", the fifth filter).
    make_planet(name="Listed b")
    filtered = editor.get("/admin/planet/?flt0_4=1").get_data(as_text=True)
    assert "Kepler-452 b" in filtered and "Listed b" not in filtered


def test_archive_and_unarchive_through_the_api_and_the_cli(client, runner, held_planet,
                                                           make_user, make_token, app):
    headers = bearer(make_token(make_user(role="editor"), name="ci"))
    archived = client.post(f"/api/planets/{held_planet}/archive", headers=headers)
    assert archived.status_code == 200 and archived.get_json()["archived"] is True
    assert client.post(f"/api/planets/{held_planet}/archive", headers=headers).status_code == 200
    assert len(_events(app, "planet.archive")) == 1  # archiving again changes nothing
    result = runner.invoke(archive_planet_command, ["Kepler-452 b", "--undo"])
    assert result.exit_code == 0 and "back in the catalog" in result.output
    assert _state(app, held_planet) == (False, 2)
    assert [e.via for e in _events(app, "planet.unarchive")] == ["cli"]
    assert client.post("/api/planets/1/unarchive").status_code == 401


def test_viewers_cannot_archive(login_as, held_planet, app):
    viewer, _ = login_as("viewer")
    response = viewer.post("/admin/planet/action/", data={"action": "archive",
                                                          "rowid": [str(held_planet)]})
    assert response.status_code == 403
    assert _state(app, held_planet) == (False, 2)


# --- accounts ----------------------------------------------------------------------------------


def test_an_account_with_applications_is_deactivated_not_deleted(login_as, held_planet, app):
    admin, _ = login_as("admin")
    with app.app_context():
        applicant = db.session.scalar(select(MissionApplication.applicant_id).limit(1))
    response = admin.post("/admin/user/delete/", data={"id": applicant}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "has mission applications" in page and "deactivate it instead" in page
    with app.app_context():
        assert db.session.get(User, applicant) is not None


def test_an_account_that_acted_is_not_deleted_but_a_fresh_one_is(app, make_user, auth):
    acted, fresh = make_user("acted"), make_user("fresh")
    auth.login("acted")  # a login is history in the audit log
    with app.app_context():
        with pytest.raises(DomainError, match="a history in the audit log"):
            accounts.delete_accounts([db.session.get(User, acted.id)], actor=None, via="cli")
        accounts.delete_accounts([db.session.get(User, fresh.id)], actor=None, via="cli")
        assert db.session.get(User, acted.id) is not None
        assert db.session.get(User, fresh.id) is None


# --- ids ---------------------------------------------------------------------------------------


def test_ids_are_not_reused_after_a_delete(runner, make_planet, app):
    first = make_planet(name="First b")
    last = make_planet(name="Last b")
    assert runner.invoke(delete_planet_command, ["Last b"]).exit_code == 0
    assert make_planet(name="Next b") > last > first


def test_every_table_says_autoincrement_on_sqlite(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's sequences never hand out an id twice")
        for table in db.metadata.sorted_tables:
            if [column.name for column in table.primary_key.columns] != ["id"]:
                continue  # no id handed out (import_file_chunks: a file's id and a number)
            create = db.session.scalar(text(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                {"name": table.name})
            assert "PRIMARY KEY AUTOINCREMENT" in create, table.name
