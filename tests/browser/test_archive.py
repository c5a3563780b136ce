"""An admin tries to delete a planet that a member applied for, is told to archive it, archives
it, and the visitor's catalog no longer lists it; brought back, it is listed again."""

from __future__ import annotations

from tests.browser.helpers import assert_accessible, bulk_action, expect, log_in

PLANET = "TRAPPIST-1 e"  # pilot applied for it (tests/browser/server.py)
NOT_FOUND_STATUS = r"status of 404"  # Chromium's console note on a page served with a 404


def _planet_row(page):
    page.goto("/admin/planet/")
    page.get_by_role("searchbox", name="Search").fill(PLANET)
    page.get_by_role("button", name="Search").click()
    return page.locator("table.model-list tbody tr", has_text=PLANET)


def _with_selected(page, row, action: str) -> None:
    row.locator("input.action-checkbox").check()
    bulk_action(page, action)


def test_a_planet_with_applications_is_archived_not_deleted(page, new_page, watch):
    watch.allow_error(NOT_FOUND_STATUS)
    page.on("dialog", lambda dialog: dialog.accept())  # the delete and archive confirmations
    page.goto("/login")
    log_in(page, "ada")

    row = _planet_row(page)
    row.get_by_role("button", name=f"Delete {PLANET}", exact=True).click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text(f"{PLANET} has 1 mission application (1 ")
    expect(alert).to_contain_text("archive it instead. Nothing was deleted.")
    assert_accessible(page)

    row = _planet_row(page)
    planet_id = row.locator("input.action-checkbox").get_attribute("value")
    _with_selected(page, row, "Archive")
    expect(page.get_by_role("alert").first).to_contain_text("1 planet(s) archived.")
    expect(_planet_row(page).locator("td.col-archived")).to_have_text("Yes")

    visitor = new_page()
    visitor.goto(f"/planets?q={PLANET}")
    expect(visitor.get_by_role("main")).not_to_contain_text(PLANET)
    assert visitor.goto(f"/planets/{planet_id}").status == 404

    _with_selected(page, _planet_row(page), "Unarchive")
    expect(page.get_by_role("alert").first).to_contain_text("1 planet(s) brought back.")
    visitor.goto(f"/planets?q={PLANET}")
    expect(visitor.get_by_role("link", name=PLANET)).to_be_visible()
