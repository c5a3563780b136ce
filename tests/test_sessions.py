"""Stored sessions: a login is a row on the server; logging out, timeouts and account changes end
it there, so a copied session or remember-me cookie stops working at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from models import AuditEvent, User, UserSession, db, utcnow
from tests.conftest import PASSWORD, AuthActions

CHROME_ON_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/131.0.0.0 Safari/537.36")
FIREFOX_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
                      "Firefox/133.0")


def _device(app, user_agent: str = CHROME_ON_LINUX, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    return client


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def _copy(client, app, name: str = "session"):
    """A new browser holding only a copy of `client`'s cookie `name`."""
    copy = app.test_client()
    copy.set_cookie(name, client.get_cookie(name).value)
    return copy


def _sessions(app, user_id: int) -> list[UserSession]:
    with app.app_context():
        return db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                                  .order_by(UserSession.id)).all()


def _age(app, user_id: int, **ago) -> None:
    """Move every stored session of the user (login and last seen) `ago` into the past."""
    with app.app_context():
        for session in db.session.scalars(select(UserSession).where(
                UserSession.user_id == user_id)):
            session.created_at -= timedelta(**ago)
            session.last_seen_at -= timedelta(**ago)
        db.session.commit()


def test_each_login_stores_a_session_with_device_and_address(app, make_user):
    ada = make_user("ada")
    AuthActions(_device(app, address="10.1.2.3")).login("ada")
    AuthActions(_device(app, FIREFOX_ON_WINDOWS)).login("ada", remember=True)
    first, second = _sessions(app, ada.id)
    assert (first.remote_addr, first.remember, first.user_agent) == ("10.1.2.3", False,
                                                                     CHROME_ON_LINUX)
    assert (second.remote_addr, second.remember) == ("127.0.0.1", True)


def test_a_copied_session_cookie_stops_working_at_logout(app, make_user):
    make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    copy = _copy(browser, app)
    assert _logged_in(copy)
    AuthActions(browser).logout()
    assert not _logged_in(copy)
    assert not _logged_in(browser)


def test_a_copied_remember_me_cookie_stops_working_at_logout(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada", remember=True)
    copy = _copy(browser, app, "remember_token")
    assert _logged_in(copy)  # the remember-me cookie alone logs in: it names the session
    AuthActions(browser).logout()
    assert not _logged_in(copy)
    assert _sessions(app, ada.id) == []


def test_logout_ends_only_this_devices_session(app, make_user):
    make_user("ada")
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login("ada")
    AuthActions(phone).login("ada")
    AuthActions(laptop).logout()
    assert _logged_in(phone) and not _logged_in(laptop)


def test_an_idle_session_ends_after_the_idle_timeout(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    _age(app, ada.id, minutes=app.config["SESSION_IDLE_MINUTES"] - 5)
    assert _logged_in(browser)  # in use: seen again now
    _age(app, ada.id, minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    assert not _logged_in(browser)
    assert _sessions(app, ada.id) == []


def test_a_remembered_session_outlives_the_idle_timeout_until_the_remember_duration(app,
                                                                                    make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada", remember=True)
    _age(app, ada.id, hours=5)
    assert _logged_in(browser)
    _age(app, ada.id, seconds=app.config["REMEMBER_COOKIE_DURATION"] + 60)
    assert not _logged_in(browser)


def test_any_session_ends_at_the_absolute_lifetime_even_in_use(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada", remember=True)
    with app.app_context():
        db.session.execute(update(UserSession).values(
            created_at=utcnow() - timedelta(days=app.config["SESSION_LIFETIME_DAYS"], minutes=1)))
        db.session.commit()
    assert not _logged_in(browser)
    assert _sessions(app, ada.id) == []


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 10,
                                         "SESSION_LIFETIME_DAYS": 2}])
def test_the_timeouts_come_from_the_settings(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    _age(app, ada.id, minutes=11)
    assert not _logged_in(browser)
    AuthActions(browser).login("ada", remember=True)
    _age(app, ada.id, days=2, minutes=1)
    assert not _logged_in(browser)


def test_last_seen_is_written_at_most_once_a_minute(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    writes = []
    with app.app_context():
        engine = db.engine

    def count(connection, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert _logged_in(browser)
        assert writes == []
        _age(app, ada.id, seconds=61)
        before = _sessions(app, ada.id)[0].last_seen_at
        writes.clear()
        assert _logged_in(browser) and _logged_in(browser)
        assert len(writes) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert _sessions(app, ada.id)[0].last_seen_at > before


def test_the_account_page_lists_where_the_user_is_logged_in(app, make_user):
    make_user("ada")
    laptop = _device(app, CHROME_ON_LINUX, "10.0.0.7")
    phone = _device(app, FIREFOX_ON_WINDOWS, "10.0.0.8")
    AuthActions(laptop).login("ada")
    AuthActions(phone).login("ada", remember=True)
    page = laptop.get("/account").get_data(as_text=True)
    assert "Chrome 131 on Linux" in page and "10.0.0.7" in page
    assert "Firefox 133 on Windows" in page and "10.0.0.8" in page
    assert page.count("This device") == 1
    assert "Log out everywhere else" in page


def test_ending_another_session_logs_that_device_out(app, make_user):
    ada = make_user("ada")
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login("ada")
    AuthActions(phone).login("ada")
    phone_session = _sessions(app, ada.id)[1]
    response = laptop.post(f"/account/sessions/{phone_session.id}/end")
    assert response.status_code == 302
    assert not _logged_in(phone) and _logged_in(laptop)
    with app.app_context():
        event_ = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "session.end")).one()
        assert event_.target_id == str(ada.id)


def test_nobody_ends_a_session_of_another_account(app, make_user):
    ada = make_user("ada")
    make_user("bob")
    ada_browser, bob_browser = app.test_client(), app.test_client()
    AuthActions(ada_browser).login("ada")
    AuthActions(bob_browser).login("bob")
    assert bob_browser.post(f"/account/sessions/{_sessions(app, ada.id)[0].id}/end"
                            ).status_code == 404
    assert _logged_in(ada_browser)


def test_ending_this_devices_session_from_the_list_is_a_logout(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    browser.post(f"/account/sessions/{_sessions(app, ada.id)[0].id}/end")
    assert not _logged_in(browser)


def test_log_out_everywhere_else_keeps_only_this_device(app, make_user):
    ada = make_user("ada")
    devices = [app.test_client() for _ in range(3)]
    for device in devices:
        AuthActions(device).login("ada", remember=True)
    devices[0].post("/account/sessions/end-others")
    assert [_logged_in(device) for device in devices] == [True, False, False]
    assert len(_sessions(app, ada.id)) == 1


@pytest.mark.parametrize("change", [{"role": "viewer"}, {"is_active": ""}])
def test_role_change_and_deactivation_end_every_session(app, make_user, login_as, change):
    admin_client, _ = login_as("admin")
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada", remember=True)
    form = {"username": "ada", "email": ada.email, "role": "member", "is_active": "y",
            "new_password": "", **change}
    assert admin_client.post(f"/admin/user/edit/?id={ada.id}", data=form).status_code == 302
    assert not _logged_in(browser)
    assert _sessions(app, ada.id) == []


def test_an_admin_ends_every_session_of_a_user_from_the_console(app, make_user, login_as):
    admin_client, _ = login_as("admin")
    ada = make_user("ada")
    devices = [app.test_client(), app.test_client()]
    for device in devices:
        AuthActions(device).login("ada", remember=True)
    details = admin_client.get(f"/admin/user/details/?id={ada.id}").get_data(as_text=True)
    assert "End all sessions of ada" in details
    response = admin_client.post("/admin/user/action/", data={
        "action": "end_sessions", "rowid": [str(ada.id)]})
    assert response.status_code == 302
    assert not any(_logged_in(device) for device in devices)
    with app.app_context():
        recorded = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.sessions_end")).one()
        assert (recorded.target_id, recorded.via, recorded.changes) == (
            str(ada.id), "console", {"sessions": [2, 0]})


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_end_sessions_of_others(app, make_user, login_as, role):
    staff_client, _ = login_as(role)
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    details = staff_client.get(f"/admin/user/details/?id={ada.id}").get_data(as_text=True)
    assert "End all sessions" not in details
    assert staff_client.post("/admin/user/action/", data={
        "action": "end_sessions", "rowid": [str(ada.id)]}).status_code == 403
    assert _logged_in(browser)


def test_a_session_ended_through_one_app_server_is_refused_by_another(app, make_user,
                                                                      database_url,
                                                                      app_config, tmp_path):
    """Two app instances on one database, as behind a load balancer (the real two-server test,
    with gunicorn and Redis, is tests/test_two_servers.py)."""
    from console import create_app
    from tests.conftest import _test_config

    other = create_app(_test_config(database_url, **app_config),
                       instance_path=str(tmp_path / "other"))
    make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    cookie = browser.get_cookie("session").value
    elsewhere = other.test_client()
    elsewhere.set_cookie("session", cookie)
    assert _logged_in(elsewhere)
    AuthActions(elsewhere).logout()
    assert not _logged_in(browser)
    with other.app_context():
        db.engine.dispose()


def test_an_inactive_account_is_logged_out_even_with_a_stored_session(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    with app.app_context():
        db.session.execute(update(User).where(User.id == ada.id).values(is_active=False))
        db.session.commit()
    assert not _logged_in(browser)


def test_no_page_shows_a_session_token_or_its_hash(app, make_user):
    ada = make_user("ada")
    browser = app.test_client()
    AuthActions(browser).login("ada")
    token = _token(browser)
    page = browser.get("/account").get_data(as_text=True)
    stored = _sessions(app, ada.id)[0].token_hash
    assert token not in page and stored not in page


def _token(client) -> str:
    with client.session_transaction() as session:
        return session["_user_id"]


def test_wrong_password_for_a_session_keeps_nothing(app, make_user):
    ada = make_user("ada")
    AuthActions(app.test_client()).login("ada", password=PASSWORD + "x")
    assert _sessions(app, ada.id) == []
