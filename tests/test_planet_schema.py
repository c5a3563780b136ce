"""The one planet schema: every field's rule and message."""

from datetime import UTC, datetime

import pytest

from models.errors import DomainError
from models.planets import PLANET_FIELDS, clean_planet
from tests.conftest import PLANET

THIS_YEAR = datetime.now(UTC).year


def _errors(**changes) -> dict[str, list[str]]:
    with pytest.raises(DomainError) as raised:
        clean_planet({**PLANET, **changes})
    return raised.value.fields


def test_valid_planet_is_cleaned():
    clean = clean_planet({**PLANET, "name": "  Kepler-452 b ", "mass_earth": "5",
                          "discovery_year": "2015"})
    assert clean["name"] == "Kepler-452 b"
    assert clean["mass_earth"] == 5.0 and clean["discovery_year"] == 2015
    assert clean["distance_ly"] is None and clean["description"] == ""
    assert set(clean) == {field.name for field in PLANET_FIELDS}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "is required"),
        ("name", "   ", "is required"),
        ("name", None, "is required"),
        ("name", "x" * 101, "must be at most 100 characters"),
        ("name", "bad\x00name", "must not contain control characters"),
        ("name", 42, "must be text"),
        ("host_star", "", "is required"),
        ("host_star", "s" * 101, "must be at most 100 characters"),
        ("description", "d" * 2001, "must be at most 2000 characters"),
        ("source", "s" * 301, "must be at most 300 characters"),
        ("planet_type", "hot_jupiter", "must be one of: terrestrial, super_earth"),
        ("planet_type", "", "is required"),
        ("planet_type", 3, "must be one of"),
        ("discovery_method", "telepathy", "must be one of: transit, radial_velocity"),
        ("discovery_year", 1599, "must be 1600 or later"),
        ("discovery_year", THIS_YEAR + 1, "cannot be in the future"),
        ("discovery_year", "1995.5", "must be a whole number"),
        ("discovery_year", 1995.5, "must be a whole number"),
        ("discovery_year", "nineteen", "must be a whole number"),
        ("discovery_year", True, "must be a number"),
        ("mass_earth", 0, "must be greater than 0"),
        ("mass_earth", -1, "must be greater than 0"),
        ("mass_earth", "heavy", "must be a number"),
        ("mass_earth", "nan", "must be a finite number"),
        ("mass_earth", float("inf"), "must be a finite number"),
        ("mass_earth", "1e300", "must be a finite number"),
        ("mass_earth", [1], "must be a number"),
        ("radius_earth", 0, "must be greater than 0"),
        ("orbital_period_days", -0.1, "must be greater than 0"),
        ("semi_major_axis_au", 0.0, "must be greater than 0"),
        ("distance_ly", -0.01, "must be at least 0"),
        ("equilibrium_temp_k", 0, "must be greater than 0"),
    ],
)
def test_bad_value_names_its_field(field, value, message):
    errors = _errors(**{field: value})
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)


def test_boundaries_that_are_allowed():
    clean = clean_planet({**PLANET, "distance_ly": 0, "discovery_year": 1600, "mass_earth": 1e-9})
    assert clean["distance_ly"] == 0 and clean["discovery_year"] == 1600
    assert clean_planet({**PLANET, "discovery_year": THIS_YEAR})["discovery_year"] == THIS_YEAR


@pytest.mark.parametrize("name", ["Tatooine ☀", "Ἥλιος b", "火星", "Kepler-452 b (candidate)"])
def test_unicode_names_are_accepted(name):
    assert clean_planet({**PLANET, "name": name})["name"] == name


def test_every_bad_field_is_reported_at_once():
    errors = _errors(name="", mass_earth=-1, planet_type="x", colour="blue")
    assert set(errors) == {"name", "mass_earth", "planet_type", "colour"}
    assert errors["colour"] == ["is not a planet field"]


def test_empty_optional_numbers_become_null():
    clean = clean_planet({**PLANET, "mass_earth": "", "discovery_year": " "})
    assert clean["mass_earth"] is None and clean["discovery_year"] is None


def test_partial_checks_only_the_given_fields():
    assert clean_planet({"mass_earth": "2.5"}, partial=True) == {"mass_earth": 2.5}
    with pytest.raises(DomainError) as raised:
        clean_planet({"name": ""}, partial=True)
    assert raised.value.fields == {"name": ["is required"]}


def test_huge_input_is_refused_quickly():
    errors = _errors(name="n" * 1_000_000, description="d" * 1_000_000)
    assert set(errors) == {"name", "description"}
