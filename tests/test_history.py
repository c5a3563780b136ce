"""Each console record's history, reverting a change (with conflicts shown per field) and
restoring a deleted planet from its delete event."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AuditEvent, Planet, User, db
from tests.conftest import PLANET, AuthActions

FORM = {key: str(value) for key, value in PLANET.items()}


@pytest.fixture
def editor(login_as):
    client, _ = login_as("editor", username="eddie")
    return client


def _edit(client, planet_id: int, **changes) -> None:
    response = client.post(f"/admin/planet/edit/?id={planet_id}", data={**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)


def _event_ids(app, action: str) -> list[int]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()


def _planet(app, planet_id: int) -> Planet | None:
    with app.app_context():
        return db.session.get(Planet, planet_id)


def test_a_planets_history_shows_each_change_newest_first(editor, login_as, make_planet):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0)
    _edit(editor, planet_id, name="Kepler-452 b", mass_earth="6.5")
    _edit(editor, planet_id, name="Kepler-452 b", mass_earth="7.25", description="Warm.")
    viewer, _ = login_as("viewer")
    page = viewer.get(f"/admin/planet/history/?id={planet_id}").get_data(as_text=True)
    newer = page.index('<th scope="row">Mass (Earth masses)</th><td>6.5</td><td>7.25</td>')
    older = page.index('<th scope="row">Mass (Earth masses)</th><td>5</td><td>6.5</td>')
    assert newer < older  # newest first
    assert "Planet updated by eddie" in page and "UTC" in page and "from the Console" in page
    assert "Revert this change" not in page  # viewers may read, not edit
    details = viewer.get(f"/admin/planet/details/?id={planet_id}").get_data(as_text=True)
    assert f"/admin/planet/history/?id={planet_id}" in details


def test_history_is_for_those_who_may_read_the_record(login_as, make_user, make_planet):
    planet_id = make_planet()
    member, _ = login_as()
    assert member.get(f"/admin/planet/history/?id={planet_id}").status_code == 403
    viewer, _ = login_as("viewer")
    user = make_user()
    assert viewer.get(f"/admin/user/history/?id={user.id}").status_code == 200
    assert viewer.get("/admin/token/history/?id=1").status_code == 403  # admins only
    assert viewer.get("/admin/planet/history/?id=999999").status_code == 404


def test_a_users_history_keeps_secrets_redacted(login_as, make_user):
    admin, _ = login_as("admin")
    user = make_user("ada")
    admin.post(f"/admin/user/edit/?id={user.id}", data={
        "username": "ada", "email": "ada@example.com", "role": "member", "is_active": "y",
        "new_password": "a brand new passphrase"})
    page = admin.get(f"/admin/user/history/?id={user.id}").get_data(as_text=True)
    assert "Password set" in page and "***" in page
    assert "a brand new passphrase" not in page


def test_history_pages_by_cursor(editor, make_planet):
    planet_id = make_planet(mass_earth=1.0)
    for number in range(2, 25):
        _edit(editor, planet_id, mass_earth=str(number))
    first = editor.get(f"/admin/planet/history/?id={planet_id}").get_data(as_text=True)
    assert first.count("Planet updated by") == 20
    next_url = re.search(r'href="([^"]*after=[^"]*)"', first)[1].replace("&amp;", "&")
    second = editor.get(next_url).get_data(as_text=True)
    # 23 updates (the factory's planet has no create event): 20, then the 3 oldest.
    assert second.count("Planet updated by") == 3
    assert "<td>1</td><td>2</td>" in second and "<td>23</td><td>24</td>" in first


def test_revert_puts_back_the_values_before_the_change(editor, make_planet, app):
    planet_id = make_planet(mass_earth=5.0)
    _edit(editor, planet_id, mass_earth="6.5", description="Changed.")
    [event_id] = _event_ids(app, "planet.update")
    page = editor.get(f"/admin/planet/revert/?id={planet_id}&event={event_id}")
    assert page.status_code == 200 and "changed again since" not in page.get_data(as_text=True)
    response = editor.post(f"/admin/planet/revert/?id={planet_id}&event={event_id}",
                           data={"field": ["mass_earth", "description"]})
    assert response.status_code == 302
    planet = _planet(app, planet_id)
    assert (planet.mass_earth, planet.description) == (5.0, "")
    with app.app_context():
        revert = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "planet.revert")).one()
        assert revert.via_detail == f"revert of event {event_id}"
        assert revert.changes["mass_earth"] == [6.5, 5.0]


def test_a_field_changed_again_since_is_shown_and_left_to_the_user(editor, make_planet, app):
    planet_id = make_planet(mass_earth=5.0, radius_earth=1.0)
    _edit(editor, planet_id, mass_earth="6.5", radius_earth="2")
    [event_id] = _event_ids(app, "planet.update")
    _edit(editor, planet_id, mass_earth="9.75", radius_earth="2")  # a colleague, later
    page = editor.get(f"/admin/planet/revert/?id={planet_id}&event={event_id}").get_data(
        as_text=True)
    row = re.search(r'<tr class="table-warning">(.*?)</tr>', page, re.S)[1]
    assert "Mass (Earth masses)" in row and "changed again since" in row and "checked" not in row
    assert "<td>6.5</td>" in row and "<td>9.75</td>" in row and "<td>5</td>" in row
    # The user keeps the colleague's mass and puts back only the radius.
    editor.post(f"/admin/planet/revert/?id={planet_id}&event={event_id}",
                data={"field": ["radius_earth"]})
    planet = _planet(app, planet_id)
    assert (planet.mass_earth, planet.radius_earth) == (9.75, 1.0)


def test_a_revert_with_no_field_chosen_changes_nothing(editor, make_planet, app):
    planet_id = make_planet(mass_earth=5.0)
    _edit(editor, planet_id, mass_earth="6.5")
    [event_id] = _event_ids(app, "planet.update")
    page = editor.post(f"/admin/planet/revert/?id={planet_id}&event={event_id}", data={},
                       follow_redirects=True).get_data(as_text=True)
    assert "Choose the fields of this change to put back. Nothing was changed." in page
    assert _planet(app, planet_id).mass_earth == 6.5


def test_viewers_cannot_revert_or_restore(login_as, editor, make_planet, app):
    planet_id = make_planet(mass_earth=5.0)
    _edit(editor, planet_id, mass_earth="6.5")
    [event_id] = _event_ids(app, "planet.update")
    viewer, _ = login_as("viewer")
    assert viewer.post(f"/admin/planet/revert/?id={planet_id}&event={event_id}",
                       data={"field": ["mass_earth"]}).status_code == 403
    assert viewer.post(f"/admin/planet/restore/?event={event_id}").status_code == 403
    assert _planet(app, planet_id).mass_earth == 6.5


def test_an_event_of_another_record_is_not_reverted_here(editor, make_planet, app):
    first, second = make_planet(name="One b", mass_earth=1.0), make_planet(name="Two b")
    _edit(editor, first, name="One b", mass_earth="2")
    [event_id] = _event_ids(app, "planet.update")
    assert editor.get(f"/admin/planet/revert/?id={second}&event={event_id}").status_code == 404


def test_a_deleted_planet_comes_back_with_its_id_and_values(login_as, make_planet, app):
    admin, _ = login_as("admin")
    planet_id = make_planet(name="Gone b", mass_earth=3.5)
    admin.post("/admin/planet/delete/", data={"id": planet_id})
    assert _planet(app, planet_id) is None
    [event_id] = _event_ids(app, "planet.delete")
    log = admin.get("/admin/audit/").get_data(as_text=True)
    assert f"/admin/planet/restore/?event={event_id}" in log
    assert "Gone b" in admin.get(f"/admin/planet/restore/?event={event_id}").get_data(
        as_text=True)
    response = admin.post(f"/admin/planet/restore/?event={event_id}")
    assert response.status_code == 302
    planet = _planet(app, planet_id)
    assert (planet.name, planet.mass_earth) == ("Gone b", 3.5)
    assert len(_event_ids(app, "planet.restore")) == 1
    again = admin.post(f"/admin/planet/restore/?event={event_id}", follow_redirects=True)
    assert "restored already" in again.get_data(as_text=True)


def test_restoring_a_name_taken_meanwhile_says_so(editor, make_planet, app):
    planet_id = make_planet(name="Gone b")
    editor.post("/admin/planet/delete/", data={"id": planet_id})
    make_planet(name="GONE B")
    [event_id] = _event_ids(app, "planet.delete")
    page = editor.post(f"/admin/planet/restore/?event={event_id}").get_data(as_text=True)
    assert "A planet named &#39;Gone b&#39; exists meanwhile; rename it before restoring this " \
           "one. Nothing was restored." in page
    assert _planet(app, planet_id) is None


def _version_in(page: str) -> str:
    """The version an edit form carries (its hidden "version" input)."""
    tag = re.search(r'<input[^>]*name="version"[^>]*>', page)[0]
    return re.search(r'value="(\d+)"', tag)[1]


def _opened_version(client, planet_id: int) -> str:
    return _version_in(client.get(f"/admin/planet/edit/?id={planet_id}").get_data(as_text=True))


def test_an_edit_over_a_newer_version_shows_both_values_and_saves_nothing(
        login_as, make_planet, app):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0)
    first, _ = login_as("editor", username="first")
    second, _ = login_as("editor", username="second")
    seen_by_first = _opened_version(first, planet_id)
    seen_by_second = _opened_version(second, planet_id)
    assert seen_by_first == seen_by_second
    saved = first.post(f"/admin/planet/edit/?id={planet_id}",
                       data={**FORM, "mass_earth": "6.5", "version": seen_by_first})
    assert saved.status_code == 302
    stale = second.post(f"/admin/planet/edit/?id={planet_id}",
                        data={**FORM, "mass_earth": "7.25", "version": seen_by_second})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 200 and "Someone else changed this planet" in page
    assert "Changed meanwhile by first" in page
    assert '<th scope="row">Mass</th><td>6.5</td><td>7.25</td>' in page
    with app.app_context():
        assert db.session.get(Planet, planet_id).mass_earth == 6.5  # nothing lost
    # The form came back with the new version: saving again is the user's confirmation.
    confirmed_version = _version_in(page)
    assert int(confirmed_version) == int(seen_by_second) + 1
    again = second.post(f"/admin/planet/edit/?id={planet_id}",
                        data={**FORM, "mass_earth": "7.25", "version": confirmed_version})
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Planet, planet_id).mass_earth == 7.25


def test_the_console_home_shows_recent_changes_the_user_may_see(login_as, editor, make_planet,
                                                                make_user, app):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0)
    _edit(editor, planet_id, mass_earth="6.5")
    admin, _ = login_as("admin")
    token_owner = make_user(role="editor")
    from console.services import api_tokens
    with app.app_context():
        api_tokens.create_token(db.session.get(User, token_owner.id), "ci", via="cli")
    viewer, _ = login_as("viewer")
    home = viewer.get("/admin/").get_data(as_text=True)
    assert "Recent changes" in home and "Planet updated" in home
    assert f"/admin/planet/history/?id={planet_id}" in home
    assert "API token created" not in home  # API tokens are for admins to see
    assert "API token created" in admin.get("/admin/").get_data(as_text=True)


def test_a_users_details_show_their_own_recent_changes(login_as, make_planet, app):
    editor, user = login_as("editor", username="eddie")
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0)
    _edit(editor, planet_id, mass_earth="6.5")
    admin, _ = login_as("admin")
    page = admin.get(f"/admin/user/details/?id={user.id}").get_data(as_text=True)
    assert "Recent changes by eddie" in page and "Planet updated" in page
    assert f"/admin/planet/history/?id={planet_id}" in page


def test_an_accounts_role_change_is_reverted_under_the_account_rules(login_as, make_user, app):
    admin, me = login_as("admin", username="root")
    ada = make_user("ada")
    admin.post(f"/admin/user/edit/?id={ada.id}", data={
        "username": "ada", "email": "ada@example.com", "role": "editor", "is_active": "y",
        "new_password": ""})
    with app.app_context():
        role_event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.role", AuditEvent.target_id == str(ada.id))).one()
    history = admin.get(f"/admin/user/history/?id={ada.id}").get_data(as_text=True)
    assert f"/admin/user/revert/?id={ada.id}&amp;event={role_event.id}" in history
    admin.post(f"/admin/user/revert/?id={ada.id}&event={role_event.id}",
               data={"field": ["role"]})
    with app.app_context():
        assert db.session.get(User, ada.id).role == "member"
        revert = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.role").order_by(AuditEvent.id.desc())).first()
        assert revert.via_detail == f"revert of event {role_event.id}"
        assert revert.changes == {"role": ["editor", "member"]}


def test_reverting_ones_own_promotion_is_refused_like_a_demotion(login_as, make_user, app):
    root = make_user("root", role="admin")
    colleague, _ = login_as("admin")
    for role in ("editor", "admin"):  # root demoted, then promoted again
        colleague.post(f"/admin/user/edit/?id={root.id}", data={
            "username": "root", "email": root.email, "role": role, "is_active": "y",
            "new_password": ""})
    with app.app_context():
        promotion = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.role", AuditEvent.target_id == str(root.id))
            .order_by(AuditEvent.id.desc())).first()
        assert promotion.changes == {"role": ["editor", "admin"]}
    client = app.test_client()
    AuthActions(client).login("root")  # the role changes ended root's sessions
    page = client.post(f"/admin/user/revert/?id={root.id}&event={promotion.id}",
                       data={"field": ["role"]}, follow_redirects=True).get_data(as_text=True)
    assert "You cannot demote yourself. Nothing was changed." in page
    with app.app_context():
        assert db.session.get(User, root.id).role == "admin"


def test_the_conflict_screen_lists_only_fields_that_differ(login_as, make_planet):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=5.0, equilibrium_temp_k=279.0)
    first, _ = login_as("editor", username="first")
    second, _ = login_as("editor", username="second")
    opened = _opened_version(second, planet_id)
    first.post(f"/admin/planet/edit/?id={planet_id}", data={
        **FORM, "mass_earth": "6.5", "equilibrium_temp_k": "279.0",
        "version": _opened_version(first, planet_id)})
    page = second.post(f"/admin/planet/edit/?id={planet_id}", data={
        **FORM, "mass_earth": "5", "equilibrium_temp_k": "279.0", "version": opened}).get_data(
        as_text=True)
    conflicts = re.search(r'<section class="alert alert-warning".*?</section>', page, re.S)[0]
    assert '<th scope="row">Mass</th><td>6.5</td><td>5</td>' in conflicts
    assert "Equilibrium temperature" not in conflicts
