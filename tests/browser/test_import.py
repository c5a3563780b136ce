"""CSV import in the console: an editor uploads a file with two bad rows, reads the dry run's
report (each bad row with its line and what is wrong), fixes the file, checks it again and
applies it; a large file is checked and applied by a job, its page showing the progress, then
the same report."""

from __future__ import annotations

import re

from tests.browser.helpers import assert_accessible, expect, log_in
from tests.browser.server import IMPORT_JOB_THRESHOLD

HEADER = ("name,planet_type,host_star,discovery_year,discovery_method,mass_earth,radius_earth,"
          "orbital_period_days,semi_major_axis_au,distance_ly,equilibrium_temp_k,description,"
          "source")


def _row(name: str, mass: str = "1.2", year: str = "2024") -> str:
    return f"{name},terrestrial,{name[:-2]},{year},transit,{mass},1.1,12.5,0.08,130,,,journey"


def _csv(*rows: str) -> dict:
    body = "\n".join([HEADER, *rows]) + "\n"
    return {"name": "new-planets.csv", "mimeType": "text/csv", "buffer": body.encode()}


def _open_import(page) -> None:
    page.goto("/admin/planet/")
    page.get_by_role("main").get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import planets from CSV")


def test_an_editor_fixes_two_bad_rows_then_applies_the_file(page):
    page.goto("/login")
    log_in(page, "tessa")
    _open_import(page)
    assert_accessible(page)
    good = [_row(f"Zeta Journey {number} b") for number in range(1, 4)]
    bad_mass, bad_year = _row("Zeta Journey 4 b", mass="-2"), _row("Zeta Journey 5 b", year="3024")
    page.get_by_label("CSV file").set_input_files(_csv(*good, bad_mass, bad_year))
    page.get_by_role("button", name="Check file").click()

    report = page.locator("section", has=page.get_by_role("heading", name="Dry run of "
                                                                        "new-planets.csv"))
    expect(report).to_contain_text("5 row(s) read: 3 to add, 0 to update")
    expect(report.get_by_role("alert")).to_contain_text("2 invalid row(s): importing this file "
                                                        "would store nothing")
    invalid = report.get_by_role("table", name="Invalid rows").locator("tbody tr")
    expect(invalid).to_have_count(2)
    expect(invalid.nth(0)).to_contain_text(re.compile(r"^\s*5\s+Zeta Journey 4 b\s+Mass: must be"))
    expect(invalid.nth(1)).to_contain_text(re.compile(r"^\s*6\s+Zeta Journey 5 b\s+Discovery "
                                                      r"year: cannot be in the future"))
    expect(page.get_by_role("button", name=re.compile("^Apply"))).to_have_count(0)
    assert_accessible(page)

    fixed = [_row("Zeta Journey 4 b", mass="2"), _row("Zeta Journey 5 b", year="2023")]
    page.get_by_label("CSV file").set_input_files(_csv(*good, *fixed))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("table", name="To add").locator("tbody tr")).to_have_count(5)
    page.get_by_role("button", name="Apply: add 5, update 0").click()
    expect(page.get_by_role("heading", name="Imported new-planets.csv")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("5 added, 0 updated")
    assert_accessible(page)

    page.get_by_role("link", name="Back to the planets").click()
    page.get_by_placeholder(re.compile("host star")).fill("Zeta Journey")
    page.keyboard.press("Enter")
    expect(page.locator("table.model-list tbody tr")).to_have_count(5)


def test_a_large_import_shows_its_progress_and_finishes(page):
    rows = [_row(f"Zeta Bulk {number:05d} b") for number in range(6000)]
    file = _csv(*rows)
    assert len(file["buffer"]) > IMPORT_JOB_THRESHOLD  # so a job does the work
    page.goto("/login")
    log_in(page, "tessa")
    _open_import(page)
    page.get_by_label("CSV file").set_input_files(file)
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check of new-planets.csv")
    expect(page.get_by_label("Progress")).to_be_visible()
    assert_accessible(page)
    expect(page.get_by_role("heading", name="Dry run of new-planets.csv")).to_be_visible(
        timeout=60_000)
    expect(page.get_by_role("main")).to_contain_text("6,000 row(s) read: 6,000 to add")

    page.get_by_role("button", name="Apply: add 6,000, update 0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of new-planets.csv")
    expect(page.get_by_label("Progress")).to_be_visible()
    expect(page.get_by_role("heading", name="Imported new-planets.csv")).to_be_visible(
        timeout=60_000)
    expect(page.get_by_role("main")).to_contain_text("6,000 added")
    assert_accessible(page)
