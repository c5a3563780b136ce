"""Logging in and out: generic failures, inactive accounts, safe `next`, rate limits."""

import pytest
from sqlalchemy import select

from console.services import accounts
from models import User, UserSession, db
from models.api_tokens import secret_hash
from tests.conftest import PASSWORD

GENERIC_FAILURE = b"Invalid username/email or password."


@pytest.mark.parametrize("login", ["ada", "ADA", "ada@example.com", "Ada@Example.com"])
def test_login_accepts_username_or_email_ignoring_case(auth, client, make_user, login):
    make_user("ada")
    response = auth.login(login)
    assert response.status_code == 302 and response.location == "/"
    assert b"Welcome, ada!" in client.get("/").data


def test_login_records_last_login_time(auth, app, make_user):
    user = make_user("ada")
    assert user.last_login_at is None
    auth.login("ada")
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize(
    ("login", "password"),
    [("ada", "wrong password!"), ("nobody", PASSWORD), ("nobody@example.com", PASSWORD)],
)
def test_login_failures_share_one_generic_message(auth, client, make_user, login, password):
    make_user("ada")
    response = auth.login(login, password)
    assert response.status_code == 200
    assert GENERIC_FAILURE in response.data
    assert b"Welcome, ada" not in client.get("/").data


def test_inactive_account_cannot_log_in(auth, client, make_user):
    make_user("ada", is_active=False)
    response = auth.login("ada")
    assert response.status_code == 200 and GENERIC_FAILURE in response.data
    assert b"Welcome to the Interstellar Space Station!" in client.get("/").data


def test_deactivated_user_loses_existing_session(login_as, app):
    client, user = login_as()
    with app.app_context():
        accounts.update_account(db.session.get(User, user.id), is_active=False)
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("next_url", ["/account", "/account/password?tab=1"])
def test_login_follows_next_on_this_site(auth, make_user, next_url):
    make_user("ada")
    response = auth.login("ada", query_string={"next": next_url})
    assert response.location == next_url


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example", "https://evil.example", "http://evil.example/account", "/\\evil.example",
     "\\\\evil.example", "javascript:alert(1)", "/\t/evil.example", "evil.example", "",
     "///evil.example", "/\n/evil.example"],
)
def test_login_refuses_foreign_next(auth, make_user, next_url):
    make_user("ada")
    response = auth.login("ada", query_string={"next": next_url})
    assert response.status_code == 302
    assert response.location == "/"


def test_anonymous_visit_to_protected_page_keeps_next(client):
    response = client.get("/account/password?tab=1")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert "%2Faccount%2Fpassword%3Ftab%3D1" in response.location


def test_logout_is_post_only(login_as):
    client, _ = login_as()
    assert client.get("/logout").status_code == 405
    assert b"Welcome, " in client.get("/").data
    response = client.post("/logout")
    assert response.status_code == 302
    assert b"Welcome to the Interstellar Space Station!" in client.get("/").data


def test_failed_logins_are_rate_limited_per_address(auth, make_user):
    make_user("ada")
    for _ in range(5):
        assert auth.login("ada", "wrong password!").status_code == 200
    response = auth.login("ada")  # even the right password waits
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    assert "Retry-After" in response.headers


def test_failed_logins_are_rate_limited_per_account_across_addresses(app, make_user):
    make_user("ada")
    for index in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{index + 1}"
        client.post("/login", data={"username": "ADA", "password": "wrong password!"})
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert client.post("/login", data={"username": "ada", "password": PASSWORD}).status_code == 429


def test_successful_logins_do_not_count_towards_the_limit(auth, make_user):
    make_user("ada")
    for _ in range(7):
        assert auth.login("ada").status_code == 302
        auth.logout()


def test_the_session_cookie_names_a_stored_session_by_a_token_kept_only_as_its_hash(login_as,
                                                                                   app):
    client, user = login_as()
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(user.id)
    with app.app_context():
        stored = db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id)).one()
        assert stored.token_hash == secret_hash(token) != token
