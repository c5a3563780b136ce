"""Every page and state of the product, for the role that sees it, checked by axe-core in the
light and the dark colour scheme (zero violations of the WCAG 2.0/2.1/2.2 A and AA rules and of
`td-has-header`) and by the Nu Html Checker (zero errors); see page_checks.py.

One test per role, each in one browser context: a visitor, a member (registered by the tour),
a viewer, an editor and an admin. A tour notes each state's violations and goes on; its test
fails at the end with all of them, one line each naming the theme, the state, the rule and the
element. The HTML of every state is validated in one run of vnu by the last test.

The browser tests share one server and database (tests/browser/server.py): what the tours
change is their own (their own member, applications for planets no other journey uses, planets
of their own), so the other journeys find the data they expect in any order."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pyotp
import pytest

from tests.browser.helpers import expect, log_in, log_out, mail_link
from tests.browser.page_checks import PageChecks, validate_html
from tests.browser.server import PASSWORD

ERROR_STATUS = r"status of (400|403|404)"  # Chromium's console note on an error page

MEMBER = "tour-member"  # registered by the member's tour
MEMBER_EMAIL = f"{MEMBER}@example.com"
MEMBER_PENDING, MEMBER_WITHDRAWN = "LHS 1140 b", "K2-18 b"
EDITOR_REJECTED, EDITOR_APPROVED = "Ross 128 b", "Wolf 1061 c"
ADMIN_PENDING = "HD 209458 b"
TOUR_PLANET, RESTORED_PLANET = "Tour Planet 1 b", "Tour Planet 2 b"
CSV_HEADER = ("name,planet_type,host_star,discovery_year,discovery_method,mass_earth,"
              "radius_earth,orbital_period_days,semi_major_axis_au,distance_ly,"
              "equilibrium_temp_k,description,source")


@pytest.fixture(scope="session")
def documents() -> dict[str, str]:
    """State name -> its HTML, from every tour of the run, for the one vnu run at the end."""
    return {}


@pytest.fixture
def checks(documents: dict[str, str]) -> PageChecks:
    return PageChecks(documents)


@pytest.fixture
def tour(new_page, watch):
    """A page of its own (browser context) for a role's tour; error pages are part of it."""
    watch.allow_error(ERROR_STATUS)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Are you sure ...?" confirmations
    return page


def visit(page, checks: PageChecks, state: str, path: str, heading: str | None = None) -> None:
    page.goto(path)
    if heading is not None:
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    checks.check(page, state)


def submit(page, name: str) -> None:
    """Press the button `name` and wait for the page it leads to; the browser's own checks of
    the fields are off, so the server's answer to a wrong value is what the tour sees."""
    page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).first.click()


def record_id(page, row_text: str) -> str:
    """The id of the first console list row that shows `row_text`, from its details link."""
    row = page.locator("table.model-list tbody tr", has_text=row_text).first
    href = row.locator("a[href*='/details/']").first.get_attribute("href")
    return re.search(r"[?&]id=(\d+)", href)[1]


def console_search(page, path: str, text: str) -> None:
    page.goto(f"{path}?{urlencode({'search': text})}")


def delete_planet(page, name: str) -> str:
    """Delete the planet `name` from the console's list (its row's delete button); its id."""
    console_search(page, "/admin/planet/", name)
    planet_id = record_id(page, name)
    page.locator(f"form[action*='/delete/']:has(input[name=id][value='{planet_id}'])"
                 " button").click()
    expect(page.get_by_role("alert").first).to_contain_text("deleted")
    return planet_id


def add_filter(page, name: str) -> None:
    """Flask-Admin's "Add Filter" menu, by a person's clicks: a filter row appears in the form."""
    page.wait_for_load_state("load")  # the menu works once the page's scripts have run
    page.get_by_role("link", name="Add Filter").or_(
        page.get_by_role("button", name="Add Filter")).first.click()
    page.locator(".dropdown-menu a.filter", has_text=name).first.click()
    expect(page.locator("#filter_form .filter-val").last).to_be_attached()


def apply_for(page, planet: str, motivation: str) -> None:
    page.goto("/mission-application")
    page.get_by_label("Planet").fill(planet)
    page.get_by_label("Why should we send you?").fill(motivation)
    submit(page, "Submit application")
    expect(page.get_by_role("alert").first).to_contain_text("pending review")


def code_after(secret: str, seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + seconds)


def test_a_visitors_pages_pass_axe_in_both_themes(tour, checks):
    page = tour
    visit(page, checks, "visitor: landing page", "/")
    visit(page, checks, "visitor: catalog, first page", "/planets", "Planets catalog")
    page.get_by_role("link", name="Next").first.click()
    page.wait_for_url(re.compile(r"/planets\?"))
    checks.check(page, "visitor: catalog, second page")
    visit(page, checks, "visitor: catalog, search", "/planets?q=Kepler")
    visit(page, checks, "visitor: catalog, sorted by mass", "/planets?sort=-mass")
    visit(page, checks, "visitor: catalog, empty search", "/planets?q=Nothing+by+this+name")
    visit(page, checks, "visitor: catalog, invalid filters",
          "/planets?discovered_from=3000&method=nonsense")
    page.goto("/planets?q=Kepler-452")
    page.get_by_role("link", name="Kepler-452 b").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kepler-452 b")
    checks.check(page, "visitor: planet page, exoplanet")
    page.goto("/planets?q=Jupiter")
    page.get_by_role("link", name="Jupiter", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jupiter")
    checks.check(page, "visitor: planet page, Solar System")

    visit(page, checks, "visitor: register", "/register", "Create your account")
    page.get_by_label("Username").fill("marta")  # taken
    page.get_by_label("Email").fill("not an address")
    page.get_by_label("Password", exact=True).fill("1234567890")
    page.get_by_label("Repeat password").fill("0987654321")
    submit(page, "Register")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "visitor: register, with errors")

    visit(page, checks, "visitor: login", "/login", "Log in")
    page.get_by_label("Username or email").fill("marta")
    page.get_by_label("Password", exact=True).fill("not the password")
    submit(page, "Log in")
    expect(page.get_by_role("alert").first).to_be_visible()
    checks.check(page, "visitor: login, with errors")
    visit(page, checks, "visitor: login, sent from the console", "/admin/", "Log in")

    visit(page, checks, "visitor: forgot password", "/forgot-password", "Forgot your password?")
    page.get_by_label("Email").fill("not an address")
    submit(page, "Send me a link")
    checks.check(page, "visitor: forgot password, with errors")
    page.get_by_label("Email").fill("nobody@example.com")
    submit(page, "Send me a link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    checks.check(page, "visitor: forgot password, link sent")
    visit(page, checks, "visitor: reset link that does not work (400)",
          "/reset-password?token=not-a-token", "This link does not work")

    visit(page, checks, "visitor: page not found (404)", "/no-such-page", "404")
    visit(page, checks, "visitor: API docs", "/api/docs")
    checks.assert_no_violations()


def test_a_members_pages_pass_axe_in_both_themes(tour, checks, server):
    page = tour
    # Registered and confirmed by the tour: the member's own account, applications, two-factor.
    page.goto("/register")
    page.get_by_label("Username").fill(MEMBER)
    page.get_by_label("Email").fill(MEMBER_EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    submit(page, "Register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    checks.check(page, "member: registered, check your inbox")
    log_in(page, MEMBER)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {MEMBER}!")
    checks.check(page, "member: dashboard, address not confirmed")
    visit(page, checks, "member: application form, address not confirmed",
          "/mission-application", "Apply for a mission")
    page.goto(mail_link(server.mailbox, MEMBER_EMAIL, "Confirm your email address",
                        "/confirm-email"))
    checks.check(page, "member: confirm the address")
    submit(page, "Yes, confirm my address")
    expect(page.get_by_role("alert").first).to_contain_text(f"{MEMBER_EMAIL} is confirmed")
    checks.check(page, "member: dashboard, no applications")

    # Applications: the form, its errors, then one pending and one withdrawn.
    visit(page, checks, "member: application form", "/mission-application",
          "Apply for a mission")
    page.get_by_label("Planet").fill("No such planet")
    submit(page, "Submit application")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "member: application form, with errors")
    apply_for(page, MEMBER_PENDING, "To see a red dwarf's rocky world up close.")
    apply_for(page, MEMBER_WITHDRAWN, "To look for water vapour myself.")
    page.get_by_role("button", name=f"Withdraw the application for {MEMBER_WITHDRAWN}").click()
    expect(page.get_by_role("alert").first).to_contain_text("withdrawn")
    checks.check(page, "member: dashboard, pending and withdrawn applications")
    visit(page, checks, "member: own astronaut profile", f"/astronaut/{MEMBER}", MEMBER)

    # Account, password and sessions.
    visit(page, checks, "member: account settings and sessions", "/account",
          "Account settings")
    page.get_by_label("New email").fill("not an address")
    page.get_by_label("Current password").fill("wrong password")
    submit(page, "Change email")
    checks.check(page, "member: account settings, email change with errors")
    visit(page, checks, "member: change password", "/account/password")
    page.get_by_label("Current password").fill("wrong password")
    page.get_by_label("New password").fill("short")
    page.get_by_label("Repeat password").fill("different")
    submit(page, "Change password")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    checks.check(page, "member: change password, with errors")

    # Two-factor sign-in: enrolment, its errors, the recovery codes, then a login with a code.
    visit(page, checks, "member: turn on two-factor sign-in", "/account/two-factor",
          "Turn on two-factor sign-in")
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill("000000")
    submit(page, "Turn on two-factor sign-in")
    checks.check(page, "member: turn on two-factor sign-in, wrong code")
    page.get_by_label("Code from the app").fill(code_after(secret))
    submit(page, "Turn on two-factor sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    checks.check(page, "member: recovery codes")
    recovery_code = page.locator(".recovery-code").first.inner_text()
    visit(page, checks, "member: manage two-factor sign-in", "/account/two-factor")
    log_out(page)
    page.goto("/login")
    page.get_by_label("Username or email").fill(MEMBER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit(page, "Log in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    checks.check(page, "member: two-factor login")
    page.get_by_label(re.compile("^Code from your authenticator app")).fill("000000")
    submit(page, "Log in")
    checks.check(page, "member: two-factor login, wrong code")
    page.get_by_role("link", name="Use a recovery code").click()
    expect(page.get_by_label("Recovery code")).to_be_visible()
    checks.check(page, "member: two-factor login, recovery code")
    page.get_by_label("Recovery code").fill(recovery_code)
    submit(page, "Log in")
    expect(page.locator("form[action$=\"/logout\"] button")).to_be_attached()

    visit(page, checks, "member: console, forbidden (403)", "/admin/", "403")
    visit(page, checks, "member: planet not found (404)", "/planets/999999", "404")
    checks.assert_no_violations()


def test_a_viewers_pages_pass_axe_in_both_themes(tour, checks):
    page = tour
    log_in(page, "vera")
    checks.check(page, "viewer: dashboard")
    visit(page, checks, "viewer: console home", "/admin/", "Console")

    visit(page, checks, "viewer: users", "/admin/user/", "Users")
    user_id = record_id(page, "marta@example.com")
    add_filter(page, "Role")
    checks.check(page, "viewer: users, a filter added")
    # Applied as the form's Apply sends it (its value field may be a select2 widget).
    parameter = page.locator("#filter_form .filter-val").last.get_attribute("name")
    visit(page, checks, "viewer: users, filtered", f"/admin/user/?{parameter}=editor", "Users")
    visit(page, checks, "viewer: user details", f"/admin/user/details/?id={user_id}")
    visit(page, checks, "viewer: user history", f"/admin/user/history/?id={user_id}")

    visit(page, checks, "viewer: planets", "/admin/planet/", "Planets")
    console_search(page, "/admin/planet/", "Kepler")
    checks.check(page, "viewer: planets, search")
    planet_id = record_id(page, "Kepler-452 b")
    add_filter(page, "Type")
    checks.check(page, "viewer: planets, a filter added")
    visit(page, checks, "viewer: planet details", f"/admin/planet/details/?id={planet_id}")
    visit(page, checks, "viewer: planet history", f"/admin/planet/history/?id={planet_id}")

    visit(page, checks, "viewer: applications", "/admin/application/", "Applications")
    application_id = record_id(page, "pilot")  # the server's arranged applications
    visit(page, checks, "viewer: applications, pending", "/admin/application/?flt0_0=pending")
    visit(page, checks, "viewer: application details",
          f"/admin/application/details/?id={application_id}")
    visit(page, checks, "viewer: application history",
          f"/admin/application/history/?id={application_id}")

    visit(page, checks, "viewer: planet edit, forbidden (403)",
          f"/admin/planet/edit/?id={planet_id}", "403")
    visit(page, checks, "viewer: console page not found (404)", "/admin/no-such-page/")
    checks.assert_no_violations()


def test_an_editors_pages_pass_axe_in_both_themes(tour, checks):
    page = tour
    log_in(page, "tessa")
    apply_for(page, EDITOR_REJECTED, "To stand on a temperate world next door.")
    apply_for(page, EDITOR_APPROVED, "To see the habitable zone of a red dwarf.")
    visit(page, checks, "editor: console home", "/admin/", "Console")

    # Planets: the list with its actions, a failed create, a create, a failed edit, an edit.
    visit(page, checks, "editor: planets", "/admin/planet/", "Planets")
    visit(page, checks, "editor: planet create", "/admin/planet/new/")
    submit(page, "Save")
    expect(page.locator(".invalid-feedback, .help-block").first).to_be_visible()
    checks.check(page, "editor: planet create, failed save")
    page.get_by_label("Name", exact=True).fill(TOUR_PLANET)
    page.get_by_label("Type", exact=True).select_option(index=1)
    page.get_by_label("Host star").fill("Tour Star")
    submit(page, "Save")
    expect(page.get_by_role("alert").first).to_contain_text("successfully")
    checks.check(page, "editor: planets, after a save")
    console_search(page, "/admin/planet/", TOUR_PLANET)
    planet_id = record_id(page, TOUR_PLANET)
    visit(page, checks, "editor: planet edit", f"/admin/planet/edit/?id={planet_id}")
    page.get_by_label("Mass (Earth masses)").fill("-1")
    page.get_by_label("Discovery year").fill("3000")
    submit(page, "Save")
    expect(page.locator(".invalid-feedback, .help-block").first).to_be_visible()
    checks.check(page, "editor: planet edit, failed save")
    page.get_by_label("Mass (Earth masses)").fill("1.5")
    page.get_by_label("Discovery year").fill("2024")
    submit(page, "Save")
    expect(page.get_by_role("alert").first).to_contain_text("successfully")
    # A save over a change made meanwhile (in another tab) shows both and saves nothing.
    page.goto(f"/admin/planet/edit/?id={planet_id}")
    other_tab = page.context.new_page()
    other_tab.goto(f"/admin/planet/edit/?id={planet_id}")
    other_tab.get_by_label("Radius (Earth radii)").fill("1.2")
    submit(other_tab, "Save")
    other_tab.close()
    page.get_by_label("Radius (Earth radii)").fill("1.3")
    submit(page, "Save")
    expect(page.get_by_role("alert").first).to_contain_text("Someone else changed")
    checks.check(page, "editor: planet edit, changed meanwhile by someone else")
    visit(page, checks, "editor: planet history, after an edit",
          f"/admin/planet/history/?id={planet_id}")
    page.get_by_role("link", name="Revert this change").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revert")
    checks.check(page, "editor: revert a change")

    # The CSV import: the upload form, then a dry run with an invalid row.
    visit(page, checks, "editor: planet import", "/admin/planet/import/")
    rows = [CSV_HEADER, "Tour Import 1 b,terrestrial,Tour Import 1,2024,transit,-2,1.1,12.5,"
            "0.08,130,,,tour"]
    page.get_by_label("CSV file").set_input_files({"name": "tour.csv", "mimeType": "text/csv",
                                                   "buffer": ("\n".join(rows) + "\n").encode()})
    submit(page, "Check file")
    checks.check(page, "editor: planet import, dry run with an invalid row")

    # Applications: a rejection without a note is refused; then a rejection and an approval.
    visit(page, checks, "editor: applications", "/admin/application/", "Applications")
    rejected = record_id(page, EDITOR_REJECTED)
    approved = record_id(page, EDITOR_APPROVED)
    visit(page, checks, "editor: application details, pending",
          f"/admin/application/details/?id={rejected}")
    submit(page, "Reject")
    expect(page.locator("#review_note-error")).to_be_visible()
    checks.check(page, "editor: application review, failed (no note)")
    page.get_by_label("Review note").fill("The crew is complete.\nApply again next season.")
    submit(page, "Reject")
    expect(page.get_by_role("alert").first).to_contain_text("rejected")
    checks.check(page, "editor: application details, rejected")
    page.goto(f"/admin/application/details/?id={approved}")
    submit(page, "Approve")
    expect(page.get_by_role("alert").first).to_contain_text("approved")

    # The editor's own pages: decided applications, a profile with a mission, an API token.
    visit(page, checks, "editor: dashboard, approved and rejected applications", "/")
    visit(page, checks, "editor: astronaut profile with a mission", "/astronaut/tessa")
    page.goto("/account")
    submit(page, "Create token")
    checks.check(page, "editor: account, token name missing")
    page.get_by_label("Token name").fill("tour script")
    submit(page, "Create token")
    expect(page.locator("#new-api-token")).to_be_visible()
    checks.check(page, "editor: account, a new API token")

    # Put back: the tour's planet goes.
    delete_planet(page, TOUR_PLANET)
    checks.assert_no_violations()


def test_an_admins_pages_pass_axe_in_both_themes(tour, checks):
    page = tour
    log_in(page, "ada")
    apply_for(page, ADMIN_PENDING, "To watch a hot Jupiter cross its star.")
    visit(page, checks, "admin: console home", "/admin/", "Console")

    # Users: list, filter, a failed create, a failed edit, details and history.
    visit(page, checks, "admin: users", "/admin/user/", "Users")
    user_id = record_id(page, "marta@example.com")
    add_filter(page, "Active")
    checks.check(page, "admin: users, a filter added")
    visit(page, checks, "admin: user create", "/admin/user/new/")
    page.get_by_label("Username").fill("marta")  # taken, and no password
    page.get_by_label("Email").fill("not an address")
    submit(page, "Save")
    expect(page.locator(".invalid-feedback, .help-block").first).to_be_visible()
    checks.check(page, "admin: user create, failed save")
    visit(page, checks, "admin: user edit", f"/admin/user/edit/?id={user_id}")
    page.get_by_label("Email").fill("not an address")
    submit(page, "Save")
    expect(page.locator(".invalid-feedback, .help-block").first).to_be_visible()
    checks.check(page, "admin: user edit, failed save")
    visit(page, checks, "admin: user details", f"/admin/user/details/?id={user_id}")
    visit(page, checks, "admin: user history", f"/admin/user/history/?id={user_id}")

    # Applications: the list with its bulk actions and the bulk approval's page.
    visit(page, checks, "admin: applications", "/admin/application/", "Applications")
    page.locator("table.model-list tbody tr", has_text=ADMIN_PENDING).locator(
        "input.action-checkbox").check()
    page.get_by_role("button", name="With selected").or_(
        page.get_by_role("link", name="With selected")).first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="Approve", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approve")
    checks.check(page, "admin: approve selected applications")

    # API tokens (one of the admin's own, so the list has one), jobs.
    page.goto("/account")
    page.get_by_label("Token name").fill("admin tour script")
    submit(page, "Create token")
    visit(page, checks, "admin: API tokens", "/admin/token/", "API tokens")
    token_id = record_id(page, "admin tour script")
    visit(page, checks, "admin: API token details", f"/admin/token/details/?id={token_id}")
    visit(page, checks, "admin: API token history", f"/admin/token/history/?id={token_id}")
    visit(page, checks, "admin: jobs", "/admin/job/", "Jobs")
    job_id = record_id(page, "")
    add_filter(page, "State")
    checks.check(page, "admin: jobs, a filter added")
    visit(page, checks, "admin: job details", f"/admin/job/details/?id={job_id}")

    # A planet deleted and restored from the audit log.
    page.goto("/admin/planet/new/")
    page.get_by_label("Name", exact=True).fill(RESTORED_PLANET)
    page.get_by_label("Type", exact=True).select_option(index=1)
    page.get_by_label("Host star").fill("Tour Star")
    submit(page, "Save")
    expect(page.get_by_role("alert").first).to_contain_text("successfully")
    planet_id = delete_planet(page, RESTORED_PLANET)

    visit(page, checks, "admin: audit log", "/admin/audit/", "Audit log")
    event_id = record_id(page, "")
    add_filter(page, "Action")
    checks.check(page, "admin: audit log, a filter added")
    visit(page, checks, "admin: audit event details", f"/admin/audit/details/?id={event_id}")
    page.goto("/admin/audit/")
    deleted = page.locator("table.model-list tbody tr").filter(
        has=page.get_by_role("link", name=planet_id, exact=True)).filter(has_text="delete")
    deleted.get_by_role("link", name="Restore").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Restore")
    checks.check(page, "admin: restore a deleted planet")
    submit(page, "Restore it")
    expect(page.get_by_role("alert").first).to_contain_text("is back")
    checks.check(page, "admin: planet details, after a restore")
    checks.assert_no_violations()


def test_every_page_toured_is_valid_html(documents):
    """The Nu Html Checker over the HTML of every state the tours checked, in one run."""
    if not documents:
        pytest.skip("no tour ran: the HTML of the tours' pages is checked after them")
    errors = validate_html(documents)
    assert not errors, (f"{len(errors)} HTML error(s) in {len(documents)} page states:\n"
                        + "\n".join(e.line_text() for e in errors))
