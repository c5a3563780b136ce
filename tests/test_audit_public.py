"""The public flow's security events each write exactly one audit event, secrets redacted."""

from sqlalchemy import select

from console import audit
from console.audit import redact
from console.cli import set_role_command
from models import AuditEvent, db
from tests.conftest import PASSWORD


def _events(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_registration_is_audited_without_the_password(client, app):
    client.post("/register", data={"username": "ada_l", "email": "ada@example.com",
                                   "password": "analytical-engine",
                                   "confirm": "analytical-engine"})
    [event] = _events(app)
    assert (event.action, event.actor_username, event.target_type) == (
        "user.register", "ada_l", "user")
    assert event.changes == {"username": [None, "ada_l"], "email": [None, "ada@example.com"],
                             "role": [None, "member"], "is_active": [None, True]}
    assert event.remote_addr == "127.0.0.1"


def test_login_failed_login_and_logout_are_audited(auth, make_user, app):
    make_user("ada")
    auth.login("ada", "wrong password!")
    auth.login("ada")
    auth.logout()
    events = [(e.action, e.actor_username, e.changes) for e in _events(app)][1:]
    assert events == [("login.failed", "", {"login": "ada"}),
                      ("login", "ada", {}),
                      ("logout", "ada", {})]


def test_auth_events_target_the_user(auth, make_user, app):
    """Filtering the audit log by a user finds their logins, logouts and account changes."""
    user = make_user("ada")
    auth.login("ada", "wrong password!")
    auth.login("ada")
    auth.client.post("/account", data={"email": "ada.new@example.com",
                                       "current_password": PASSWORD})
    auth.logout()
    events = _events(app)[1:]
    assert [e.action for e in events] == ["login.failed", "login", "user.update", "logout"]
    assert {(e.target_type, e.target_id) for e in events} == {("user", str(user.id))}
    assert events[2].changes == {"email": ["ada@example.com", "ada.new@example.com"],
                                 "email_status": ["confirmed", "unconfirmed"]}


def test_rate_limit_lockout_is_audited_once_per_refused_attempt(auth, make_user, app):
    make_user("ada")
    for _ in range(5):
        auth.login("ada", "wrong password!")
    assert auth.login("ada").status_code == 429
    actions = [e.action for e in _events(app)]
    assert actions.count("login.failed") == 5 and actions.count("login.locked") == 1


def test_password_change_is_audited_and_redacted(login_as, app):
    client, user = login_as()
    client.post("/account/password", data={"current_password": PASSWORD,
                                           "password": "a brand new passphrase",
                                           "confirm": "a brand new passphrase"})
    event = _events(app)[-1]
    assert (event.action, event.target_id, event.changes) == (
        "user.password", str(user.id), {"password": "***"})
    assert "a brand new passphrase" not in str(event.changes)


def test_failed_password_change_writes_no_event(login_as, app):
    client, _ = login_as()
    before = len(_events(app))
    client.post("/account/password", data={"current_password": "wrong",
                                           "password": "a brand new passphrase",
                                           "confirm": "a brand new passphrase"})
    assert len(_events(app)) == before


def test_role_change_from_the_cli_is_audited(runner, make_user, app):
    make_user("ada")
    runner.invoke(set_role_command, ["ada", "editor"])
    event = _events(app)[-1]
    assert (event.action, event.via, event.changes) == (
        "user.role", "cli", {"role": ["member", "editor"]})


def test_redact_hides_secrets_at_every_depth():
    assert redact({"password": "x", "new": {"password_hash": "y", "name": "n"},
                   "api_token": "t", "email": "e"}) == {
        "password": "***", "new": {"password_hash": "***", "name": "n"},
        "api_token": "***", "email": "e"}


def test_changes_read_back_as_they_were_written(app):
    """The JSON columns' text (models.json_text): text beyond ASCII, the shortest float that
    reads back the same, nested values, and keys that are not text, as json.dumps wrote them."""
    changes = {"name": [None, "ʻOumuamua – 1I/2017 U1"], "mass_earth": [1.5, 0.1 + 0.2],
               "nested": {"count": [None, 10**15]}, 7: [None, True]}
    with app.app_context():
        audit.record("planet.update", target_type="planet", changes=changes, via="cli")
        db.session.commit()
    [event] = _events(app)
    assert event.changes == {"name": [None, "ʻOumuamua – 1I/2017 U1"],
                             "mass_earth": [1.5, 0.30000000000000004],
                             "nested": {"count": [None, 10**15]}, "7": [None, True]}
