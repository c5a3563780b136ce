"""A record's history in the console: an editor changes a planet, reads the change in its
history and reverts it; two editors save the same planet at once and the second is shown what
the first saved before anything is overwritten; an admin deletes a planet and restores it from
the audit log, with its old id.

The browser tests share one server and database. These journeys use planets no other browser
test touches and no application refers to, put back every value they change, and make their
planet changes as editors of their own (registered, then promoted by ada), so that ada's events
that tests/browser/test_admin.py counts in the audit log stay as they are in any order."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import assert_accessible, confirm_address, expect, log_in
from tests.browser.server import PASSWORD

EDITED = "Kepler-10 b"  # mass 3.24 Earth masses in seed/planets.csv
EDITED_MASS, NEW_MASS = "3.24", "3.33"
CONTESTED = "Kepler-22 b"  # radius 2.1 Earth radii
CONTESTED_RADIUS, FIRST_RADIUS, SECOND_RADIUS = "2.1", "2.2", "2.3"
DELETED = "Makemake"  # a dwarf planet; no mission application refers to it
MASS, RADIUS = "Mass (Earth masses)", "Radius (Earth radii)"


class Findings:
    """Problems a journey notes on its way and reports at its end (the test still fails), so
    that the journey goes on and puts back what it changed in the shared database."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def accessible(self, page) -> None:
        try:
            assert_accessible(page)
        except AssertionError as error:
            self.problems.append(f"accessibility: {error}")

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def assert_none(self) -> None:
        assert not self.problems, "\n\n".join(self.problems)


@pytest.fixture
def findings() -> Findings:
    return Findings()


def _editors(new_page, server, *usernames: str) -> None:
    """Each registers at /register and confirms the address by the mailed link (no staff role
    before that); ada makes them editors in the console. (The role change ends their sessions:
    they log in afresh afterwards.)"""
    for username in usernames:
        visitor = new_page()
        visitor.goto("/register")
        visitor.get_by_label("Username").fill(username)
        visitor.get_by_label("Email").fill(f"{username}@example.com")
        visitor.get_by_label("Password", exact=True).fill(PASSWORD)
        visitor.get_by_label("Repeat password").fill(PASSWORD)
        visitor.get_by_role("button", name="Register").click()
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        confirm_address(visitor, server.mailbox, f"{username}@example.com")
        visitor.context.close()
    admin = new_page()
    admin.goto("/login")
    log_in(admin, "ada")
    for username in usernames:
        admin.goto("/admin/user/")
        admin.get_by_role("searchbox", name="Search").fill(username)
        admin.get_by_role("button", name="Search").click()
        row = admin.locator("table.model-list tbody tr", has_text=f"{username}@example.com")
        row.get_by_role("link", name=f"Edit {username}", exact=True).click()
        admin.get_by_label("Role").select_option(label="Editor")
        admin.get_by_role("button", name="Save", exact=True).click()
        expect(admin.get_by_role("alert").first).to_contain_text("successfully")
        expect(admin.locator("table.model-list tbody tr",
                             has_text=f"{username}@example.com")).to_contain_text("Editor")
    admin.context.close()


def _logged_in(new_page, username: str):
    page = new_page()
    page.goto("/login")
    log_in(page, username)
    return page


def _planet_row(page, name: str):
    page.goto("/admin/planet/")
    page.get_by_role("searchbox", name="Search").fill(name)
    page.get_by_role("button", name="Search").click()
    row = page.locator("table.model-list tbody tr", has_text=name)
    expect(row).to_have_count(1)
    return row


def _open_edit_form(page, name: str) -> None:
    _planet_row(page, name).get_by_role("link", name=f"Edit {name}", exact=True).click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(name)


def _save(page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()


def _detail(page, label: str):
    """The value of `label` on the details page shown (each row headed by its field's name)."""
    row = page.locator("table tr").filter(
        has=page.get_by_role("rowheader", name=label, exact=True))
    return row.get_by_role("cell")


def _details_value(page, planet_id: str, label: str):
    """The value of `label` as stored now: the planet's details page, opened afresh."""
    page.goto(f"/admin/planet/details/?id={planet_id}")
    return _detail(page, label)


def _newest_event(page):
    """The newest event of the history page: the first of its sections, each named by its
    heading ("Planet updated by ..., ... UTC, from the Console")."""
    return page.get_by_role("region").first


def test_an_editor_reads_a_change_in_the_history_and_reverts_it(new_page, server, findings):
    _editors(new_page, server, "hedda")
    page = _logged_in(new_page, "hedda")
    row = _planet_row(page, EDITED)
    planet_id = row.locator("input.action-checkbox").get_attribute("value")
    _open_edit_form(page, EDITED)
    expect(page.get_by_label(MASS)).to_have_value(EDITED_MASS)
    page.get_by_label(MASS).fill(NEW_MASS)
    _save(page)
    expect(page.get_by_role("alert").first).to_contain_text("successfully")

    # The details page leads to the history; the newest event shows the mass before and after.
    _planet_row(page, EDITED).get_by_role("link", name=f"View {EDITED}", exact=True).click()
    expect(_detail(page, MASS)).to_have_text(NEW_MASS)
    page.get_by_role("link", name="History of this record").click()
    expect(page.get_by_role("heading", level=1, name=f"History of {EDITED}")).to_be_visible()
    findings.accessible(page)
    newest = _newest_event(page)
    expect(newest.get_by_role("heading", level=2)).to_contain_text(
        re.compile(r"^\s*Planet updated by hedda,\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC,\s+"
                   r"from the Console\s*$"))
    changes = newest.get_by_role("row").filter(has=page.get_by_role("rowheader"))
    expect(changes).to_have_count(1)  # only the field that changed
    expect(changes.first.get_by_role("rowheader")).to_have_text(MASS)
    expect(changes.first.get_by_role("cell")).to_have_text([EDITED_MASS, NEW_MASS])

    # Reverted from the history: the revert page offers the mass, checked, then puts it back.
    newest.get_by_role("link", name="Revert this change").click()
    expect(page.get_by_role("heading", level=1,
                             name=f"Revert a change of {EDITED}")).to_be_visible()
    findings.accessible(page)
    put_back = page.get_by_role("checkbox", name=f"Put back {MASS}")
    expect(put_back).to_be_checked()
    offered = page.get_by_role("row").filter(has=put_back)
    expect(offered.get_by_role("rowheader")).to_have_text(MASS)
    # Put back (the checkbox), value then, value now, value to restore.
    expect(offered.get_by_role("cell")).to_have_text(
        [re.compile(rf"^\s*Put back {re.escape(MASS)}\s*$"), NEW_MASS, NEW_MASS, EDITED_MASS])
    page.get_by_role("button", name="Revert the chosen fields").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Reverted 1 field(s) to their values before this change.")
    expect(page.get_by_role("heading", level=1, name=f"History of {EDITED}")).to_be_visible()
    newest = _newest_event(page)
    expect(newest.get_by_role("heading", level=2)).to_contain_text(
        "Planet change reverted by hedda")
    expect(newest.get_by_role("cell")).to_have_text([NEW_MASS, EDITED_MASS])

    page.get_by_role("link", name="Details", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/admin/planet/details/\?id={planet_id}$"))
    expect(_detail(page, MASS)).to_have_text(EDITED_MASS)
    findings.assert_none()


def test_a_save_over_a_colleagues_change_shows_both_and_loses_nothing(new_page, server,
                                                                       findings):
    _editors(new_page, server, "otto", "petra")
    first, second = _logged_in(new_page, "otto"), _logged_in(new_page, "petra")
    planet_id = _planet_row(first, CONTESTED).locator("input.action-checkbox").get_attribute(
        "value")
    _open_edit_form(first, CONTESTED)
    _open_edit_form(second, CONTESTED)
    for page in (first, second):
        expect(page.get_by_label(RADIUS)).to_have_value(CONTESTED_RADIUS)

    first.get_by_label(RADIUS).fill(FIRST_RADIUS)
    _save(first)
    expect(first.get_by_role("alert").first).to_contain_text("successfully")

    # The second saves over the version it opened: nothing is stored, both values are shown.
    second.get_by_label(RADIUS).fill(SECOND_RADIUS)
    _save(second)
    expect(second.get_by_role("alert").first).to_contain_text(
        "Someone else changed this planet since you opened it. Nothing was saved")
    conflict = second.get_by_role("region", name=re.compile("^Changed meanwhile by otto, "))
    expect(conflict).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    expect(conflict.get_by_role("columnheader")).to_have_text(
        ["Field", "Saved meanwhile", "Yours"])
    differing = conflict.get_by_role("row").filter(has=second.get_by_role("rowheader"))
    radius = differing.filter(has=second.get_by_role("rowheader", name="Radius", exact=True))
    expect(radius.get_by_role("cell")).to_have_text([FIRST_RADIUS, SECOND_RADIUS])
    listed = differing.all_inner_texts()
    findings.check(len(listed) == 1, "the conflict screen lists fields that nobody changed "
                   f"as differing: {listed}")
    expect(second.get_by_label(RADIUS)).to_have_value(SECOND_RADIUS)  # the typing is kept
    findings.accessible(second)
    expect(_details_value(first, planet_id, RADIUS)).to_have_text(FIRST_RADIUS)

    # Saving again is the second's confirmation, over what they have now seen.
    _save(second)
    expect(second.get_by_role("alert").first).to_contain_text("successfully")
    expect(_details_value(first, planet_id, RADIUS)).to_have_text(SECOND_RADIUS)

    # Put back as the seed has it (the other journeys share the database).
    _open_edit_form(second, CONTESTED)
    second.get_by_label(RADIUS).fill(CONTESTED_RADIUS)
    _save(second)
    expect(second.get_by_role("alert").first).to_contain_text("successfully")
    expect(_details_value(second, planet_id, RADIUS)).to_have_text(CONTESTED_RADIUS)
    findings.assert_none()


def test_an_admin_restores_a_deleted_planet_from_the_audit_log(page, findings):
    page.on("dialog", lambda dialog: dialog.accept())  # "Are you sure ... delete this record?"
    page.goto("/login")
    log_in(page, "ada")
    row = _planet_row(page, DELETED)
    planet_id = row.locator("input.action-checkbox").get_attribute("value")
    row.get_by_role("button", name=f"Delete {DELETED}", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("successfully deleted")
    page.get_by_role("searchbox", name="Search").fill(DELETED)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.model-list tbody tr", has_text=DELETED)).to_have_count(0)

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    deleted = page.locator("table.model-list tbody tr").filter(
        has=page.locator("td.col-action", has_text=re.compile(r"^\s*Planet deleted\s*$"))
    ).filter(has=page.get_by_role("link", name=planet_id, exact=True))
    expect(deleted).to_have_count(1)
    expect(deleted.locator("td.col-actor_username")).to_have_text("ada")
    deleted.get_by_role("link", name="Restore", exact=True).click()

    expect(page.get_by_role("heading", level=1, name="Restore a deleted record")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"It comes back with its old id, {planet_id},")
    values = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Name",
                                                                 exact=True))
    expect(values.get_by_role("cell")).to_have_text(DELETED)
    findings.accessible(page)
    page.get_by_role("button", name="Restore it").click()

    expect(page.get_by_role("alert").first).to_contain_text(
        f"{DELETED} is back, with its old id {planet_id}.")
    expect(page).to_have_url(re.compile(rf"/admin/planet/details/\?id={planet_id}$"))
    expect(_detail(page, "Id")).to_have_text(planet_id)
    expect(_detail(page, "Name")).to_have_text(DELETED)
    expect(_detail(page, "Type")).to_have_text("Dwarf planet")
    findings.assert_none()
