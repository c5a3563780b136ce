"""Account settings: email change behind the current password, password change ending sessions."""

import pytest

from models import User, db
from tests.conftest import PASSWORD, AuthActions

NEW_PASSWORD = "a brand new passphrase"


def _email_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def test_account_page_needs_login(client):
    response = client.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login?next=%2Faccount")


def test_change_email_with_current_password(login_as, app):
    client, user = login_as()
    response = client.post("/account", data={"email": "New@Example.ORG",
                                             "current_password": PASSWORD})
    assert response.status_code == 302
    assert _email_of(app, user.id) == "New@example.org"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "new@example.org", "current_password": "not my password"},
         "The current password is not correct."),
        ({"email": "new@example.org", "current_password": ""}, "This field is required."),
        ({"email": "nonsense", "current_password": PASSWORD}, "must have an @-sign"),
        ({"email": "TAKEN@example.com", "current_password": PASSWORD}, "already registered"),
    ],
)
def test_change_email_refusals_change_nothing(login_as, make_user, app, data, message):
    make_user("other", email="taken@example.com")
    client, user = login_as()
    response = client.post("/account", data=data)
    assert response.status_code == 200
    assert message.encode() in response.data
    assert _email_of(app, user.id) == user.email


def _change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "password": new, "confirm": confirm or new})


def test_password_change_keeps_this_session_and_ends_the_others(app, make_user):
    user = make_user("ada")
    this_device, other_device = app.test_client(), app.test_client()
    AuthActions(this_device).login("ada")
    AuthActions(other_device).login("ada")
    assert other_device.get("/account").status_code == 200

    assert _change_password(this_device).status_code == 302

    assert this_device.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).check_password(NEW_PASSWORD)


def test_password_change_ends_remember_me_cookies_of_other_devices(app, make_user):
    make_user("ada")
    this_device, remembered = app.test_client(), app.test_client()
    AuthActions(this_device).login("ada")
    AuthActions(remembered).login("ada", remember=True)
    cookie = remembered.get_cookie("remember_token")
    assert cookie is not None

    # A new browser session with only the remember-me cookie logs in before the change...
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/account").status_code == 200

    _change_password(this_device)

    # ...and not after it.
    stale = app.test_client()
    stale.set_cookie("remember_token", cookie.value)
    assert stale.get("/account").status_code == 302


def test_password_change_reissues_this_devices_remember_cookie(app, make_user):
    make_user("ada")
    client = app.test_client()
    AuthActions(client).login("ada", remember=True)
    old_cookie = client.get_cookie("remember_token").value
    _change_password(client)
    new_cookie = client.get_cookie("remember_token").value
    assert new_cookie != old_cookie
    fresh = app.test_client()
    fresh.set_cookie("remember_token", new_cookie)
    assert fresh.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password", NEW_PASSWORD, None, "The current password is not correct."),
        (PASSWORD, "short", None, "Use at least 10 characters."),
        (PASSWORD, "qwertyuiop", None, "too common"),
        (PASSWORD, "ada_lovelace", None, "must differ from the username"),
        (PASSWORD, NEW_PASSWORD, "something else", "The passwords do not match."),
    ],
)
def test_password_change_refusals_keep_the_old_password(login_as, app, current, new, confirm,
                                                        message):
    client, user = login_as(username="ada_lovelace")
    response = _change_password(client, current, new, confirm)
    assert response.status_code == 200
    assert message.encode() in response.data
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)
