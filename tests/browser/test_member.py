"""A member browses the catalog, applies for a mission and withdraws the application."""

from __future__ import annotations

from tests.browser.helpers import assert_accessible, expect, log_in


def test_member_applies_for_a_mission_and_withdraws_it(page):
    page.goto("/login")
    log_in(page, "marta")
    page.get_by_role("navigation").get_by_role("link", name="Planets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Planets catalog")
    assert_accessible(page)
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(25)

    page.get_by_label("Name or host star contains").fill("Kepler-452")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Kepler-452 b").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kepler-452 b")
    assert_accessible(page)

    page.get_by_role("link", name="Apply for this mission").click()
    expect(page.get_by_label("Planet")).to_have_value("Kepler-452 b")
    assert_accessible(page)
    page.get_by_label("Why should we send you?").fill(
        "To see a sun like ours from 1,800 light years away.")
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_role("alert")).to_contain_text("pending review")

    page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    row = page.locator("tbody tr", has_text="Kepler-452 b")
    expect(row.locator(".badge")).to_have_text("Pending")
    row.get_by_role("button", name="Withdraw the application for Kepler-452 b").click()
    row = page.locator("tbody tr", has_text="Kepler-452 b")
    expect(row.locator(".badge")).to_have_text("Withdrawn")
    expect(row.get_by_role("button")).to_have_count(0)
    assert_accessible(page)
