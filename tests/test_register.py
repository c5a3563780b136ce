"""Registration: the rules of the form, uniqueness ignoring case, and racing requests."""

import threading

import pytest
from sqlalchemy import func, select

from console.services import accounts
from models import User, db
from tests.conftest import AuthActions

GOOD = {"username": "ada_l", "email": "Ada@Example.COM", "password": "analytical-engine",
        "confirm": "analytical-engine"}


def _register(client, **changes):
    return client.post("/register", data={**GOOD, **changes})


def _count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


@pytest.mark.real_hashing
def test_register_creates_an_unconfirmed_member_and_asks_to_check_the_inbox(client, app):
    response = _register(client)
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.username, user.role, user.is_active) == ("ada_l", "member", True)
        assert user.email == "Ada@example.com"  # domain normalised by email-validator
        assert user.email_confirmed_at is None  # until the link in the mail is followed
        assert user.password_hash.startswith("scrypt:")  # werkzeug's default
        assert GOOD["password"] not in user.password_hash
        assert user.check_password(GOOD["password"])
    # Registering no longer logs in (the same page answers a taken address): logging in does.
    assert client.get("/account").status_code == 302
    assert AuthActions(client).login("ada_l", GOOD["password"]).status_code == 302
    assert b"Welcome, ada_l!" in client.get("/").data


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"username": "ab"}, "Use 3 to 20 characters"),
        ({"username": "a" * 21}, "Use 3 to 20 characters"),
        ({"username": "bad name"}, "Use 3 to 20 characters"),
        ({"username": "émile"}, "Use 3 to 20 characters"),
        ({"username": ""}, "This field is required."),
        ({"email": "not-an-email"}, "An email address must have an @-sign."),
        ({"email": "a@b"}, "The part after the @-sign is not valid"),
        ({"email": ""}, "This field is required."),
        ({"password": "short", "confirm": "short"}, "Use at least 10 characters."),
        ({"password": "12345678901", "confirm": "12345678901"}, "other than digits only"),
        ({"password": "ADA_L12345", "confirm": "ADA_L12345", "username": "ada_l12345"},
         "must differ from the username"),
        ({"password": "ada@example.com", "confirm": "ada@example.com"},
         "must differ from the username and the email"),
        ({"password": "password123", "confirm": "password123"}, "too common"),
        ({"confirm": "something-else"}, "The passwords do not match."),
    ],
)
def test_register_refuses_bad_input_with_field_message(client, app, changes, field_message):
    response = _register(client, **changes)
    assert response.status_code == 200
    assert field_message.encode() in response.data
    assert b"invalid-feedback" in response.data
    assert _count_users(app) == 0


def test_register_refuses_a_taken_username_ignoring_case(client, app, make_user):
    make_user("ada_l", email="ada@example.com")
    response = _register(client, username="ADA_L", email="other@example.com")
    assert response.status_code == 200
    assert b"This username is taken." in response.data
    assert _count_users(app) == 1


def test_register_with_a_taken_email_creates_nothing_and_says_nothing(client, app, make_user):
    """The answer to a taken address is the answer to a new one (tests/test_email_confirmation.py
    compares the two pages and the mails)."""
    make_user("ada_l", email="ada@example.com")
    response = _register(client, username="someone", email="ADA@example.com")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Check your inbox" in page and "already registered" not in page
    assert _count_users(app) == 1


def test_duplicate_inserted_after_the_check_is_a_field_error(client, app, monkeypatch):
    """The database's unique index decides when another request wins between check and insert."""
    original = User.username_taken
    calls = []

    def taken_but_racing(username):
        calls.append(username)
        if len(calls) == 1:  # the pre-insert check: someone else registers right now
            with app.app_context():
                accounts.create_account("Ada_L", "racer@example.com", "another-long-pass")
            return False
        return original(username)

    monkeypatch.setattr(User, "username_taken", staticmethod(taken_but_racing))
    response = _register(client)
    assert response.status_code == 200
    assert b"This username is taken." in response.data
    assert _count_users(app) == 1


def test_simultaneous_registrations_create_exactly_one_account(app, monkeypatch):
    """Two requests pass the look-up together; one account is created, the other gets an error."""
    barrier = threading.Barrier(2, timeout=10)
    original = User.username_taken
    first_looks = threading.Semaphore(2)

    def taken_then_wait(username):
        result = original(username)
        if first_looks.acquire(blocking=False):
            barrier.wait()  # both requests have looked before either inserts
        return result

    monkeypatch.setattr(User, "username_taken", staticmethod(taken_then_wait))
    responses = []

    def register(email):
        client = app.test_client()
        responses.append(_register(client, email=email))

    threads = [threading.Thread(target=register, args=(f"ada{i}@example.com",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [r.status_code for r in responses] == [200, 200]
    refused = [r for r in responses if b"This username is taken." in r.data]
    registered = [r for r in responses if b"Check your inbox" in r.data]
    assert len(refused) == len(registered) == 1
    assert _count_users(app) == 1


def test_logged_in_user_is_sent_from_register_to_dashboard(login_as):
    client, _ = login_as()
    response = client.get("/register")
    assert response.status_code == 302 and response.location == "/"
