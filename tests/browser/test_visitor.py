"""A visitor registers, confirms the address by the mailed link, logs in, changes the password
and logs out; the keyboard alone logs in."""

from __future__ import annotations

from tests.browser.helpers import (
    assert_accessible,
    confirm_address,
    expect,
    focused_element_style,
    log_in,
    log_out,
)
from tests.browser.server import PASSWORD

NEW_PASSWORD = "Nebula-crossing-2031"


def test_visitor_registers_logs_in_changes_password_and_logs_out(page, server):
    page.goto("/")
    assert_accessible(page)
    page.get_by_role("main").get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    assert_accessible(page)

    # A taken username and a weak password: both are refused with a message at the field.
    page.get_by_label("Username").fill("marta")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password", exact=True).fill("1234567890")
    page.get_by_label("Repeat password").fill("1234567890")
    page.get_by_role("button", name="Register").click()
    password_errors = page.locator("#password-errors")
    expect(password_errors).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute(
        "aria-describedby", "password-errors")
    assert password_errors.inner_text().strip()
    assert_accessible(page)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    username_errors = page.locator("#username-errors")
    expect(username_errors).to_contain_text("taken")
    expect(page.get_by_label("Username")).to_have_class("form-control is-invalid")

    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert_accessible(page)

    log_in(page, "newcomer")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, newcomer!")
    expect(page.get_by_role("button", name="Send the link again")).to_be_visible()
    confirm_address(page, server.mailbox, "newcomer@example.com")
    expect(page.get_by_role("button", name="Send the link again")).to_have_count(0)
    expect(page.get_by_text("No applications yet.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Account settings").first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Change password").click()
    assert_accessible(page)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("Your password has been changed")
    log_out(page)

    page.goto("/login")
    log_in(page, "newcomer", NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, newcomer!")
    log_out(page)
    expect(page.get_by_role("alert")).to_contain_text("You have been logged out")


def test_login_with_the_keyboard_alone_and_focus_is_visible(page):
    page.goto("/login")
    seen = []
    for _ in range(12):  # from the top of the page to the username field, each stop visible
        page.keyboard.press("Tab")
        focus = focused_element_style(page)
        assert focus and focus["visible"], f"focus is not visible on {focus}"
        seen.append(focus)
        if page.evaluate("document.activeElement.id") == "username":
            break
    else:
        raise AssertionError(f"Tab never reached the username field: {seen}")
    page.keyboard.type("marta")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    assert focused_element_style(page)["visible"]
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, marta!")
