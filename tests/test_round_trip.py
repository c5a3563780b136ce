"""Export, then `import-planets --update` of the same file, changes nothing: for every value the
schema accepts (formula-like text, apostrophes, quotes, newlines, non-ASCII text, empty cells,
floats with many digits), through the CLI export and the console's export, on SQLite and
PostgreSQL alike. Property-based: hypothesis draws batches of planets from PLANET_FIELDS."""

from __future__ import annotations

import math
import operator
from collections import Counter
from datetime import UTC, datetime
from itertools import count
from typing import Any

from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from console.cli import export_planets_command, import_planets_command
from console.services import planets as planet_service
from models import AuditEvent, Planet, db
from models.errors import DomainError
from models.planets import (
    EARLIEST_DISCOVERY_YEAR,
    MAX_MAGNITUDE,
    PLANET_FIELDS,
    PlanetField,
    clean_planet,
)

FIELD_NAMES = [field.name for field in PLANET_FIELDS]
# What a spreadsheet runs as a formula, the guard itself, a quote, and leading whitespace
# (which the schema strips, so the stored value starts with what follows it).
TEXT_PREFIXES = ["", "", "", "-", "=", "+", "@", "'", "''", '"', "'=", " -", "\t=", "\n'"]
FILE_NUMBER = count()  # one file name per example: tmp_path is shared by a test's examples


def _accepted(field: PlanetField, value: Any) -> bool:
    """The schema takes `value` for `field` (judged by clean_planet itself)."""
    try:
        clean_planet({field.name: value}, partial=True)
    except DomainError:
        return False
    return True


def _text(field: PlanetField) -> st.SearchStrategy[str]:
    # Any Unicode scalar value except C0 controls other than \t and \n (the schema refuses
    # them, NUL included, which PostgreSQL could not store): C1 controls, line and paragraph
    # separators, combining marks, astral characters and non-ASCII whitespace all occur.
    characters = st.characters(
        codec="utf-8",  # no lone surrogates
        exclude_characters=[chr(code) for code in range(32) if chr(code) not in "\t\n"],
    )
    body = st.text(characters, max_size=(field.max_length or 200) - 2)
    return st.builds(operator.add, st.sampled_from(TEXT_PREFIXES), body).filter(
        lambda value: _accepted(field, value))


def _float(field: PlanetField) -> st.SearchStrategy[float]:
    low = float(field.minimum or 0)
    floats = st.floats(min_value=low, max_value=MAX_MAGNITUDE, exclude_min=field.exclusive_minimum,
                       allow_nan=False, allow_infinity=False, allow_subnormal=True)
    # Quotients of integers: many digits, like 1/3 or 123456789.12345679.
    quotients = st.builds(operator.truediv, st.integers(1, 10**15), st.integers(1, 10**7))
    edges = [MAX_MAGNITUDE, 5e-324, 2.2250738585072014e-308, 0.1 + 0.2, 1 / 3,
             123456789.12345679, 2**52 / 9, 999999999999999.9]
    if not field.exclusive_minimum:
        edges += [0.0, -0.0]
    return st.one_of(floats, quotients, st.sampled_from(edges)).filter(
        lambda value: _accepted(field, value))


def _value(field: PlanetField) -> st.SearchStrategy[Any]:
    if field.kind == "text":
        value = _text(field)
    elif field.kind == "choice":
        value = st.sampled_from(field.choices)
    elif field.kind == "int":
        value = st.integers(int(field.minimum or EARLIEST_DISCOVERY_YEAR),
                            datetime.now(UTC).year)
    else:
        value = _float(field)
    if field.required:
        return value
    return st.one_of(st.none(), value) if field.kind != "text" else value  # text: "" is empty


planet_inputs = st.fixed_dictionaries({field.name: _value(field) for field in PLANET_FIELDS})
planet_batches = st.lists(planet_inputs, min_size=1, max_size=5,
                          unique_by=lambda raw: clean_planet(raw)["name"].lower())


def _planet(name: str, **values: Any) -> dict[str, Any]:
    """An explicit example: only the required fields unless given (every other cell empty)."""
    return {"name": name, "planet_type": "gas_giant", "host_star": "Star",
            "discovery_method": "transit", **values}


FORMULA_NAMES = [
    _planet("-42 b", mass_earth=0.1 + 0.2, radius_earth=1 / 3, distance_ly=0.0),
    _planet("=1+1", orbital_period_days=123456789.12345679, host_star="=cmd|' /C calc'!A0"),
    _planet("+cmd", semi_major_axis_au=5e-324, equilibrium_temp_k=MAX_MAGNITUDE),
    _planet("@SUM(A1)", description="@SUM(A1)\n-2\n'quoted' \"twice\"", source="+source"),
    _planet("'Oumuamua", description="'", source="''", discovery_year=2017),
]
QUOTED_NAMES = [
    _planet("''double", host_star="'=2"),
    _planet('"quoted" b', description='"', source='a,"b",c'),
    _planet("ωmega é 日本", host_star="Ünïcödé ☄ 𝕏", description="Zeilen\numbruch\tund Tab"),
]
# Names whose lower() in the database differs from Python's str.lower(): SQLite lowers ASCII
# only (Ω, É), PostgreSQL lowers İ to i where Python gives i + U+0307.
CASE_MAPPED_NAMES = [_planet("Ωmega é 日本"), _planet("İo")]
# Floats whose 15-digit text SQLite (3.40) reads back as the same float, though the text is
# nearer another one: a correctly rounding reader (Python's float(), so the import) gets the
# other. About one float in 10^5 is one (more among the tiniest), so they are named here.
FLOATS_SQLITE_MISREADS = [
    _planet("Radius 666/785", radius_earth=666 / 785),
    _planet("Period", orbital_period_days=58176057.207192004, mass_earth=2780 / 667),
    _planet("Tiny", semi_major_axis_au=3.6866346754864202e-09,
            distance_ly=3.1399070073801197e-299),
]


# --- helpers ----------------------------------------------------------------------------------


def _start_afresh(app) -> None:
    """Each example starts with no planets and no audit events (the fixtures are shared by
    the examples of one test)."""
    with app.app_context():
        db.session.execute(delete(AuditEvent))
        db.session.execute(delete(Planet))
        db.session.commit()


def _store(app, batch: list[dict[str, Any]]) -> None:
    with app.app_context():
        # Names must be unique by the database's lower() too (the unique index), which may
        # differ from Python's str.lower() outside ASCII.
        keys = db.session.execute(select(*[func.lower(raw["name"].strip()) for raw in batch])).one()
        assume(len(set(keys)) == len(keys))
        for raw in batch:
            planet_service.create(raw, via="cli")


def _exact(value: Any) -> Any:
    """A value compared exactly: floats by their bits (so 0.1 + 0.2 is not 0.3 and -0.0 is not
    0.0), everything with its type."""
    if isinstance(value, float):
        return ("float", value.hex() if value else math.copysign(1, value))
    return (type(value).__name__, value)


def _stored_rows(app) -> list[dict[str, Any]]:
    with app.app_context():
        planets = db.session.scalars(select(Planet).order_by(Planet.id)).all()
        return [{"id": planet.id, "version": planet.version, "archived": planet.archived,
                 "created_at": planet.created_at, "updated_at": planet.updated_at,
                 **{name: getattr(planet, name) for name in FIELD_NAMES}}
                for planet in planets]


def _audit_actions(app) -> Counter[str]:
    with app.app_context():
        return Counter(dict(db.session.execute(
            select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()))


def _assert_stored_as_cleaned(rows: list[dict[str, Any]], batch: list[dict[str, Any]]) -> None:
    """What was stored is what clean_planet made of the input."""
    expected = {clean_planet(raw)["name"]: clean_planet(raw) for raw in batch}
    assert sorted(row["name"] for row in rows) == sorted(expected)
    for row in rows:
        for name in FIELD_NAMES:
            # == so that SQLite, which stores -0.0 as 0.0, still counts as storing the value.
            assert row[name] == expected[row["name"]][name], (row["name"], name)
            assert type(row[name]) is type(expected[row["name"]][name]), (row["name"], name)


def _assert_same_rows(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        for key in old:
            assert _exact(new[key]) == _exact(old[key]), (
                f"{key} of {old['name']!r} changed from {old[key]!r} to {new[key]!r}")


def _import_changes_nothing(app, runner, path, before: list[dict[str, Any]]) -> None:
    audit_before = _audit_actions(app)
    result = runner.invoke(import_planets_command, [str(path), "--update"])
    exported = path.read_text(encoding="utf-8")
    assert result.exit_code == 0, f"{result.output}\nthe file:\n{exported}"
    assert f"0 added, 0 updated, {len(before)} unchanged, 0 invalid" in result.output, (
        f"{result.output}\nthe file:\n{exported}")
    _assert_same_rows(before, _stored_rows(app))
    assert _audit_actions(app) == audit_before  # no planet.update (nor any other) event


# --- the properties ---------------------------------------------------------------------------

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])


@settings(SETTINGS, max_examples=60)
@given(batch=planet_batches)
@example(batch=FORMULA_NAMES).via("formula-like names")
@example(batch=QUOTED_NAMES).via("quotes and apostrophes")
@example(batch=CASE_MAPPED_NAMES).via("names lowered differently by the database")
@example(batch=FLOATS_SQLITE_MISREADS).via("floats SQLite misreads")
@example(batch=[_planet("Empty cells")]).via("empty optional cells")
@example(batch=[_planet("Long", description="'" + "x" * 1999, source="=" * 300)]).via(
    "longest values, guarded")
def test_cli_export_then_update_import_changes_nothing(app, runner, tmp_path, batch):
    _start_afresh(app)
    _store(app, batch)
    before = _stored_rows(app)
    _assert_stored_as_cleaned(before, batch)

    path = tmp_path / f"export-{next(FILE_NUMBER)}.csv"
    exported = runner.invoke(export_planets_command, [str(path)])
    assert exported.exit_code == 0, exported.output
    _import_changes_nothing(app, runner, path, before)

    again = tmp_path / f"export-{next(FILE_NUMBER)}.csv"
    assert runner.invoke(export_planets_command, [str(again)]).exit_code == 0
    assert again.read_bytes() == path.read_bytes()


@settings(SETTINGS, max_examples=15)
@given(batch=planet_batches)
@example(batch=FORMULA_NAMES).via("formula-like names")
@example(batch=QUOTED_NAMES).via("quotes, apostrophes, non-ASCII")
def test_console_export_then_update_import_changes_nothing(app, runner, login_as, tmp_path,
                                                           batch):
    _start_afresh(app)
    _store(app, batch)
    before = _stored_rows(app)
    client, _ = login_as("editor")

    response = client.get("/admin/planet/export/csv/")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    path = tmp_path / f"console-{next(FILE_NUMBER)}.csv"
    path.write_bytes(response.get_data())
    cli_export = tmp_path / f"export-{next(FILE_NUMBER)}.csv"
    assert runner.invoke(export_planets_command, [str(cli_export)]).exit_code == 0
    assert path.read_bytes() == cli_export.read_bytes()  # one format, whichever way out
    _import_changes_nothing(app, runner, path, before)
