"""Where the focus goes and what fits: a failed save lands on its first invalid field (console
and site), a filter added by keyboard keeps the focus on its named value, row buttons are big
enough to hit, and no page scrolls sideways on a 320 px wide screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import expect, log_in

LONG_WORD = "x" * 300  # long unbroken text: it must wrap, not widen the page


def test_a_failed_console_save_lands_on_the_first_invalid_field(page):
    page.goto("/login")
    log_in(page, "tessa")
    page.goto("/admin/planet/new/")
    page.get_by_label("Host star").fill("Nowhere")
    mass = page.get_by_label("Mass (Earth masses)")
    mass.fill("heavy")
    page.get_by_role("button", name="Save", exact=True).click()

    name = page.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("is required"))
    expect(mass).to_have_attribute("aria-invalid", "true")
    expect(mass).to_have_accessible_description(re.compile("must be a number"))


def test_a_failed_registration_lands_on_the_first_invalid_field(page):
    page.goto("/register")
    page.get_by_label("Username").fill("x")
    page.get_by_role("button", name=re.compile("Create|Register")).click()
    username = page.get_by_label("Username")
    expect(username).to_be_focused()
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description(re.compile(r"\S"))


def _add_filter_by_keyboard(page, name: str) -> None:
    toggle = page.get_by_role("link", name="Add Filter")
    toggle.focus()
    page.keyboard.press("Enter")
    item = page.locator(".field-filters a.filter", has_text=name)
    expect(item).to_be_visible()
    item.focus()  # as the arrow keys would
    page.keyboard.press("Enter")


def test_a_filter_added_by_keyboard_keeps_the_focus_on_its_named_value(page):
    page.goto("/login")
    log_in(page, "vera")
    page.goto("/admin/planet/")
    page.wait_for_load_state("load")  # the filters' script has run

    _add_filter_by_keyboard(page, "Discovered after")
    value = page.get_by_role("textbox", name="Discovered after filter: value")
    expect(value).to_be_focused()
    expect(page.get_by_role("combobox", name=re.compile("^Discovered after filter: comparison")))\
        .to_have_count(1)
    expect(page.get_by_role("link", name="Remove the filter Discovered after")).to_be_visible()

    # A filter of fixed choices: Select2's stand-in takes the focus, named after the filter.
    _add_filter_by_keyboard(page, "Type")
    expect(page.locator(":focus")).to_have_accessible_name(re.compile("^Type filter: value"))

    # Applied, the filters come back with the same names.
    value.fill("2000")
    value.press("Enter")
    expect(page).to_have_url(re.compile(r"flt\d+_\d+=2000"))
    expect(page.get_by_role("textbox", name="Discovered after filter: value")).to_have_value(
        "2000")


def test_row_buttons_are_named_after_their_record_and_at_least_24_px(page):
    page.goto("/login")
    log_in(page, "ada")
    page.goto("/admin/planet/?search=Kepler-452")
    row = page.locator("table.model-list tbody tr", has_text="Kepler-452 b")
    for button in (row.get_by_role("link", name="View Kepler-452 b", exact=True),
                   row.get_by_role("link", name="Edit Kepler-452 b", exact=True),
                   row.get_by_role("button", name="Delete Kepler-452 b", exact=True)):
        box = button.bounding_box()
        assert box and box["width"] >= 24 and box["height"] >= 24, box
    expect(row.get_by_role("checkbox", name="Select Kepler-452 b")).to_be_visible()


PHONE_PAGES = [
    "/", "/planets", f"/planets?q={LONG_WORD}", "/planets/1", "/api/docs", "/account",
    "/account/password", "/account/two-factor", "/mission-application", "/astronaut/ada",
    "/admin/", "/admin/planet/", "/admin/planet/?flt0_0=gas_giant&flt1_2=2000",
    f"/admin/planet/?search={LONG_WORD}", "/admin/planet/new/", "/admin/planet/details/?id=1",
    "/admin/planet/edit/?id=1", "/admin/planet/history/?id=1", "/admin/planet/import/",
    "/admin/user/", "/admin/user/details/?id=1", "/admin/application/",
    "/admin/application/details/?id=1", "/admin/audit/", "/admin/audit/details/?id=1",
    "/admin/job/", "/admin/token/", "/admin/no-such-page",
]


@pytest.fixture
def phone(new_page, watch):
    watch.allow_error(r"status of 404")  # the console's 404 page, on purpose
    page = new_page()
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/login")
    log_in(page, "ada")
    return page


def test_no_page_scrolls_sideways_on_a_320_px_screen(phone):
    wide = {}
    for path in PHONE_PAGES:
        phone.goto(path)
        phone.wait_for_load_state("load")
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            wide[path[:80]] = width
    assert not wide, f"pages wider than the screen: {wide}"
