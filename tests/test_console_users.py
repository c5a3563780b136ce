"""The users view: registration's rules, the admin guards, no password hash anywhere."""

import html
import re

import pytest
from sqlalchemy import func, select

from console.services import accounts
from models import AuditEvent, User, UserSession, db
from models.errors import DomainError
from tests.conftest import PASSWORD, AuthActions
from tests.plans import plan_of

HASH_PREFIXES = re.compile(r"(scrypt|pbkdf2):[^\s\"'<]*\$")


@pytest.fixture
def admin(login_as):
    client, user = login_as("admin", username="root")
    return client, user


def _user(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def _new(client, **changes):
    data = {"username": "grace", "email": "grace@example.com", "role": "editor",
            "is_active": "y", "new_password": "compiler pioneer"}
    return client.post("/admin/user/new/", data={**data, **changes})


def _edit(client, user, **changes):
    data = {"username": user.username, "email": user.email, "role": user.role,
            "is_active": "y" if user.is_active else "", "new_password": ""}
    data = {k: v for k, v in {**data, **changes}.items() if v != ""}
    return client.post(f"/admin/user/edit/?id={user.id}", data=data)


def test_admin_creates_a_user_with_a_hashed_password(admin, app):
    client, _ = admin
    assert _new(client).status_code == 302
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.username == "grace"))
        assert grace.role == "editor" and grace.check_password("compiler pioneer")
    assert AuthActions(app.test_client()).login("grace", "compiler pioneer").status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "x"}, "Use 3 to 20 characters"),
        ({"username": "ROOT"}, "This username is taken."),
        ({"email": "nope"}, "An email address must have an @-sign."),
        ({"new_password": "short"}, "Use at least 10 characters."),
        ({"new_password": "1234567890"}, "other than digits only"),
        ({"new_password": ""}, "A new account needs a password."),
        ({"role": "pilot"}, "Not a valid choice"),
    ],
)
def test_create_uses_the_registration_rules(admin, app, changes, message):
    client, _ = admin
    response = _new(client, **changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_edit_with_blank_password_keeps_it(admin, make_user, app):
    client, _ = admin
    ada = make_user("ada")
    assert _edit(client, ada, email="ada@new.example").status_code == 302
    stored = _user(app, ada.id)
    assert stored.email == "ada@new.example" and stored.check_password(PASSWORD)


def test_edit_sets_a_new_password_and_ends_the_users_sessions(admin, login_as, app):
    client, _ = admin
    ada_client, ada = login_as(username="ada")
    assert _edit(client, ada, new_password="fresh passphrase").status_code == 302
    assert _user(app, ada.id).check_password("fresh passphrase")
    assert ada_client.get("/account").status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password")).one()
        assert event.changes == {"password": "***"} and event.actor_username == "root"


def test_role_change_ends_the_users_sessions(admin, login_as, app):
    client, _ = admin
    ada_client, ada = login_as(username="ada")
    assert _edit(client, ada, role="viewer").status_code == 302
    assert _user(app, ada.id).role == "viewer"
    assert ada_client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"role": "editor"}, "You cannot demote yourself."),
     ({"is_active": ""}, "You cannot deactivate yourself.")],
)
def test_admin_cannot_demote_or_deactivate_themselves(admin, make_user, app, changes, message):
    make_user("second", role="admin")  # not the last admin: the self-guard itself refuses
    client, root = admin
    response = client.post(f"/admin/user/edit/?id={root.id}", data={
        "username": "root", "email": root.email, "role": "admin", "is_active": "y", **changes})
    assert message in response.get_data(as_text=True)
    stored = _user(app, root.id)
    assert stored.role == "admin" and stored.is_active


def test_admin_cannot_delete_themselves(admin, make_user, app):
    make_user("second", role="admin")
    client, root = admin
    response = client.post("/admin/user/delete/", data={"id": root.id}, follow_redirects=True)
    assert "You cannot delete your own account. Nothing was deleted." in response.get_data(
        as_text=True)
    assert _user(app, root.id) is not None


def test_bulk_deactivate_including_self_changes_nothing(admin, make_user, app):
    client, root = admin
    ada = make_user("ada")
    response = client.post("/admin/user/action/", data={
        "action": "deactivate", "rowid": [str(root.id), str(ada.id)]}, follow_redirects=True)
    assert "You cannot deactivate yourself. Nothing was changed." in response.get_data(
        as_text=True)
    assert _user(app, ada.id).is_active and _user(app, root.id).is_active


@pytest.mark.parametrize(
    "change",
    [
        lambda root, ada: accounts.update_account(root, role="editor"),
        lambda root, ada: accounts.update_account(root, is_active=False),
        lambda root, ada: accounts.set_active([root, ada], False, actor=None, via="test"),
        lambda root, ada: accounts.delete_accounts([root], actor=None, via="test"),
        lambda root, ada: accounts.delete_accounts([ada, root], actor=None, via="test"),
    ],
    ids=["demote", "deactivate", "bulk deactivate", "delete", "bulk delete"],
)
def test_last_active_admin_survives_every_route(app, make_user, change):
    """Without the self-guard in the way (the CLI has no actor), the last-admin guard holds."""
    root = make_user("root", role="admin")
    make_user("retired", role="admin", is_active=False)
    ada = make_user("ada")
    with app.app_context():
        root_row, ada_row = db.session.get(User, root.id), db.session.get(User, ada.id)
        with pytest.raises(DomainError, match="last active admin"):
            change(root_row, ada_row)
        db.session.rollback()
        stored = db.session.get(User, root.id)
        assert stored.role == "admin" and stored.is_active
        assert db.session.get(User, ada.id).is_active
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.target_id == str(root.id), AuditEvent.action != "user.create")) == 0


def test_two_admins_cannot_remove_each_other_in_bulk(admin, make_user, app):
    client, root = admin
    second = make_user("second", role="admin")
    make_user("ada")
    response = client.post("/admin/user/action/", data={
        "action": "delete", "rowid": [str(second.id), str(root.id)]}, follow_redirects=True)
    assert "Nothing was deleted." in response.get_data(as_text=True)
    assert _user(app, second.id) is not None


def test_bulk_deactivate_of_every_other_admin_keeps_one(admin, make_user, app):
    client, root = admin
    second = make_user("second", role="admin")
    third = make_user("third", role="admin")
    response = client.post("/admin/user/action/", data={
        "action": "deactivate", "rowid": [str(second.id), str(third.id)]},
        follow_redirects=True)
    assert "2 account(s) deactivated." in response.get_data(as_text=True)
    assert not _user(app, second.id).is_active and not _user(app, third.id).is_active
    assert _user(app, root.id).is_active


def test_bulk_activate_and_deactivate(admin, make_user, app):
    client, _ = admin
    ada, bob = make_user("ada"), make_user("bob", is_active=False)
    client.post("/admin/user/action/", data={"action": "deactivate", "rowid": [str(ada.id)]})
    client.post("/admin/user/action/", data={"action": "activate", "rowid": [str(bob.id)]})
    assert not _user(app, ada.id).is_active and _user(app, bob.id).is_active


def test_search_and_filter_users(admin, make_user):
    client, _ = admin
    make_user("ada", email="ada@lovelace.example")
    make_user("bob", role="viewer")
    assert b"ada@lovelace.example" in client.get("/admin/user/?search=lovelace").data
    page = client.get("/admin/user/?search=lovelace").get_data(as_text=True)
    assert "bob@example.com" not in page


@pytest.mark.parametrize(("sort", "usernames"), [
    ("sort=0", ["alice", "Bob", "root", "Zed"]),
    ("sort=0&desc=1", ["Zed", "root", "Bob", "alice"]),
    ("sort=1", ["Zed", "alice", "Bob", "root"]),  # by email: Al, bea, Cid, root
])
def test_usernames_and_emails_sort_ignoring_case(admin, make_user, sort, usernames):
    client, _ = admin
    make_user("alice", email="bea@example.com")
    make_user("Bob", email="Cid@example.com")
    make_user("Zed", email="Al@example.com")
    page = client.get(f"/admin/user/?{sort}").get_data(as_text=True)
    assert re.findall(r'<td class="col-username">([^<]*)</td>', page) == usernames


def _cells(page: str, column: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in
            re.findall(rf'<td class="col-{column}">(.*?)</td>', page, re.DOTALL)]


def test_the_audit_log_and_the_token_list_sort_names_ignoring_case(admin, make_token, app):
    client, root = admin
    names = ["alice", "Bob", "Zed"]
    with app.app_context():
        db.session.add_all(AuditEvent(actor_username=name, action="planet.update",
                                      target_type="planet", target_id="1") for name in names)
        db.session.commit()
    for name in reversed(names):
        make_token(root, name)
    actors = _cells(client.get("/admin/audit/?sort=1").get_data(as_text=True), "actor_username")
    assert [actor for actor in actors if actor in names] == names
    tokens = _cells(client.get("/admin/token/?sort=1").get_data(as_text=True), "name")
    assert tokens == names


@pytest.mark.parametrize(("url", "key", "index"), [
    ("/admin/audit/?sort=1", "lower(audit_events.actor_username)",
     "ix_audit_events_actor_username_lower_id"),
    ("/admin/token/?sort=1", "lower(api_tokens.name)", "ix_api_tokens_name_lower_id"),
])
def test_those_sorts_read_an_index_in_order(admin, make_token, app, url, key, index):
    client, root = admin
    make_token(root)
    plan = plan_of(app, client, url, f"ORDER BY {key}")
    assert index in plan
    assert "TEMP B-TREE" not in plan and "Seq Scan" not in plan  # SQLite, PostgreSQL


def test_no_console_page_or_export_shows_a_password_hash(admin, make_user, make_planet, app):
    client, root = admin
    ada = make_user("ada")
    make_planet()
    pages = ["/admin/", "/admin/user/", f"/admin/user/details/?id={ada.id}",
             f"/admin/user/edit/?id={ada.id}", "/admin/user/new/", "/admin/audit/",
             "/admin/planet/export/csv/", "/admin/user/?search=ada", "/admin/user/export/csv/"]
    with app.app_context():
        hashes = list(db.session.scalars(select(User.password_hash)))
        tokens = list(db.session.scalars(select(UserSession.token_hash)))
    with client.session_transaction() as session:
        tokens.append(session["_user_id"])
    for path in pages:
        body = client.get(path).get_data(as_text=True)
        assert not HASH_PREFIXES.search(body), path
        assert not any(secret in body for secret in hashes + tokens), path
