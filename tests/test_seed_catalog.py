"""The real seed catalog: the file itself, and loading it."""

import csv

import pytest
from sqlalchemy import func, select

from console.cli import seed_command
from console.planet_csv import CSV_COLUMNS
from models import DiscoveryMethod, Planet, PlanetType, db
from models.planets import clean_planet
from seed import CATALOG_FILE


@pytest.fixture(scope="module")
def catalog_rows() -> list[dict[str, str]]:
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_catalog_columns_are_the_schema_fields(catalog_rows):
    assert list(catalog_rows[0]) == CSV_COLUMNS


def test_every_catalog_row_passes_the_schema(catalog_rows):
    for line, row in enumerate(catalog_rows, start=2):
        clean_planet(row)  # raises, naming the field, on the first bad row
        assert row["source"].strip(), f"line {line} has no source"


def test_catalog_names_are_unique_ignoring_case(catalog_rows):
    names = [row["name"].lower() for row in catalog_rows]
    assert len(names) == len(set(names))


def test_catalog_covers_the_solar_system_and_many_exoplanets(catalog_rows):
    by_name = {row["name"]: row for row in catalog_rows}
    solar = ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
    dwarfs = ["Ceres", "Pluto", "Eris", "Haumea", "Makemake"]
    assert all(by_name[name]["host_star"] == "Sun" for name in solar + dwarfs)
    assert all(by_name[name]["planet_type"] == "dwarf" for name in dwarfs)
    exoplanets = [row for row in catalog_rows if row["host_star"] != "Sun"]
    assert len(exoplanets) >= 150
    methods = {row["discovery_method"] for row in exoplanets}
    assert methods == {m.value for m in DiscoveryMethod} - {"observation"}
    years = {int(row["discovery_year"]) for row in exoplanets}
    assert min(years) == 1992 and len(years) >= 25
    for name in ["51 Pegasi b", "Proxima Centauri b", "Kepler-452 b", "HR 8799 b", "HR 8799 e",
                 *(f"TRAPPIST-1 {letter}" for letter in "bcdefgh")]:
        assert name in by_name


# Published values (NASA Planetary Fact Sheet; NASA Exoplanet Archive; discovery papers).
WELL_KNOWN = [
    ("Earth", "mass_earth", 1.0), ("Earth", "orbital_period_days", 365.256),
    ("Jupiter", "mass_earth", 317.8), ("Jupiter", "semi_major_axis_au", 5.203),
    ("Neptune", "discovery_year", 1846), ("Pluto", "discovery_year", 1930),
    ("Pluto", "semi_major_axis_au", 39.48),
    ("51 Pegasi b", "discovery_year", 1995), ("51 Pegasi b", "orbital_period_days", 4.2308),
    ("Proxima Centauri b", "distance_ly", 4.24),
    ("Proxima Centauri b", "orbital_period_days", 11.186),
    ("TRAPPIST-1 e", "radius_earth", 0.92), ("TRAPPIST-1 e", "orbital_period_days", 6.10),
    ("Kepler-452 b", "orbital_period_days", 384.84), ("Kepler-452 b", "radius_earth", 1.63),
    ("HR 8799 b", "discovery_year", 2008), ("HD 209458 b", "orbital_period_days", 3.5247),
    ("GJ 1214 b", "orbital_period_days", 1.5804), ("PSR B1257+12 c", "discovery_year", 1992),
    ("PSR B1257+12 c", "orbital_period_days", 66.54),
    ("Kepler-22 b", "orbital_period_days", 289.86),
    # Corrected after the check against the Open Exoplanet Catalogue (seed/README.md), written
    # in the units they were published in: a Gaia DR3 parallax in mas, an OEC distance in pc,
    # an OEC mass in Jupiter masses.
    ("GJ 273 b", "distance_ly", 1000 / 264.1269 * 3.26156),
    ("OGLE-TR-56 b", "distance_ly", 1500 * 3.26156),
    ("51 Pegasi b", "mass_earth", 0.46 * 317.83),
    # Published equilibrium temperatures the archive export had dropped, filled in from OEC.
    ("TRAPPIST-1 b", "equilibrium_temp_k", 400.1), ("TRAPPIST-1 c", "equilibrium_temp_k", 341.9),
    ("TRAPPIST-1 d", "equilibrium_temp_k", 288.0), ("TRAPPIST-1 e", "equilibrium_temp_k", 251.3),
    ("TRAPPIST-1 f", "equilibrium_temp_k", 219.0), ("TRAPPIST-1 g", "equilibrium_temp_k", 198.6),
    ("WASP-33 b", "equilibrium_temp_k", 2782), ("GJ 1132 b", "equilibrium_temp_k", 529),
    ("TOI-700 d", "equilibrium_temp_k", 269), ("GJ 486 b", "equilibrium_temp_k", 700),
    ("Wolf 1069 b", "equilibrium_temp_k", 250),
]


@pytest.mark.parametrize(("name", "field", "published"), WELL_KNOWN)
def test_well_known_values_match_published_figures(catalog_rows, name, field, published):
    row = next(row for row in catalog_rows if row["name"] == name)
    assert float(row[field]) == pytest.approx(published, rel=2e-3)


def test_method_and_type_of_famous_planets(catalog_rows):
    by_name = {row["name"]: row for row in catalog_rows}
    assert by_name["51 Pegasi b"]["discovery_method"] == "radial_velocity"
    assert by_name["HR 8799 b"]["discovery_method"] == "imaging"
    assert by_name["PSR B1257+12 c"]["discovery_method"] == "timing"
    assert by_name["OGLE-2005-BLG-390L b"]["discovery_method"] == "microlensing"
    assert by_name["Jupiter"]["planet_type"] == PlanetType.GAS_GIANT


def _planet_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Planet.id)))


def test_seed_loads_the_catalog_and_is_idempotent(runner, app, catalog_rows):
    first = runner.invoke(seed_command)
    assert first.exit_code == 0, first.output
    assert f"{len(catalog_rows)} added" in first.output
    assert _planet_count(app) == len(catalog_rows)
    with app.app_context():
        before = {p.name: (p.mass_earth, p.updated_at) for p in db.session.scalars(select(Planet))}

    second = runner.invoke(seed_command)
    assert second.exit_code == 0, second.output
    assert f"0 added, {len(catalog_rows)} already present" in second.output
    with app.app_context():
        after = {p.name: (p.mass_earth, p.updated_at) for p in db.session.scalars(select(Planet))}
    assert after == before


def test_seed_keeps_edits_made_in_the_console(runner, app):
    runner.invoke(seed_command)
    with app.app_context():
        earth = Planet.find_by_name("earth")
        earth.description = "Home."
        db.session.commit()
    runner.invoke(seed_command)
    with app.app_context():
        assert Planet.find_by_name("Earth").description == "Home."
