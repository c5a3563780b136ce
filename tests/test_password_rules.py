"""Passwords: strength by estimate (zxcvbn), no near-copies of the username or email, and a
password somebody else chose must be replaced by the owner before anything else."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from console.cli import ensure_admin_command
from models import User, db
from models.users import password_problem
from tests.conftest import PASSWORD, AuthActions

OWN_PASSWORD = "a passphrase of my own"


@pytest.mark.parametrize(("password", "username", "email"), [
    ("GOODNAME1x", "goodname1", "someone@example.com"),
    ("goodname1!!", "goodname1", "someone@example.com"),
    ("Ada.Lovelace1", "ada_l", "ada.lovelace@example.com"),
    ("lovelace-example", "ada_l", "ada@lovelace-example.org"),
])
def test_near_copies_of_the_username_or_email_are_refused(password, username, email):
    assert "must differ from the username and the email" in password_problem(
        password, username, email)


@pytest.mark.parametrize("password", ["newpassword42", "password123456", "qwertyuiop12",
                                      "abcdefghijkl", "Summer2020!"])
def test_passwords_easy_to_guess_are_refused_with_the_reason(password):
    problem = password_problem(password, "ada_l", "ada@example.com")
    assert problem is not None and "easy to guess" in problem


@pytest.mark.parametrize("password", [PASSWORD, "analytical-engine", "Kepler-452b orbits far"])
def test_strong_passwords_pass(password):
    assert password_problem(password, "ada_l", "ada@example.com") is None


def test_the_registration_form_says_why_a_password_is_weak(client):
    page = client.post("/register", data={
        "username": "goodname1", "email": "g@example.com", "password": "GOODNAME1x",
        "confirm": "GOODNAME1x"}).get_data(as_text=True)
    assert "must differ from the username and the email address" in page


def _first_admin_password(runner) -> str:
    result = runner.invoke(ensure_admin_command, [])
    assert result.exit_code == 0, result.output
    return re.search(r"password: (\S+)", result.output)[1]


def test_the_first_admin_must_choose_a_new_password_at_first_login(app, runner):
    password = _first_admin_password(runner)
    browser = app.test_client()
    assert AuthActions(browser).login("admin", password).status_code == 302
    for path in ("/", "/admin/", "/account", "/mission-application"):
        response = browser.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/password")
    assert "Choose a new password" in browser.get("/account/password").get_data(as_text=True)
    response = browser.post("/account/password", data={
        "current_password": password, "password": OWN_PASSWORD, "confirm": OWN_PASSWORD})
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.username == "admin")
                                     ).must_change_password


def test_the_new_password_must_differ_from_the_one_given(app, runner):
    password = _first_admin_password(runner)
    browser = app.test_client()
    AuthActions(browser).login("admin", password)
    page = browser.post("/account/password", data={
        "current_password": password, "password": password, "confirm": password})
    assert "other than the current one" in page.get_data(as_text=True)
    assert browser.get("/admin/").status_code == 302


def test_logout_stays_possible_before_the_change(app, runner):
    password = _first_admin_password(runner)
    browser = app.test_client()
    AuthActions(browser).login("admin", password)
    assert browser.post("/logout").status_code == 302
    assert browser.get("/account").location.startswith("/login")


def test_a_password_an_admin_sets_must_be_changed_by_its_owner(app, make_user, login_as):
    admin_client, _ = login_as("admin")
    ada = make_user("ada")
    given = "a password from the admin"
    response = admin_client.post(f"/admin/user/edit/?id={ada.id}", data={
        "username": "ada", "email": ada.email, "role": "member", "is_active": "y",
        "new_password": given})
    assert response.status_code == 302
    browser = app.test_client()
    AuthActions(browser).login("ada", given)
    assert browser.get("/mission-application").location.endswith("/account/password")


def test_an_account_an_admin_creates_must_choose_its_own_password(app, login_as):
    admin_client, _ = login_as("admin")
    admin_client.post("/admin/user/new/", data={
        "username": "newbie", "email": "newbie@example.com", "role": "member",
        "is_active": "y", "new_password": "another good passphrase"})
    browser = app.test_client()
    AuthActions(browser).login("newbie", "another good passphrase")
    assert browser.get("/").location.endswith("/account/password")


def test_the_owners_own_password_change_asks_for_nothing_more(app, make_user, login_as):
    client, _ = login_as()
    client.post("/account/password", data={
        "current_password": PASSWORD, "password": OWN_PASSWORD, "confirm": OWN_PASSWORD})
    assert client.get("/mission-application").status_code == 200


def test_the_api_is_not_held_up_by_a_pending_password_change(app, runner):
    password = _first_admin_password(runner)
    browser = app.test_client()
    AuthActions(browser).login("admin", password)
    assert browser.get("/api/planets").status_code == 200
