"""The streaming CSV import: a dry run reports what an import would do and stores nothing, an
import is all or nothing, names repeated in a file are caught across batches, the rows are read
as the import goes (never all at once), the report keeps exact counts but only the first
entries, progress is reported, and the CLI's --dry-run and progress bars."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from console.cli import export_planets_command, import_planets_command
from console.planet_csv import CSV_COLUMNS
from console.planet_import import Addition, ImportReport, InvalidRow
from console.services import planets
from models import AuditEvent, Planet, db
from models.errors import DomainError
from tests.conftest import PLANET
from tests.test_import_export import (
    BAD_MASS,
    BAD_TWO,
    GOOD_1,
    GOOD_2,
    HEADER,
    _csv,
    _names,
    _planet_indexes,
)


def _file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([HEADER, *lines]) + "\n").encode())


def _import(app, *lines: str, **options) -> ImportReport:
    with app.app_context():
        return planets.import_csv(_file(*lines), **options)


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Planet.id))),
                db.session.scalar(select(func.count(AuditEvent.id))))


def _row(number: int, **cells: str) -> dict[str, str]:
    values = dict(zip(CSV_COLUMNS, GOOD_2.split(","), strict=True))
    return {**values, "name": f"Stream {number:07d} b", **cells}


def _rows(count: int, start: int = 2) -> Iterator[tuple[int, dict[str, str]]]:
    for number in range(count):
        yield start + number, _row(number)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", 2)


# --- the dry run --------------------------------------------------------------------------------


def test_dry_run_reports_adds_updates_and_invalid_rows_and_stores_nothing(app, make_planet):
    alpha = make_planet(name="Alpha b", planet_type="gas_giant", host_star="Alpha",
                        discovery_year=2001, discovery_method="transit", mass_earth=1.0)
    before = _counts(app)
    report = _import(app, GOOD_1, BAD_MASS, GOOD_2, BAD_TWO, dry_run=True, update=True)

    assert (report.created, report.updated, report.unchanged, report.invalid) == (1, 1, 0, 2)
    assert report.rows == 4 and report.dry_run and not report.stored
    assert report.additions == [Addition(4, "Beta c")]
    [update] = report.updates
    assert (update.line, update.id, update.name) == (2, alpha, "Alpha b")
    assert update.changes["mass_earth"] == [1.0, 300.0]
    assert update.changes["description"] == ["", "Hot giant."]
    assert "name" not in update.changes and "host_star" not in update.changes
    assert [(row.line, row.name) for row in report.invalid_rows] == [(3, "Gamma d"), (5, "Delta e")]
    assert report.invalid_rows[0].errors == {"mass_earth": ["must be greater than 0"]}
    assert set(report.invalid_rows[1].errors) == {"planet_type", "discovery_year"}
    assert _counts(app) == before
    with app.app_context():
        assert Planet.find_by_name("Alpha b").mass_earth == 1.0


def test_dry_run_without_update_counts_stored_names_as_unchanged(app, make_planet):
    make_planet(name="Alpha b", mass_earth=1.0)
    report = _import(app, GOOD_1, GOOD_2, dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)
    assert report.updates == []


def test_dry_run_tells_what_the_import_then_does(app, make_planet):
    make_planet(name="Alpha b", mass_earth=1.0)
    lines = (GOOD_1, GOOD_2)
    before = _counts(app)
    planned = _import(app, *lines, dry_run=True, update=True)
    assert not planned.stored and _counts(app) == before  # a valid file, and nothing stored
    done = _import(app, *lines, update=True)
    assert done.stored and not done.dry_run
    assert (done.additions, done.updates) == (planned.additions, planned.updates)
    assert (done.created, done.updated, done.unchanged) == (1, 1, 0)


# --- all or nothing, audited per planet ----------------------------------------------------------


def test_an_invalid_row_after_stored_batches_stores_nothing(app, small_batches):
    before = _counts(app)
    lines = [f"Planet {n} b,gas_giant,Star,2001,transit,1,1,1,1,1,1,,test" for n in range(7)]
    report = _import(app, *lines, BAD_MASS, *lines[:1], BAD_TWO)
    assert not report.stored
    assert report.created == 7  # what the import would have added
    assert [row.line for row in report.invalid_rows] == [9, 10, 11]  # every one, to the end
    assert report.invalid_rows[1].errors == {"name": ["repeats the name on line 2"]}
    assert _counts(app) == before


def test_skip_invalid_stores_the_valid_rows_each_audited(app, make_user, make_planet):
    admin = make_user("importer", role="admin")
    alpha = make_planet(name="Alpha b", mass_earth=1.0)
    with app.app_context():
        report = planets.import_csv(_file(GOOD_1, BAD_MASS, GOOD_2), update=True,
                                    skip_invalid=True, actor=admin, via_detail="file.csv")
    assert report.stored and (report.created, report.updated, report.invalid) == (1, 1, 1)
    with app.app_context():
        beta = Planet.find_by_name("Beta c")
        events = {event.action: event for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "planet"))}
        assert len(events) == 2  # one per planet
        update, create = events["planet.update"], events["planet.create"]
        assert (update.target_type, update.target_id) == ("planet", str(alpha))
        assert (create.target_type, create.target_id) == ("planet", str(beta.id))
        assert {(e.via, e.via_detail, e.actor_username) for e in events.values()} == {
            ("import", "file.csv", "importer")}
        assert update.changes["mass_earth"] == [1.0, 300.0]
        assert create.changes["name"] == [None, "Beta c"]
        assert create.changes["mass_earth"] == [None, 5.1]
        assert Planet.find_by_name("Alpha b").version == 2 and beta.version == 1
        assert beta.created_at is not None and beta.archived is False


def test_a_name_stored_meanwhile_is_refused_by_the_unique_index(app, make_planet, monkeypatch):
    """The batch lookup missed it (as when another request stores it in between): the unique
    index refuses the row, and nothing of the file is stored."""
    make_planet(name="Beta c")
    before = _counts(app)
    monkeypatch.setattr(planets, "_stored_by_key", lambda keys, load: {})
    with app.app_context(), pytest.raises(DomainError) as refused:
        planets.import_csv(_file(GOOD_1, GOOD_2))
    assert refused.value.field == "name" and "nothing was saved" in refused.value.message
    assert _counts(app) == before


# --- names repeated within the file -------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [2, 500], ids=["across-batches", "in-one-batch"])
def test_names_repeated_in_the_file_are_invalid_with_both_lines(app, monkeypatch, batch_size):
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", batch_size)
    report = _import(app, GOOD_1, GOOD_2, BAD_MASS, GOOD_1.replace("Alpha b", "ALPHA B"),
                     GOOD_2.replace("Beta c", "  beta C "), dry_run=True)
    assert [(row.line, row.errors) for row in report.invalid_rows] == [
        (4, {"mass_earth": ["must be greater than 0"]}),
        (5, {"name": ["repeats the name on line 2"]}),
        (6, {"name": ["repeats the name on line 3"]})]
    assert report.created == 2


def test_a_name_on_an_invalid_row_does_not_count_as_seen(app):
    bad = BAD_MASS.replace("Gamma d", "Alpha b")
    report = _import(app, bad, GOOD_1)
    assert [row.line for row in report.invalid_rows] == [2]
    assert report.invalid_rows[0].errors == {"mass_earth": ["must be greater than 0"]}


def test_names_are_the_same_when_the_database_lowers_them_alike(app):
    """"Ωmega" and "ωMEGA" are one name for PostgreSQL's lower(), two for SQLite's (ASCII
    only): the import judges as the unique index does."""
    first = GOOD_1.replace("Alpha b", "Ωmega")
    second = GOOD_2.replace("Beta c", "ωMEGA")
    report = _import(app, first, second, dry_run=True)
    with app.app_context():
        same = db.session.scalar(select(func.lower("Ωmega") == func.lower("ωMEGA")))
    assert report.invalid == (1 if same else 0)


# --- streaming: flat in memory -----------------------------------------------------------------


def test_rows_are_read_in_step_with_the_batches(app, monkeypatch):
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", 50)
    read = 0

    def rows():
        nonlocal read
        for line, row in _rows(1000):
            read += 1
            yield line, row

    seen = []

    def progress(step):
        seen.append((step.rows, read))
        assert read <= step.rows + 1  # at most the first row of the next batch

    with app.app_context():
        report = planets.import_rows(rows(), dry_run=True, progress=progress)
    assert report.created == 1000
    assert seen[0] == (50, 50) and seen[-1] == (1000, 1000) and len(seen) == 20


def test_a_long_stream_stays_flat_in_memory(app):
    """30,000 rows as a list would take some 40 MB; the import holds one batch of them, the
    first REPORT_LIMIT entries of its report and the database's own buffers."""
    with app.app_context():
        tracemalloc.start()
        try:
            report = planets.import_rows(_rows(30_000), dry_run=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert report.created == 30_000 and len(report.additions) == report.limit
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_the_session_holds_no_more_than_one_batch(app, monkeypatch):
    """Updated planets are loaded, changed, flushed and let go batch by batch."""
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", 20)
    with app.app_context():
        planets.import_rows(_rows(200))
    sizes = []
    with app.app_context():
        progress = lambda step: sizes.append(len(db.session.identity_map))  # noqa: E731
        rows = ((line, {**row, "mass_earth": "7"}) for line, row in _rows(200))
        report = planets.import_rows(rows, update=True, progress=progress)
    assert report.updated == 200
    assert max(sizes) == 0


# --- the report -------------------------------------------------------------------------------


def test_the_report_keeps_the_first_entries_and_exact_counts(app):
    lines = [f"Planet {n} b,gas_giant,Star,2001,transit,1,1,1,1,1,1,,test" for n in range(5)]
    bad = [BAD_MASS.replace("Gamma d", f"Bad {n}") for n in range(4)]
    report = _import(app, *lines, *bad, dry_run=True, skip_invalid=True, limit=3)
    assert (report.created, report.invalid) == (5, 4)
    assert [entry.name for entry in report.additions] == ["Planet 0 b", "Planet 1 b",
                                                          "Planet 2 b"]
    assert [row.line for row in report.invalid_rows] == [7, 8, 9]
    assert not report.complete


def test_an_invalid_name_is_shown_without_its_control_characters(app):
    report = _import(app, GOOD_1.replace("Alpha b", "Al\x00pha\x07"), dry_run=True)
    [invalid] = report.invalid_rows
    assert invalid.name == "Al\ufffdpha\ufffd" and "name" in invalid.errors


def test_the_report_is_json_and_reads_back(app, make_planet):
    make_planet(name="Alpha b", mass_earth=1.0)
    report = _import(app, GOOD_1, GOOD_2, BAD_MASS, dry_run=True, update=True)
    stored = json.loads(json.dumps(report.as_json()))
    assert stored["updates"][0]["changes"]["mass_earth"] == [1.0, 300.0]
    assert stored["invalid_rows"] == [
        {"line": 4, "name": "Gamma d", "errors": {"mass_earth": ["must be greater than 0"]}}]
    assert ImportReport.from_json(stored) == report
    assert ImportReport.from_json(stored).invalid_rows == [
        InvalidRow(4, "Gamma d", {"mass_earth": ["must be greater than 0"]})]


# --- progress ---------------------------------------------------------------------------------


def test_progress_counts_rows_and_bytes_of_the_file(app, tmp_path, small_batches):
    path = tmp_path / "planets.csv"
    path.write_bytes(_file(GOOD_1, GOOD_2, BAD_MASS).getvalue())
    steps = []
    with app.app_context(), path.open("rb") as stream:
        planets.import_csv(stream, dry_run=True, progress=steps.append)
    assert [step.rows for step in steps] == [2, 3]
    assert steps[-1].done == steps[-1].total == path.stat().st_size
    assert steps[-1].fraction == 1.0


def test_progress_of_rows_has_no_total(app):
    steps = []
    with app.app_context():
        planets.import_rows(_rows(3), dry_run=True, progress=steps.append)
    assert [(step.rows, step.done, step.total, step.fraction) for step in steps] == [
        (3, 3, None, None)]


# --- large imports on SQLite -------------------------------------------------------------------


@pytest.mark.parametrize("valid", [True, False], ids=["committed", "rolled-back"])
def test_indexes_dropped_for_a_large_import_are_there_after_it(app, monkeypatch, valid):
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", 10)
    monkeypatch.setattr(planets, "REINDEX_THRESHOLD", 10)
    indexes = _planet_indexes(app)
    dropped = []
    build = planets._Reindex.build
    monkeypatch.setattr(planets._Reindex, "build",
                        lambda self: (dropped.extend(self.dropped), build(self)))
    rows = list(_rows(40))
    if not valid:
        rows[-1] = (rows[-1][0], {**rows[-1][1], "mass_earth": "-1"})
    with app.app_context():
        report = planets.import_rows(iter(rows))
        dialect = db.engine.dialect.name
    assert report.stored is valid
    assert _planet_indexes(app) == indexes
    assert bool(dropped) is (valid and dialect == "sqlite")  # never on PostgreSQL
    assert _counts(app)[0] == (40 if valid else 0)
    with app.app_context():  # the search index holds the rows, and those stored afterwards
        planets.create({**PLANET, "name": "Later 00039 b"}, via="cli")
        found = db.session.scalars(select(Planet.name).where(
            Planet.search("00039", dialect)).order_by(Planet.name)).all()
    assert found == (["Later 00039 b", "Stream 0000039 b"] if valid else ["Later 00039 b"])


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_dry_run_lists_the_plan_and_stores_nothing(runner, app, tmp_path, make_planet):
    make_planet(name="Alpha b", planet_type="gas_giant", host_star="Alpha", mass_earth=1.0,
                discovery_year=2001, discovery_method="transit", radius_earth=11,
                orbital_period_days=3.5, semi_major_axis_au=0.04, distance_ly=120.5,
                equilibrium_temp_k=1400, description="Hot giant.", source="test")
    before = _counts(app)
    result = runner.invoke(import_planets_command,
                           [_csv(tmp_path, GOOD_1.replace(",300,", ",310,"), GOOD_2),
                            "--dry-run", "--update"])
    assert result.exit_code == 0, result.output
    assert "line 3: add 'Beta c'" in result.output
    assert "line 2: update 'Alpha b': mass_earth 1.0 -> 310.0" in result.output
    assert ("Dry run: 1 to add, 1 to update, 0 unchanged, 0 invalid row(s) to skip; "
            "nothing was stored.") in result.output
    assert _counts(app) == before


def test_cli_dry_run_of_a_file_with_invalid_rows_fails_and_stores_nothing(runner, app,
                                                                         tmp_path):
    result = runner.invoke(import_planets_command,
                           [_csv(tmp_path, GOOD_1, BAD_MASS), "--dry-run"])
    assert result.exit_code == 1
    assert "line 3: mass_earth: must be greater than 0" in result.output
    assert "line 2: add 'Alpha b'" in result.output
    assert "Dry run: 1 invalid row(s); importing this file would store nothing" in result.output
    assert _names(app) == set()

    skipping = runner.invoke(import_planets_command,
                             [_csv(tmp_path, GOOD_1, BAD_MASS), "--dry-run", "--skip-invalid"])
    assert skipping.exit_code == 0, skipping.output
    assert "1 to add, 0 to update, 0 unchanged, 1 invalid row(s) to skip" in skipping.output
    assert _names(app) == set()


def test_cli_lists_the_first_invalid_rows_and_counts_the_rest(runner, app, tmp_path,
                                                              monkeypatch):
    from console import planet_import

    monkeypatch.setattr(planet_import, "REPORT_LIMIT", 2)
    bad = [BAD_MASS.replace("Gamma d", f"Bad {n}") for n in range(5)]
    result = runner.invoke(import_planets_command, [_csv(tmp_path, *bad)])
    assert result.exit_code == 1
    assert result.output.count("must be greater than 0") == 2
    assert "... and 3 more invalid row(s), not listed." in result.output
    assert "5 invalid row(s); nothing was imported" in result.output


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
def test_cli_progress_bars_show_on_a_terminal_only(runner, app, tmp_path, monkeypatch,
                                                   terminal):
    monkeypatch.setattr("console.cli._on_terminal", lambda: terminal)
    imported = runner.invoke(import_planets_command, [_csv(tmp_path, GOOD_1, GOOD_2)])
    checked = runner.invoke(import_planets_command, [_csv(tmp_path, GOOD_1), "--dry-run"])
    exported = runner.invoke(export_planets_command, [str(tmp_path / "out.csv")])
    assert [imported.exit_code, checked.exit_code, exported.exit_code] == [0, 0, 0]
    assert ("Importing" in imported.output) is terminal
    assert ("Checking" in checked.output) is terminal
    assert ("Exporting" in exported.output) is terminal
