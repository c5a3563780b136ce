"""Two-factor sign-in: enrolment with a QR code and a code, recovery codes shown once and stored
hashed, the login's code step (single use, rate limited, short-lived), turning it off, an admin's
and the CLI's reset, and STAFF_TWO_FACTOR for the console."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from console.cli import reset_two_factor_command
from console.config import ConfigurationError, settings_from_environment
from console.services import two_factor
from models import ApiToken, AuditEvent, RecoveryCode, User, UserSession, db
from models.api_tokens import secret_hash
from tests.conftest import PASSWORD, AuthActions

CODE_PAGE = "/login/two-factor"
WRONG_CODE = b"That code is not right, or it was used already."
RECOVERY_CODE = re.compile(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}")


def code(secret: str, steps: int = 0) -> str:
    """The app's code for now, or `steps` time steps (of 30 s) later."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def _stored(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        for event in events:
            db.session.expunge(event)
        return events


def _enrolment_page(client) -> tuple[str, str]:
    """The secret and the signed enrolment of a fresh enrolment page."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([^<]+)<', page)[1].replace(" ", "")
    enrolment = re.search(r'name="enrolment"[^>]*value="([^"]+)"', page)[1]
    return secret, enrolment


@pytest.fixture
def with_two_factor(app, make_user):
    """A stored user with two-factor sign-in on: with_two_factor("editor") -> (user, secret,
    recovery codes). The enrolment took the code of this time step."""

    def make(role: str = "member", **kwargs) -> tuple[User, str, list[str]]:
        user = make_user(role=role, **kwargs)
        secret = two_factor.new_secret()
        with app.app_context():
            codes = two_factor.enable(db.session.get(User, user.id), secret, code(secret))
        return _stored(app, user.id), secret, codes

    return make


def _log_in_with_code(app, user: User, secret: str):
    client = app.test_client()
    AuthActions(client).login(user.username)
    assert client.post(CODE_PAGE, data={"code": code(secret, 1)}).status_code == 302
    return client


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


# --- enrolment ----------------------------------------------------------------------------------

def test_enrolment_page_draws_the_qr_code_here_and_shows_the_secret(login_as):
    client, user = login_as()
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and "<path" in page  # inline, drawn by the server
    assert "otpauth" not in page and "https://" not in page  # no outside service sees it
    secret = re.search(r'id="two-factor-secret">([^<]+)<', page)[1].replace(" ", "")
    assert two_factor.valid_secret(secret)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page


def test_enrolment_keeps_the_new_secret_out_of_the_session_cookie(login_as, app):
    client, _ = login_as()
    secret, _ = _enrolment_page(client)
    cookie = client.get_cookie("session").value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert secret not in str(session)


def test_enrolment_with_a_wrong_code_is_refused_and_keeps_the_secret(login_as, app):
    client, user = login_as()
    secret, enrolment = _enrolment_page(client)
    wrong = f"{(int(code(secret)) + 1) % 1_000_000:06d}"
    response = client.post("/account/two-factor", data={"code": wrong, "enrolment": enrolment})
    assert response.status_code == 200 and WRONG_CODE in response.data
    assert secret in response.get_data(as_text=True).replace(" ", "")  # no need to scan again
    assert not _stored(app, user.id).two_factor_enabled


def test_enrolment_with_the_right_code_turns_it_on_and_shows_recovery_codes_once(login_as, app):
    client, user = login_as()
    secret, enrolment = _enrolment_page(client)
    response = client.post("/account/two-factor",
                           data={"code": code(secret), "enrolment": enrolment})
    assert response.status_code == 200
    codes = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert response.headers["Cache-Control"] == "no-store"
    stored = _stored(app, user.id)
    assert stored.totp_secret == secret and stored.two_factor_enabled
    later = client.get("/account/two-factor").get_data(as_text=True)
    assert not any(recovery in later for recovery in codes)
    assert "You have 10 unused recovery codes." in later
    assert 'inputmode="None"' not in later
    [event] = _events(app, "two_factor.enable")
    assert event.changes == {"two_factor": [False, True], "recovery_codes": [0, 10]}


def test_recovery_codes_are_stored_only_as_hashes(with_two_factor, app):
    user, secret, codes = with_two_factor()
    with app.app_context():
        rows = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
        hashes = {row.code_hash for row in rows}
        events = " ".join(str(event.changes) for event in db.session.scalars(select(AuditEvent)))
    assert hashes == {secret_hash(recovery.replace("-", "")) for recovery in codes}
    assert not any(recovery in hashes or recovery.replace("-", "") in hashes
                   for recovery in codes)
    assert secret not in events and not any(recovery in events for recovery in codes)


@pytest.mark.parametrize("forged", ["", "not signed", "eyJ1c2VyIjoxfQ.forged.signature"])
def test_enrolment_needs_a_secret_this_page_signed(login_as, app, forged):
    client, user = login_as()
    secret, _ = _enrolment_page(client)
    response = client.post("/account/two-factor", data={"code": code(secret), "enrolment": forged})
    assert response.status_code == 200
    assert not _stored(app, user.id).two_factor_enabled


def test_enrolment_signed_for_another_user_is_refused(login_as, app):
    first, _ = login_as()
    secret, enrolment = _enrolment_page(first)
    second, other = login_as()
    response = second.post("/account/two-factor",
                           data={"code": code(secret), "enrolment": enrolment})
    assert b"This page has expired" in response.data
    assert not _stored(app, other.id).two_factor_enabled


def test_enrolment_page_needs_a_login(client):
    response = client.get("/account/two-factor")
    assert response.status_code == 302 and response.location.startswith("/login")


# --- the login's code step ----------------------------------------------------------------------

def test_login_asks_for_the_code_after_the_password(with_two_factor, app):
    user, _, _ = with_two_factor()
    client = app.test_client()
    response = AuthActions(client).login(user.username)
    assert response.status_code == 302 and response.location == CODE_PAGE
    page = client.get(CODE_PAGE)
    assert page.status_code == 200 and b'autocomplete="one-time-code"' in page.data
    assert not _logged_in(client)  # the password alone logged nobody in
    with app.app_context():
        assert db.session.scalar(select(UserSession.id)) is None


def test_the_code_page_offers_a_recovery_code_with_a_keyboard_for_letters(with_two_factor, app):
    user, _, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    assert b'inputmode="numeric"' in client.get(CODE_PAGE).data
    page = client.get(CODE_PAGE, query_string={"recovery": "1"}).get_data(as_text=True)
    assert "Recovery code" in page and 'inputmode="text"' in page


def test_a_wrong_password_never_reaches_the_code_step(with_two_factor, auth, client):
    user, _, _ = with_two_factor()
    response = auth.login(user.username, "wrong password!")
    assert response.status_code == 200 and b"Invalid username/email or password." in response.data
    assert client.get(CODE_PAGE).location == "/login"


def test_a_wrong_code_is_refused(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    wrong = f"{(int(code(secret, 1)) + 1) % 1_000_000:06d}"
    response = client.post(CODE_PAGE, data={"code": wrong})
    assert response.status_code == 200 and WRONG_CODE in response.data
    assert not _logged_in(client)
    assert [event.target_id for event in _events(app, "login.two_factor_failed")] == [str(user.id)]


def test_the_right_code_logs_in_and_follows_next(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username, remember=True,
                              query_string={"next": "/account/password"})
    response = client.post(CODE_PAGE, data={"code": code(secret, 1)})
    assert response.status_code == 302 and response.location == "/account/password"
    assert _logged_in(client)
    assert client.get_cookie("remember_token") is not None
    assert [event.actor_id for event in _events(app, "login")] == [user.id]


def test_a_code_is_taken_only_once(with_two_factor, app):
    user, secret, _ = with_two_factor()
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login(user.username)
    AuthActions(second).login(user.username)
    same = code(secret, 1)
    assert first.post(CODE_PAGE, data={"code": same}).status_code == 302
    response = second.post(CODE_PAGE, data={"code": same})
    assert response.status_code == 200 and WRONG_CODE in response.data
    assert not _logged_in(second)


def test_the_enrolment_code_and_older_codes_do_not_log_in(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    for old in (code(secret), code(secret, -1)):  # the step the enrolment took, one before
        assert WRONG_CODE in client.post(CODE_PAGE, data={"code": old}).data
    assert not _logged_in(client)


def test_a_recovery_code_logs_in_once(with_two_factor, app):
    user, _, codes = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    typed = " " + codes[0].upper().replace("-", " ") + " "  # spaces and case do not matter
    assert client.post(CODE_PAGE, data={"code": typed}).status_code == 302
    AuthActions(client).logout()
    AuthActions(client).login(user.username)
    response = client.post(CODE_PAGE, data={"code": codes[0]})
    assert response.status_code == 200 and WRONG_CODE in response.data
    with app.app_context():
        assert two_factor.recovery_codes_left(db.session.get(User, user.id)) == 9
    [event] = _events(app, "two_factor.recovery_code_used")
    assert event.changes == {"recovery_codes": [10, 9]}


def test_a_recovery_code_of_another_account_does_not_log_in(with_two_factor, app):
    user, _, _ = with_two_factor()
    _, _, others = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    assert WRONG_CODE in client.post(CODE_PAGE, data={"code": others[0]}).data


@pytest.mark.parametrize("app_config", [{"TWO_FACTOR_RATE_LIMIT": "3 per minute"}])
def test_the_code_step_is_rate_limited_per_account(with_two_factor, app):
    user, secret, _ = with_two_factor()
    other, other_secret, _ = with_two_factor()
    clients = [app.test_client() for _ in range(2)]
    for client in clients:  # another address or browser gets no fresh attempts
        AuthActions(client).login(user.username)
    for attempt in range(3):
        clients[attempt % 2].post(CODE_PAGE, data={"code": "000000"})
    assert clients[1].post(CODE_PAGE, data={"code": code(secret, 1)}).status_code == 429
    assert not _logged_in(clients[1])
    fresh = app.test_client()
    AuthActions(fresh).login(other.username)
    assert fresh.post(CODE_PAGE, data={"code": code(other_secret, 1)}).status_code == 302


@pytest.mark.parametrize("app_config", [{"TWO_FACTOR_RATE_LIMIT": "3 per minute"}])
def test_every_page_that_takes_a_code_shares_the_accounts_budget(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = _log_in_with_code(app, user, secret)  # the first attempt
    wrong = {"off-current_password": PASSWORD, "off-code": "000000"}
    for _ in range(2):
        assert client.post("/account/two-factor/disable", data=wrong).status_code == 200
    response = client.post("/account/two-factor/recovery-codes",
                           data={"renew-current_password": PASSWORD, "renew-code": code(secret)})
    assert response.status_code == 429


def test_the_code_page_without_a_password_step_goes_to_login(client, with_two_factor):
    with_two_factor()
    assert client.get(CODE_PAGE).location == "/login"
    response = client.post(CODE_PAGE, data={"code": "123456"})
    assert response.location == "/login"
    assert not _logged_in(client)


def test_a_pending_login_expires(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    with client.session_transaction() as session:
        pending = session["two_factor_login"]
        assert set(pending) == {"user", "remember", "next", "at"}  # nothing secret
        pending["at"] -= 6 * 60
        session["two_factor_login"] = pending
    response = client.post(CODE_PAGE, data={"code": code(secret, 1)})
    assert response.status_code == 302 and response.location == "/login"
    assert not _logged_in(client)
    assert b"Log in again" in client.get("/login").data


def test_a_pending_login_of_a_deactivated_account_is_void(with_two_factor, app):
    user, secret, _ = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    assert client.post(CODE_PAGE, data={"code": code(secret, 1)}).location == "/login"
    assert not _logged_in(client)


# --- turning it off, new recovery codes ---------------------------------------------------------

@pytest.mark.parametrize(("password", "which_code", "message"), [
    ("wrong password!", "app", b"The current password is not correct."),
    (PASSWORD, "wrong", WRONG_CODE),
    (PASSWORD, "", b"Enter a code."),
    ("", "app", b"This field is required."),
])
def test_turning_it_off_needs_the_password_and_a_code(with_two_factor, app, password,
                                                      which_code, message):
    user, secret, _ = with_two_factor()
    client = _log_in_with_code(app, user, secret)
    typed = {"app": code(secret, -1), "wrong": "000000", "": ""}[which_code]
    response = client.post("/account/two-factor/disable",
                           data={"off-current_password": password, "off-code": typed})
    assert response.status_code == 200 and message in response.data
    assert _stored(app, user.id).two_factor_enabled


@pytest.mark.parametrize("which", ["app", "recovery"])
def test_turning_it_off_with_the_password_and_a_code(with_two_factor, app, which):
    user, secret, codes = with_two_factor()
    client = app.test_client()
    AuthActions(client).login(user.username)
    client.post(CODE_PAGE, data={"code": codes[1]})  # leaves the app's codes untaken
    typed = code(secret, 1) if which == "app" else codes[0]
    response = client.post("/account/two-factor/disable",
                           data={"off-current_password": PASSWORD, "off-code": typed})
    assert response.status_code == 302 and response.location == "/account"
    stored = _stored(app, user.id)
    assert stored.totp_secret is None and stored.totp_last_step is None
    with app.app_context():
        assert db.session.scalar(select(RecoveryCode.id)
                                 .where(RecoveryCode.user_id == user.id)) is None
    [event] = _events(app, "two_factor.disable")
    left = 9 if which == "app" else 8
    assert event.changes == {"two_factor": [True, False], "recovery_codes": [left, 0]}
    AuthActions(client).logout()
    assert AuthActions(client).login(user.username).location == "/"  # the password alone


def test_new_recovery_codes_replace_the_old_ones(with_two_factor, app):
    user, secret, old = with_two_factor()
    client = _log_in_with_code(app, user, secret)
    response = client.post("/account/two-factor/recovery-codes",
                           data={"renew-current_password": PASSWORD, "renew-code": old[0]})
    new = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert response.status_code == 200 and len(set(new)) == 10 and not set(new) & set(old)
    AuthActions(client).logout()
    AuthActions(client).login(user.username)
    assert WRONG_CODE in client.post(CODE_PAGE, data={"code": old[1]}).data
    assert client.post(CODE_PAGE, data={"code": new[0]}).status_code == 302
    [event] = _events(app, "two_factor.recovery_codes")
    assert event.changes == {"recovery_codes": [9, 10]}


def test_new_recovery_codes_need_the_password(with_two_factor, app):
    user, secret, old = with_two_factor()
    client = _log_in_with_code(app, user, secret)
    response = client.post("/account/two-factor/recovery-codes",
                           data={"renew-current_password": "wrong password!",
                                 "renew-code": old[0]})
    assert b"The current password is not correct." in response.data
    assert set(RECOVERY_CODE.findall(response.get_data(as_text=True))) == {old[0]}  # as typed
    with app.app_context():
        assert two_factor.recovery_codes_left(db.session.get(User, user.id)) == 10


def test_the_account_page_links_to_two_factor(login_as):
    client, _ = login_as()
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/account/two-factor"' in page and "Turn on two-factor sign-in" in page


# --- an admin's reset, the CLI's ----------------------------------------------------------------

def test_an_admin_resets_two_factor_in_the_console(login_as, with_two_factor, app):
    admin, boss = login_as("admin")
    user, _, _ = with_two_factor()
    details = admin.get(f"/admin/user/details/?id={user.id}").get_data(as_text=True)
    assert 'value="reset_two_factor"' in details
    response = admin.post("/admin/user/action/",
                          data={"action": "reset_two_factor", "rowid": [str(user.id)]})
    assert response.status_code == 302
    assert not _stored(app, user.id).two_factor_enabled
    [event] = _events(app, "two_factor.reset")
    assert (event.via, event.actor_id, event.target_id) == ("console", boss.id, str(user.id))
    assert event.changes == {"two_factor": [True, False], "recovery_codes": [10, 0]}


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_reset_two_factor(login_as, with_two_factor, app, role):
    client, _ = login_as(role)
    user, _, _ = with_two_factor()
    details = client.get(f"/admin/user/details/?id={user.id}").get_data(as_text=True)
    assert 'value="reset_two_factor"' not in details
    response = client.post("/admin/user/action/",
                           data={"action": "reset_two_factor", "rowid": [str(user.id)]})
    assert response.status_code == 403
    assert _stored(app, user.id).two_factor_enabled


def test_an_admin_cannot_reset_their_own_two_factor(with_two_factor, app):
    admin, secret, _ = with_two_factor("admin")
    client = _log_in_with_code(app, admin, secret)
    response = client.post("/admin/user/action/", follow_redirects=True,
                           data={"action": "reset_two_factor", "rowid": [str(admin.id)]})
    assert b"You cannot reset your own two-factor sign-in" in response.data
    assert _stored(app, admin.id).two_factor_enabled


def test_the_cli_resets_two_factor(with_two_factor, runner, app):
    user, _, _ = with_two_factor()
    result = runner.invoke(reset_two_factor_command, [user.username])
    assert result.exit_code == 0 and "is reset" in result.output
    assert not _stored(app, user.id).two_factor_enabled
    [event] = _events(app, "two_factor.reset")
    assert event.via == "cli"
    again = runner.invoke(reset_two_factor_command, [user.username])
    assert again.exit_code == 0 and "nothing changed" in again.output


def test_the_cli_refuses_an_unknown_user(runner):
    result = runner.invoke(reset_two_factor_command, ["nobody"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: No user named 'nobody'."


# --- STAFF_TWO_FACTOR ---------------------------------------------------------------------------

REQUIRED = [{"STAFF_TWO_FACTOR": "required"}]


@pytest.mark.parametrize("app_config", REQUIRED)
@pytest.mark.parametrize("url", ["/admin/", "/admin/planet/", "/admin/user/"])
def test_required_sends_staff_without_two_factor_to_turn_it_on(login_as, url):
    client, _ = login_as("admin")
    response = client.get(url)
    assert response.status_code == 302
    assert response.location.startswith("/account/two-factor?next=")
    page = client.get(response.location)
    assert b"staff accounts need it" in page.data and b"<svg" in page.data


@pytest.mark.parametrize("app_config", REQUIRED)
def test_required_lets_staff_with_two_factor_in(with_two_factor, app):
    user, secret, _ = with_two_factor("viewer")
    client = _log_in_with_code(app, user, secret)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("app_config", REQUIRED)
def test_required_leaves_members_with_the_403(login_as):
    client, _ = login_as("member")
    assert client.get("/admin/").status_code == 403


@pytest.mark.parametrize("app_config", REQUIRED)
def test_required_returns_to_the_console_after_enrolment(login_as):
    client, _ = login_as("editor")
    enrol_url = client.get("/admin/planet/").location
    page = client.get(enrol_url).get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([^<]+)<', page)[1].replace(" ", "")
    enrolment = re.search(r'name="enrolment"[^>]*value="([^"]+)"', page)[1]
    response = client.post(enrol_url, data={"code": code(secret), "enrolment": enrolment})
    assert 'href="/admin/planet/"' in response.get_data(as_text=True)
    assert client.get("/admin/planet/").status_code == 200


@pytest.mark.parametrize("app_config", REQUIRED)
def test_required_holds_back_api_tokens_until_two_factor_is_on(login_as, with_two_factor, app):
    client, editor = login_as("editor")
    response = client.post("/account/tokens", data={"name": "ci"})
    assert response.status_code == 302 and response.location == "/account/two-factor"
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id)) is None
    user, secret, _ = with_two_factor("editor")
    enrolled = _log_in_with_code(app, user, secret)
    assert b"is shown only this once" in enrolled.post("/account/tokens",
                                                       data={"name": "ci"}).data


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_optional_lets_staff_without_two_factor_in(login_as, role):
    client, _ = login_as(role)
    assert client.get("/admin/").status_code == 200


def _settings(tmp_path, monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return settings_from_environment(tmp_path)


def test_staff_two_factor_is_required_in_production_and_optional_in_development(tmp_path,
                                                                                monkeypatch):
    assert _settings(tmp_path, monkeypatch)["STAFF_TWO_FACTOR"] == "optional"
    production = _settings(tmp_path, monkeypatch, CONSOLE_ENV="production",
                           SECRET_KEY="Zq8v-Lx3!pW0_rT7yN4m&Kd9sB2jH6fGc1Ve5uQa",
                           TRUSTED_HOSTS="console.example.org", MAIL_SERVER="smtp.example.org",
                           JOB_QUEUE_URL="redis://cache.internal:6379/1",
                           MAIL_DEFAULT_SENDER="Console <no-reply@example.org>")
    assert production["STAFF_TWO_FACTOR"] == "required"
    monkeypatch.setenv("STAFF_TWO_FACTOR", "Optional")
    assert settings_from_environment(tmp_path)["STAFF_TWO_FACTOR"] == "optional"


@pytest.mark.parametrize(("name", "value"), [("STAFF_TWO_FACTOR", "yes"),
                                             ("STAFF_TWO_FACTOR", "off"),
                                             ("TWO_FACTOR_RATE_LIMIT", "often")])
def test_bad_two_factor_settings_stop_start_up(tmp_path, monkeypatch, name, value):
    with pytest.raises(ConfigurationError, match=name):
        _settings(tmp_path, monkeypatch, **{name: value})
