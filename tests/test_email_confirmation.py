"""Email confirmation: a link valid 24 hours (sent again on request), no missions and no staff
role until confirmed, a changed address confirmed anew; and registering with a taken address
answers exactly as a new registration, creating nothing and telling the owner."""

from __future__ import annotations

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from console.cli import create_user_command, set_role_command
from console.services import accounts, applications
from models import AuditEvent, MissionApplication, Planet, User, db
from models import users as users_module
from models.errors import DomainError
from tests.conftest import PASSWORD, AuthActions, csrf_token_from, masked_page
from tests.smtp import link_in, mail_parts

NEW = {"username": "ada_l", "email": "ada@example.com", "password": PASSWORD,
       "confirm": PASSWORD}


def _register(client, **changes):
    return client.post("/register", data={**NEW, **changes})


def _registered(app, mailbox) -> tuple[object, User, str]:
    """A new member who registered through the site and logged in: (client, user, link)."""
    client = app.test_client()
    assert _register(client).status_code == 200
    link = link_in(mailbox[-1], "/confirm-email")
    assert AuthActions(client).login("ada_l").status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ada_l"))
        db.session.expunge(user)
    return client, user, link


def _user(app, user_id: int) -> User:
    with app.app_context():
        return db.session.get(User, user_id)


def _later(monkeypatch, seconds: int) -> None:
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + seconds)



# --- confirming -------------------------------------------------------------------------------

def test_registration_sends_a_confirmation_link(client, mailbox):
    _register(client)
    message = mailbox.one()
    assert (message["To"], message["Subject"]) == ("ada@example.com",
                                                   "Confirm your email address")
    text, _ = mail_parts(message)
    assert "within 24 hours" in text


def test_the_link_opens_a_page_whose_button_confirms(app, mailbox):
    client, user, link = _registered(app, mailbox)
    page = client.get(link)
    assert page.status_code == 200 and "Yes, confirm my address" in page.get_data(as_text=True)
    assert not _user(app, user.id).email_confirmed  # opening the link is not confirming
    response = client.post(link)
    assert response.status_code == 302 and response.location == "/"
    assert _user(app, user.id).email_confirmed
    assert "ada@example.com is confirmed" in client.get("/").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.email_confirm")).one()
        assert (event.target_id, event.actor_id, event.via) == (str(user.id), user.id, "site")
        assert event.changes == {"email_status": ["unconfirmed", "confirmed"]}
    assert "confirmed already" in client.get(link).get_data(as_text=True)
    assert client.post(link).status_code == 302  # twice: nothing more happens
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "user.email_confirm")) == 1


def test_the_link_works_without_logging_in(app, mailbox):
    client = app.test_client()
    _register(client)
    link = link_in(mailbox.one(), "/confirm-email")
    response = app.test_client().post(link)
    assert response.status_code == 302 and response.location == "/login"
    with app.app_context():
        assert db.session.scalar(select(User)).email_confirmed


def test_the_link_is_valid_for_24_hours(app, mailbox, monkeypatch):
    client, user, link = _registered(app, mailbox)
    _later(monkeypatch, 23 * 3600)
    assert client.get(link).status_code == 200
    _later(monkeypatch, 3601)  # 24 hours and a second
    response = client.post(link)
    assert response.status_code == 400
    assert "This link does not work" in response.get_data(as_text=True)
    assert not _user(app, user.id).email_confirmed


@pytest.mark.parametrize("token", ["", "x", "a.b.c", "9" * 3000])
def test_a_forged_link_does_not_work(client, token):
    assert client.get("/confirm-email", query_string={"token": token}).status_code == 400
    assert client.post("/confirm-email", query_string={"token": token}).status_code == 400


def test_a_reset_link_is_no_confirmation_link(app, mailbox):
    client, user, _ = _registered(app, mailbox)
    app.test_client().post("/forgot-password", data={"email": "ada@example.com"})
    token = link_in(mailbox[-1], "/reset-password").split("token=")[1]
    assert client.post("/confirm-email", query_string={"token": token}).status_code == 400
    assert not _user(app, user.id).email_confirmed


# --- the dashboard and sending the link again -------------------------------------------------

def test_the_dashboard_asks_to_confirm_with_a_button_to_send_again(app, mailbox, login_as):
    client, _, link = _registered(app, mailbox)
    page = client.get("/").get_data(as_text=True)
    assert "Confirm your email address" in page
    assert 'action="/confirm-email/resend"' in page and "Send the link again" in page
    client.post(link)
    assert "Send the link again" not in client.get("/").get_data(as_text=True)
    confirmed, _ = login_as()
    assert "Send the link again" not in confirmed.get("/").get_data(as_text=True)


def test_sending_the_link_again(app, mailbox, monkeypatch):
    client, user, first = _registered(app, mailbox)
    _later(monkeypatch, 25 * 3600)  # the first link has expired
    response = client.post("/confirm-email/resend")
    assert response.status_code == 302 and response.location == "/"
    assert "We sent a new confirmation link" in client.get("/").get_data(as_text=True)
    assert len(mailbox) == 2 and mailbox[-1]["To"] == "ada@example.com"
    second = link_in(mailbox[-1], "/confirm-email")
    assert client.post(first).status_code == 400
    assert client.post(second).status_code == 302
    assert _user(app, user.id).email_confirmed


def test_sending_the_link_again_needs_a_login(client, mailbox):
    response = client.post("/confirm-email/resend")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert not mailbox


def test_a_confirmed_account_is_sent_nothing_again(login_as, mailbox):
    client, _ = login_as()
    client.post("/confirm-email/resend")
    assert not mailbox
    assert "confirmed already" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"CONFIRM_RATE_LIMIT": "2 per hour"}])
def test_sending_the_link_again_is_rate_limited(app, mailbox, app_config):
    client, _, _ = _registered(app, mailbox)
    statuses = [client.post("/confirm-email/resend").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert len(mailbox) == 3  # the registration's and two more


@pytest.mark.parametrize("app_config", [{"CONFIRM_RATE_LIMIT": "2 per hour"}])
def test_sending_the_link_again_is_limited_per_account_from_any_address(app, mailbox,
                                                                        app_config):
    client, _, _ = _registered(app, mailbox)
    statuses = [client.post("/confirm-email/resend",
                            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(3)]
    assert statuses == [302, 302, 429]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_confirm_and_resend_buttons_need_the_csrf_token(app, mailbox, app_config):
    client = app.test_client()
    token = csrf_token_from(client.get("/register").get_data(as_text=True))
    _register(client, csrf_token=token)
    link = link_in(mailbox.one(), "/confirm-email")
    assert client.post(link).status_code == 400
    with app.app_context():
        assert not db.session.scalar(select(User)).email_confirmed
    page = client.get(link).get_data(as_text=True)
    assert client.post(link, data={"csrf_token": csrf_token_from(page)}).status_code == 302
    assert client.post("/confirm-email/resend").status_code == 400


# --- what an unconfirmed account cannot do ----------------------------------------------------

def test_an_unconfirmed_member_cannot_apply(app, mailbox, make_planet):
    client, user, link = _registered(app, mailbox)
    make_planet(name="Kepler-452 b")
    assert "Confirm your email address before you apply" in client.get(
        "/mission-application").get_data(as_text=True)
    response = client.post("/mission-application", data={"planet": "Kepler-452 b",
                                                          "motivation": "To see it."})
    assert response.status_code == 200
    assert "Confirm your email address before you apply" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(MissionApplication.id))) == 0
        with pytest.raises(DomainError, match="Confirm your email address"):
            applications.submit(db.session.get(User, user.id),
                                db.session.scalar(select(Planet)), "To see it.")
    client.post(link)
    assert client.post("/mission-application", data={"planet": "Kepler-452 b",
                                                     "motivation": "To see it."}
                       ).status_code == 302


def test_an_unconfirmed_account_cannot_be_made_staff(app, mailbox, login_as, runner):
    _, user, link = _registered(app, mailbox)
    admin, _ = login_as("admin")
    response = admin.post(f"/admin/user/edit/?id={user.id}", data={
        "username": user.username, "email": user.email, "role": "editor", "is_active": "y"})
    assert response.status_code == 200
    assert "has not confirmed their email address yet" in response.get_data(as_text=True)
    result = runner.invoke(set_role_command, [user.username, "viewer"])
    assert result.exit_code == 1 and "has not confirmed their email address" in result.output
    with app.app_context():
        with pytest.raises(DomainError) as refused:
            accounts.update_account(db.session.get(User, user.id), role="admin")
        assert refused.value.field == "role"
        assert db.session.get(User, user.id).role == "member"
    app.test_client().post(link)
    assert runner.invoke(set_role_command, [user.username, "editor"]).exit_code == 0
    assert _user(app, user.id).role == "editor"


def test_accounts_made_by_staff_or_the_cli_count_as_confirmed(app, runner, login_as):
    result = runner.invoke(create_user_command, ["grace", "grace@example.com",
                                                 "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    admin, _ = login_as("admin")
    admin.post("/admin/user/new/", data={"username": "hopper", "email": "hopper@example.com",
                                         "role": "editor", "is_active": "y",
                                         "new_password": "compiler pioneer"})
    with app.app_context():
        made = db.session.scalars(select(User).where(User.username.in_(["grace", "hopper"])))
        assert {user.username: user.email_confirmed for user in made} == {"grace": True,
                                                                         "hopper": True}


# --- a changed address ------------------------------------------------------------------------

def test_a_changed_address_is_confirmed_anew_and_staff_keep_their_role(app, login_as, mailbox):
    client, user = login_as("editor", email="eddie@example.com")
    response = client.post("/account", data={"email": "eddie@example.org",
                                             "current_password": PASSWORD})
    assert response.status_code == 302
    assert "We sent a confirmation link to eddie@example.org" in client.get(
        "/account").get_data(as_text=True)
    changed = _user(app, user.id)
    assert (changed.email, changed.email_confirmed, changed.role) == (
        "eddie@example.org", False, "editor")
    message = mailbox.one()
    assert message["To"] == "eddie@example.org"
    assert client.get("/admin/").status_code == 200  # still staff
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.update")).all()[-1]
        assert event.changes == {"email": ["eddie@example.com", "eddie@example.org"],
                                 "email_status": ["confirmed", "unconfirmed"]}
    client.post(link_in(message, "/confirm-email"))
    assert _user(app, user.id).email_confirmed


def test_a_link_for_the_old_address_stops_working(app, mailbox):
    client, user, old_link = _registered(app, mailbox)
    client.post("/account", data={"email": "ada@example.org", "current_password": PASSWORD})
    assert client.post(old_link).status_code == 400
    assert not _user(app, user.id).email_confirmed
    assert client.post(link_in(mailbox[-1], "/confirm-email")).status_code == 302


def test_an_address_an_admin_enters_stays_confirmed(app, login_as, make_user, mailbox):
    member = make_user("ada", email="ada@example.com")
    admin, _ = login_as("admin")
    admin.post(f"/admin/user/edit/?id={member.id}", data={
        "username": "ada", "email": "ada@example.org", "role": "member", "is_active": "y"})
    changed = _user(app, member.id)
    assert (changed.email, changed.email_confirmed) == ("ada@example.org", True)
    assert not mailbox


# --- registering with a taken address ---------------------------------------------------------

def test_a_taken_address_gets_the_same_page_and_creates_nothing(app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    taken = _register(app.test_client(), username="someone", email="ADA@example.com")
    new = _register(app.test_client(), username="newcomer", email="newcomer@example.com")
    assert taken.status_code == new.status_code == 200
    assert masked_page(taken.get_data(as_text=True), "ADA@example.com") == masked_page(
        new.get_data(as_text=True), "newcomer@example.com")
    with app.app_context():
        assert sorted(db.session.scalars(select(User.username))) == ["ada", "newcomer"]
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "user.register")) == 1


def test_the_owner_of_a_taken_address_is_told_with_a_reset_link(app, make_user, mailbox):
    make_user("ada", email="ada@example.com")
    _register(app.test_client(), username="someone", email="ada@example.com")
    message = mailbox.one()
    assert (message["To"], message["Subject"]) == (
        "ada@example.com", "Someone tried to register with your email address")
    text, html = mail_parts(message)
    assert "http://localhost/login" in text and 'href="http://localhost/login"' in html
    assert PASSWORD not in message.as_string()
    link = link_in(message, "/reset-password")
    response = app.test_client().post(link, data={"password": "a brand new passphrase",
                                                  "confirm": "a brand new passphrase"})
    assert response.status_code == 302 and response.location == "/login"


@pytest.mark.real_hashing
def test_a_taken_address_costs_the_same_password_hash(app, make_user, monkeypatch, mailbox):
    make_user("ada", email="ada@example.com")
    hashes = []
    real = users_module.generate_password_hash
    monkeypatch.setattr(users_module, "generate_password_hash",
                        lambda password: hashes.append(password) or real(password))
    _register(app.test_client(), username="someone", email="ada@example.com")
    _register(app.test_client(), username="newcomer", email="newcomer@example.com")
    assert hashes == [PASSWORD, PASSWORD]


def test_a_taken_address_with_a_weak_password_gets_the_password_message(client, make_user,
                                                                       mailbox):
    """The rules come first, as for a new address, so they tell nothing either."""
    make_user("ada", email="ada@example.com")
    response = _register(client, username="someone", email="ada@example.com",
                         password="1234567890", confirm="1234567890")
    assert "other than digits only" in response.get_data(as_text=True)
    assert not mailbox


def test_a_taken_username_still_gets_its_field_message(client, make_user, mailbox):
    make_user("ada_l", email="other@example.com")
    response = _register(client)
    assert "This username is taken." in response.get_data(as_text=True)
    assert not mailbox


@pytest.mark.parametrize("app_config", [{"REGISTER_RATE_LIMIT": "2 per hour"}])
def test_registrations_are_limited_per_address_typed_too(app, make_user, mailbox, app_config):
    """However many client addresses try, the owner of a taken address gets few mails."""
    make_user("ada", email="ada@example.com")
    statuses = [_register(app.test_client(), username=f"try{n}", email="ADA@example.com",
                          environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]
    assert len(mailbox) == 2
