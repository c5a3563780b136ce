"""An admin creates an editor, edits a planet, approves applications in bulk, exports the
catalog as CSV and finds each change in the audit log."""

from __future__ import annotations

import csv
import io
import re

from tests.browser.helpers import assert_accessible, bulk_action, expect, log_in
from tests.browser.server import REVIEWED_APPLICATIONS


def audit_rows(page, action: str, actor: str):
    """The audit log's rows of `action` by `actor` on the current page."""
    return page.locator("table.model-list tbody tr").filter(
        has=page.locator("td.col-action", has_text=re.compile(rf"^\s*{re.escape(action)}\s*$"))
    ).filter(has=page.locator("td.col-actor_username", has_text=re.compile(rf"^\s*{actor}\s*$")))


def test_admin_works_in_the_console_and_reads_the_audit_log(page):
    page.on("dialog", lambda dialog: dialog.accept())  # any confirmation the console asks
    page.goto("/login")
    log_in(page, "ada")
    page.get_by_role("link", name="Open the console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")
    assert_accessible(page)

    # A new editor.
    page.get_by_role("link", name="Users", exact=True).click()
    assert_accessible(page)
    page.get_by_role("link", name="Create", exact=True).click()
    assert_accessible(page)
    page.get_by_label("Username").fill("eddie")
    page.get_by_label("Email").fill("eddie@example.com")
    page.get_by_label("Role").select_option(label="Editor")
    page.get_by_label("Password").fill("Editorial-desk-2031")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("successfully")
    eddie = page.locator("table.model-list tbody tr", has_text="eddie@example.com")
    expect(eddie).to_contain_text("Editor")

    # An edited planet.
    page.get_by_role("link", name="Planets", exact=True).click()
    assert_accessible(page)
    page.get_by_role("searchbox", name="Search").fill("Kepler-452")
    page.get_by_role("button", name="Search").click()
    row = page.locator("table.model-list tbody tr", has_text="Kepler-452 b")
    row.get_by_role("link", name="Edit Kepler-452 b", exact=True).click()
    assert_accessible(page)
    page.get_by_label("Description").fill(
        "An Earth cousin in the habitable zone of a sun-like star.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("successfully")

    # Two pending applications approved at once through "With selected", with one note.
    page.get_by_role("link", name="Applications", exact=True).click()
    assert_accessible(page)
    for _username, planet in REVIEWED_APPLICATIONS:
        page.locator("table.model-list tbody tr", has_text=planet).locator(
            "input.action-checkbox").check()
    bulk_action(page, "Approve")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve 2 applications")
    assert_accessible(page)
    page.get_by_label("Review note").fill("Welcome aboard: training starts in March.")
    page.get_by_role("button", name="Approve 2 applications").click()
    expect(page.get_by_role("alert").first).to_contain_text("2 application(s) approved")
    for _username, planet in REVIEWED_APPLICATIONS:
        expect(page.locator("table.model-list tbody tr", has_text=planet)).to_contain_text(
            "Approved")

    # The catalog as CSV.
    page.get_by_role("link", name="Planets", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert len(rows) > 200
    kepler = next(r for r in rows if r["name"] == "Kepler-452 b")
    assert kepler["description"].startswith("An Earth cousin")

    # Every change in the audit log, under the admin's name, newest first.
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    assert_accessible(page)
    for action, count in (("User created", 1), ("Planet updated", 1),
                          ("Application approved", len(REVIEWED_APPLICATIONS))):
        expect(audit_rows(page, action, "ada")).to_have_count(count)
    page.get_by_role("link", name=re.compile(r"^View audit event \d+$")).first.click()
    assert_accessible(page)
    expect(page.get_by_role("main")).to_contain_text("Application approved")
