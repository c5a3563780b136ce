"""Accounts in a real browser: stored sessions (the list, ending one, a stolen cookie after
logout), the first admin's forced password change, registration with email confirmation,
password reset by email and two-factor sign-in."""

from __future__ import annotations

import re
import time

import pyotp

from tests.browser.helpers import assert_accessible, expect, log_in, log_out, mail_link
from tests.browser.server import FIRST_ADMIN, PASSWORD

OWN_PASSWORD = "Root-chooses-a-passphrase-7"
RESET_PASSWORD = "Remembered-at-last-2026"
LINK_INVALID = "This link does not work"
TWO_FACTOR_USER = "nadia"  # an editor of this journey's own: it keeps two-factor on


def test_the_first_admin_chooses_a_new_password_at_first_login(page, server):
    log_in(page, FIRST_ADMIN, server.first_admin_password)
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_role("alert")).to_contain_text("Choose a new password")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/account/password$"))
    assert_accessible(page)
    page.get_by_label("Current password").fill(server.first_admin_password)
    page.get_by_label("New password").fill(OWN_PASSWORD)
    page.get_by_label("Repeat password").fill(OWN_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your password has been changed")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_the_sessions_list_ends_another_device(new_page):
    laptop = new_page(user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
                                 "like Gecko) Chrome/131.0.0.0 Safari/537.36")
    phone = new_page(user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
                                "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
                                "Mobile/15E148 Safari/604.1")
    log_in(phone, "sam")
    log_in(laptop, "sam")
    laptop.goto("/account")
    sessions = laptop.locator("#sessions tbody tr")
    expect(sessions).to_have_count(2)
    this_device = sessions.filter(has_text="This device")
    expect(this_device).to_contain_text("Chrome 131 on Linux")
    other = sessions.filter(has_text="Mobile Safari 18 on iOS")
    expect(other).to_have_count(1)
    assert_accessible(laptop)
    other.get_by_role("button", name=re.compile("^Log out")).click()
    expect(laptop.get_by_role("alert")).to_contain_text("That device is logged out")
    expect(laptop.locator("#sessions tbody tr")).to_have_count(1)

    phone.goto("/account")
    expect(phone).to_have_url(re.compile(r"/login\?next="))


def test_a_copied_cookie_stops_working_after_logout(new_page):
    owner, thief = new_page(), new_page()
    owner.goto("/login")
    owner.get_by_label("Username or email").fill("sam")
    owner.get_by_label("Password", exact=True).fill(PASSWORD)
    owner.get_by_label("Keep me logged in on this device").check()
    owner.get_by_role("button", name="Log in").click()
    stolen = owner.context.cookies()
    assert {cookie["name"] for cookie in stolen} >= {"session", "remember_token"}
    thief.context.add_cookies(stolen)
    thief.goto("/account")
    expect(thief.get_by_role("heading", level=1)).to_have_text("Account settings")

    log_out(owner)
    thief.goto("/account")
    expect(thief).to_have_url(re.compile(r"/login\?next="))


def test_a_forgotten_password_is_reset_by_the_mailed_link_and_old_sessions_end(new_page,
                                                                                 server, watch):
    old_device, page = new_page(), new_page()
    log_in(old_device, "rita")
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    assert_accessible(page)
    page.get_by_label("Email").fill("rita@example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    link = mail_link(server.mailbox, "rita@example.com", "Reset your password",
                     "/reset-password")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    assert_accessible(page)
    page.get_by_label("New password").fill(RESET_PASSWORD)
    page.get_by_label("Repeat password").fill(RESET_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(re.compile(r"/login"))

    old_device.goto("/account")
    expect(old_device).to_have_url(re.compile(r"/login\?next="))
    watch.allow_error(r"status of 400 .*/reset-password\?token=")
    page.goto(link)  # used once: it no longer works
    expect(page.get_by_role("heading", level=1)).to_have_text(LINK_INVALID)
    log_in(page, "rita", RESET_PASSWORD)


def _code_after(secret: str, seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + seconds)


def test_two_factor_enrolment_then_logins_with_a_code_and_a_recovery_code(page):
    log_in(page, TWO_FACTOR_USER)
    page.goto("/account")
    page.get_by_role("link", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Turn on two-factor sign-in")
    expect(page.locator("svg").first).to_be_visible()  # the QR code, drawn on the server
    assert_accessible(page)
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(_code_after(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator(".recovery-code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    log_out(page)

    page.goto("/login")
    page.get_by_label("Username or email").fill(TWO_FACTOR_USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    assert_accessible(page)
    # The enrolment took this time step's code: the next one, as the app will show it.
    page.get_by_label(re.compile("^Code from your authenticator app")).fill(
        _code_after(secret, 30))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("form[action$=\"/logout\"] button")).to_be_attached()
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    log_out(page)

    page.goto("/login")
    page.get_by_label("Username or email").fill(TWO_FACTOR_USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("form[action$=\"/logout\"] button")).to_be_attached()
    log_out(page)

    # A recovery code works once.
    page.goto("/login")
    page.get_by_label("Username or email").fill(TWO_FACTOR_USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label(re.compile("^Code from your authenticator app")).fill(codes[0])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    expect(page.locator("form[action$=\"/logout\"] button")).to_have_count(0)
