"""The colour theme switch in a real browser: without JavaScript its buttons submit the form and
the same page comes back in the chosen theme; with JavaScript the page switches at once and
keeps what was typed; Auto follows the system's setting; a user's choice follows them to
another browser; the focus ring shows on the dark navigation bar."""

from __future__ import annotations

import re

from tests.browser.helpers import expect, log_in

LIGHT_PAGE = "rgb(255, 255, 255)"
DARK_PAGE = "rgb(21, 25, 29)"  # --bg of the dark theme in console/static/console.css


def expect_page_colour(page, colour: str) -> None:
    """The page's background is `colour`, once its stylesheet has loaded (a computed style
    read before that is the browser's white)."""
    expect(page.locator("body")).to_have_css("background-color", colour)


def test_a_visitor_switches_the_theme_without_javascript(new_page):
    page = new_page(java_script_enabled=False, color_scheme="light")
    page.goto("/planets?q=kepler")
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    expect_page_colour(page, LIGHT_PAGE)

    page.get_by_role("button", name="Dark").click()
    expect(page).to_have_url(re.compile(r"/planets\?q=kepler$"))
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_role("button", name="Dark")).to_have_attribute("aria-pressed", "true")
    expect_page_colour(page, DARK_PAGE)

    page.get_by_role("button", name="Auto").click()  # the system's setting: light here
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    expect_page_colour(page, LIGHT_PAGE)


def test_a_users_theme_switches_at_once_and_follows_them(new_page):
    page = new_page(color_scheme="dark")
    log_in(page, "marta")
    try:
        page.goto("/planets")
        expect_page_colour(page, DARK_PAGE)  # Auto, and the system is dark
        search = page.get_by_label("Name or host star contains")
        search.fill("Kepler")
        with page.expect_response(re.compile(r"/account/theme$")):
            page.get_by_role("button", name="Light").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        expect(page.get_by_role("button", name="Light")).to_have_attribute("aria-pressed",
                                                                           "true")
        expect_page_colour(page, LIGHT_PAGE)
        expect(search).to_have_value("Kepler")  # no reload: what was typed is still there

        # The focus ring on the dark navigation bar: the light tone outside.
        page.get_by_role("button", name="Light").focus()
        page.keyboard.press("Tab")
        page.wait_for_function("""() => getComputedStyle(document.activeElement).boxShadow
                                  .startsWith("rgb(11, 12, 12) 0px 0px 0px 2px")""")  # faded in
        ring = page.evaluate("""() => {
          const style = getComputedStyle(document.activeElement);
          return [document.activeElement.textContent.trim(), style.outlineColor,
                  style.outlineWidth, style.outlineStyle];
        }""")
        assert ring == ["Dark", "rgb(255, 191, 71)", "3px", "solid"]

        laptop = new_page(color_scheme="dark")
        log_in(laptop, "marta")
        laptop.goto("/")
        expect(laptop.locator("html")).to_have_attribute("data-theme", "light")
        expect_page_colour(laptop, LIGHT_PAGE)
    finally:
        with page.expect_response(re.compile(r"/account/theme$")):
            page.get_by_role("button", name="Auto").click()  # as the other tests expect marta
        expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
