"""A forgotten password: the same answer for any address, a link that works once and for an hour,
rate limits per address and per account, every session ended; the lockout mail; the CLI."""

from __future__ import annotations

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from console.cli import set_password_command
from models import AuditEvent, User, UserSession, db
from tests.conftest import PASSWORD, AuthActions, csrf_token_from, masked_page
from tests.smtp import link_in, mail_parts

NEW_PASSWORD = "a brand new passphrase"


def _ask(client, email: str, **kwargs):
    return client.post("/forgot-password", data={"email": email}, **kwargs)


def _choose(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(link, data={"password": password, "confirm": confirm or password})


def _reset_link(client, mailbox, email: str = "ada@example.com") -> str:
    assert _ask(client, email).status_code == 200
    return link_in(mailbox[-1], "/reset-password")


def _later(monkeypatch, seconds: int) -> None:
    """Every signed link is checked `seconds` from now (itsdangerous' clock, nobody else's)."""
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + seconds)



def test_the_login_page_links_to_the_reset_page(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password">Forgot your password?</a>' in page
    assert "Forgot your password?" in client.get("/forgot-password").get_data(as_text=True)


def test_the_reset_mail_has_a_link_for_an_hour(client, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    _ask(client, "ADA@example.com")
    message = mailbox.one()
    assert (message["To"], message["Subject"]) == ("ada@example.com", "Reset your password")
    text, html = mail_parts(message)
    assert "within an hour" in text and "within an hour" in html
    link = link_in(message, "/reset-password")
    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_known_and_unknown_addresses_get_the_same_answer(app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    known = _ask(app.test_client(), "ada@example.com")
    unknown = _ask(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert masked_page(known.get_data(as_text=True), "ada@example.com") == masked_page(
        unknown.get_data(as_text=True), "nobody@example.com")
    assert [m["To"] for m in mailbox] == ["ada@example.com"]  # nothing to the unknown address


def test_a_malformed_address_is_a_field_message(client, mailbox):
    response = _ask(client, "not-an-address")
    assert response.status_code == 200
    assert "must have an @-sign" in response.get_data(as_text=True)
    assert not mailbox


def test_an_inactive_account_gets_no_reset_mail(client, make_user, mailbox):
    make_user("ada", email="ada@example.com", is_active=False)
    assert _ask(client, "ada@example.com").status_code == 200
    assert not mailbox


def test_the_link_sets_the_password_and_sends_to_the_login_page(client, app, make_user,
                                                                mailbox):
    user = make_user("ada", email="ada@example.com")
    response = _choose(client, _reset_link(client, mailbox))
    assert response.status_code == 302 and response.location == "/login"
    assert "Your password has been changed" in client.get("/login").get_data(as_text=True)
    auth = AuthActions(app.test_client())
    assert auth.login("ada", PASSWORD).status_code == 200  # the old one is refused
    assert AuthActions(app.test_client()).login("ada", NEW_PASSWORD).status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password_reset")).one()
        assert (event.target_id, event.actor_id, event.via) == (str(user.id), user.id, "site")
        assert event.changes["password"] == "***"  # never the password, never its hash


def test_a_reset_clears_a_pending_password_change(client, app, make_user, mailbox):
    user = make_user("ada", email="ada@example.com")
    with app.app_context():
        db.session.get(User, user.id).must_change_password = True
        db.session.commit()
    _choose(client, _reset_link(client, mailbox))
    with app.app_context():
        assert db.session.get(User, user.id).must_change_password is False


def test_the_new_password_follows_the_rules(client, app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    link = _reset_link(client, mailbox)
    response = _choose(client, link, "short")
    assert response.status_code == 200 and "Use at least 10 characters." in response.get_data(
        as_text=True)
    response = _choose(client, link, NEW_PASSWORD, "something else entirely")
    assert "The passwords do not match." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User)).check_password(PASSWORD)
    assert _choose(client, link).status_code == 302  # refusals did not use the link up


def test_the_link_works_once(client, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    link = _reset_link(client, mailbox)
    assert _choose(client, link).status_code == 302
    again = _choose(client, link, "yet another long passphrase")
    assert again.status_code == 400 and "This link does not work" in again.get_data(as_text=True)
    assert client.get(link).status_code == 400


def test_the_link_expires_after_an_hour(client, make_user, mailbox, monkeypatch):
    make_user("ada", email="ada@example.com")
    link = _reset_link(client, mailbox)
    _later(monkeypatch, 59 * 60)
    assert client.get(link).status_code == 200
    _later(monkeypatch, 2 * 60)  # 61 minutes in all
    assert client.get(link).status_code == 400
    assert _choose(client, link).status_code == 400


def test_the_link_stops_working_once_the_password_changes(app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    client = app.test_client()
    link = _reset_link(client, mailbox)
    AuthActions(client).login("ada")
    client.post("/account/password", data={"current_password": PASSWORD,
                                           "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert app.test_client().get(link).status_code == 400


@pytest.mark.parametrize("token", ["", "nonsense", "a" * 5000, "eyJ.forged.token"])
def test_a_forged_link_does_not_work(client, token):
    assert client.get("/reset-password", query_string={"token": token}).status_code == 400


def test_a_confirmation_link_is_no_reset_link(client, app, mailbox):
    client.post("/register", data={"username": "ada_l", "email": "ada@example.com",
                                   "password": PASSWORD, "confirm": PASSWORD})
    token = link_in(mailbox.one(), "/confirm-email").split("token=")[1]
    assert client.get("/reset-password", query_string={"token": token}).status_code == 400


def test_a_reset_ends_every_session_of_the_account(app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login("ada")
    AuthActions(phone).login("ada", remember=True)
    assert phone.get("/account").status_code == 200
    link = _reset_link(app.test_client(), mailbox)
    assert _choose(laptop, link).status_code == 302  # even the browser that resets
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(UserSession)).all() == []


@pytest.mark.parametrize("app_config", [{"RESET_RATE_LIMIT": "2 per hour"}])
def test_reset_requests_are_limited_per_client_address(app, app_config):
    client = app.test_client()
    statuses = [_ask(client, f"person{n}@example.com").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    other = app.test_client()
    assert _ask(other, "person9@example.com",
                environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


@pytest.mark.parametrize("app_config", [{"RESET_RATE_LIMIT": "2 per hour"}])
@pytest.mark.parametrize("has_account", [True, False])
def test_reset_requests_are_limited_per_account_typed(app, make_user, mailbox, app_config,
                                                      has_account):
    """From three addresses, one account: the third is refused, whether or not the address has
    an account and however it is spelt (the count tells nothing)."""
    if has_account:
        make_user("ada", email="ada@example.com")
    spellings = ["ada@example.com", "ADA@Example.com", " ada@EXAMPLE.COM "]
    statuses = [_ask(app.test_client(), email, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
                .status_code for n, email in enumerate(spellings, start=1)]
    assert statuses == [200, 200, 429]
    assert len(mailbox) == (2 if has_account else 0)


# --- the mail after repeated failed logins ----------------------------------------------------

@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "2 per minute"}])
def test_a_locked_account_gets_one_mail_with_a_reset_link(app, make_user, mailbox, app_config):
    make_user("ada", email="ada@example.com")

    def fail(address: str) -> int:
        return AuthActions(app.test_client()).login(
            "ada", "wrong password", environ_base={"REMOTE_ADDR": address}).status_code

    assert [fail("10.0.0.1") for _ in range(2)] == [200, 200]
    assert [fail("10.0.0.1") for _ in range(3)] == [429, 429, 429]
    message = mailbox.one()
    assert (message["To"], message["Subject"]) == ("ada@example.com",
                                                   "Failed logins to your account")
    assert PASSWORD not in message.as_string() and "wrong password" not in message.as_string()
    link = link_in(message, "/reset-password")
    fail("10.0.0.7")  # another address, the same window: no second mail
    assert len(mailbox) == 1
    client = app.test_client()
    assert _choose(client, link).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "2 per minute"}])
def test_failed_logins_for_no_account_send_nothing(app, mailbox, app_config):
    auth = AuthActions(app.test_client())
    for _ in range(4):
        auth.login("nobody@example.com", "wrong password")
    assert auth.login("nobody@example.com", "wrong password").status_code == 429
    assert not mailbox


# --- flask set-password -----------------------------------------------------------------------

def _set_password(runner, *args, input: str):  # noqa: A002 - click's name
    return runner.invoke(set_password_command, list(args), input=input)


def test_set_password_prompts_twice_and_ends_sessions(runner, app, login_as):
    client, user = login_as()
    result = _set_password(runner, user.username, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert f"The password of {user.username!r} is set" in result.output
    assert client.get("/account").status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).check_password(NEW_PASSWORD)
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.password")).one()
        assert (event.via, event.changes) == ("cli", {"password": "***"})


def test_set_password_reads_standard_input(runner, app, make_user):
    user = make_user("ada")
    result = _set_password(runner, "ada", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, user.id).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("ada", "short", "Error: Use at least 10 characters.\n"),
        ("ada", "", "Error: No password given; nothing changed.\n"),
        ("ghost", NEW_PASSWORD, "Error: No user named 'ghost'.\n"),
    ],
)
def test_set_password_refusals_are_one_line_and_status_1(runner, app, make_user, username,
                                                         password, message):
    make_user("ada")
    result = _set_password(runner, username, "--password-stdin", input=password + "\n")
    assert (result.exit_code, result.output) == (1, message)
    with app.app_context():
        assert db.session.scalar(select(User)).check_password(PASSWORD)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_reset_forms_need_the_csrf_token(app, make_user, mailbox, app_config):
    make_user("ada", email="ada@example.com")
    client = app.test_client()
    assert _ask(client, "ada@example.com").status_code == 400
    assert not mailbox
    token = csrf_token_from(client.get("/forgot-password").get_data(as_text=True))
    client.post("/forgot-password", data={"email": "ada@example.com", "csrf_token": token})
    link = link_in(mailbox.one(), "/reset-password")
    assert _choose(client, link).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User)).check_password(PASSWORD)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                   "csrf_token": token}).status_code == 302
