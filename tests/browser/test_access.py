"""Who may enter the console, as a browser sees it: the viewer reads only, a member gets the 403
page, an anonymous visitor logs in first and comes back to the console."""

from __future__ import annotations

import re

from tests.browser.helpers import assert_accessible, expect, log_in

FORBIDDEN_STATUS = r"status of 403"  # Chromium's console note on a page served with a 403


def expect_forbidden_page(page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("403")
    assert_accessible(page)


def test_viewer_finds_no_controls_that_change_anything(page, watch):
    watch.allow_error(FORBIDDEN_STATUS)
    page.goto("/login")
    log_in(page, "vera")
    page.get_by_role("navigation").get_by_role("link", name="Console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")
    assert_accessible(page)
    main = page.get_by_role("main")
    for section in ("Users", "Planets", "Applications"):
        page.get_by_role("link", name=section, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(section)
        expect(main.locator("table.model-list tbody tr").first).to_be_visible()
        assert_accessible(page)
        expect(main.get_by_role("link", name="Create", exact=True)).to_have_count(0)
        expect(main.get_by_role("link", name=re.compile("^Edit "))).to_have_count(0)
        expect(main.get_by_role("button", name=re.compile("^Delete "))).to_have_count(0)
        expect(main.get_by_role("link", name="With selected")).to_have_count(0)
        expect(main.get_by_role("button", name="With selected")).to_have_count(0)
        expect(main.get_by_role("checkbox")).to_have_count(0)
        expect(main.get_by_role("link", name=re.compile("^View ")).first).to_be_visible()

    page.goto("/admin/planet/edit/?id=1")
    expect_forbidden_page(page)


def test_member_visiting_the_console_sees_the_403_page(page, watch):
    watch.allow_error(FORBIDDEN_STATUS)
    page.goto("/login")
    log_in(page, "marta")
    expect(page.get_by_role("link", name="Console")).to_have_count(0)
    page.goto("/admin/")
    expect_forbidden_page(page)


def test_anonymous_visit_to_the_console_logs_in_and_returns(page):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page)
    log_in(page, "ada")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")
