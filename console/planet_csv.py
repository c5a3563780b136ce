"""The planets catalog as CSV: reading and validating rows, importing them, exporting them.

The real catalog in seed/planets.csv, `flask import-planets` and `flask export-planets` all use
these functions, and every row passes the one planet schema (models.planets.clean_planet).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, Row, String, case, cast, func, literal, select
from sqlalchemy.exc import IntegrityError

from models import Planet, db
from models.planets import PLANET_FIELDS, PlanetValidationError, clean_planet

CATALOG_FILE = Path(__file__).with_name("planets.csv")
CSV_COLUMNS = [f.name for f in PLANET_FIELDS]
TEXT_COLUMNS = {f.name for f in PLANET_FIELDS if f.kind == "text"}
CHOICE_COLUMNS = {f.name for f in PLANET_FIELDS if f.kind == "choice"}
BATCH_SIZE = 500
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    stored: bool = False

    @property
    def invalid_lines(self) -> int:
        return len({problem.line for problem in self.problems})


def read_csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header is line 1. Raises ValueError on a bad header."""
    reader = csv.DictReader(stream)
    missing = {"name", "planet_type", "host_star", "discovery_method"} - set(
        reader.fieldnames or []
    )
    if missing:
        raise ValueError(f"the CSV header lacks the column(s): {', '.join(sorted(missing))}")
    for row in reader:
        yield reader.line_num, row  # cells beyond the header sit under the key None


def validate_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowProblem]]:
    """Clean every row; report each bad row, including names repeated within the file."""
    valid: list[tuple[int, dict[str, Any]]] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    for line, row in rows:
        if None in row:
            problems.append(RowProblem(line, "row", "has more cells than the header"))
            continue
        try:
            clean = clean_planet({k: v for k, v in row.items() if k in CSV_COLUMNS})
        except PlanetValidationError as error:
            problems.extend(
                RowProblem(line, name, message)
                for name, messages in error.errors.items()
                for message in messages
            )
            continue
        key = clean["name"].lower()
        if key in first_line_of:
            problems.append(
                RowProblem(line, "name", f"repeats the name on line {first_line_of[key]}")
            )
            continue
        first_line_of[key] = line
        valid.append((line, clean))
    return valid, problems


def _existing_by_name(names: list[str]) -> dict[str, Planet]:
    planets = db.session.scalars(select(Planet).where(func.lower(Planet.name).in_(names)))
    return {planet.name.lower(): planet for planet in planets}


def import_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    update: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Store valid rows in one transaction: all or nothing unless `skip_invalid`.

    Names already in the catalog are left as they are unless `update` is set, which makes
    loading the same file twice change nothing.
    """
    valid, problems = validate_rows(rows)
    result = ImportResult(problems=problems)
    if problems and not skip_invalid:
        return result
    try:
        for start in range(0, len(valid), BATCH_SIZE):
            batch = valid[start : start + BATCH_SIZE]
            existing = _existing_by_name([clean["name"].lower() for _, clean in batch])
            for _, clean in batch:
                planet = existing.get(clean["name"].lower())
                if planet is None:
                    db.session.add(Planet(**clean))
                    result.created += 1
                elif update and any(getattr(planet, k) != v for k, v in clean.items()):
                    planet.apply(clean)
                    result.updated += 1
                else:
                    result.unchanged += 1
            db.session.flush()
            if progress:
                progress(len(batch))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValueError(
            "another change stored one of these names meanwhile; nothing was stored, try again"
        ) from None
    result.stored = True
    return result


def seed_catalog(progress: Progress | None = None) -> ImportResult:
    """Load the real catalog; running it again changes nothing."""
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return import_rows(read_csv(stream), progress=progress)


def catalog_size() -> int:
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return sum(1 for _ in csv.DictReader(stream))


def spreadsheet_safe(column: ColumnElement[str]) -> ColumnElement[str]:
    """`column` with text a spreadsheet would run as a formula (CSV injection) prefixed by an
    apostrophe, worked out by the database so a million rows cost no Python per cell."""
    first = func.substr(column, 1, 1)
    return case((first.in_(FORMULA_PREFIXES), literal("'") + column), else_=column)


def _csv_cell(name: str) -> ColumnElement[str]:
    """One planet column as a CSV cell: text quoted (and made spreadsheet-safe), numbers as the
    database writes them, NULL as nothing."""
    column = Planet.__table__.c[name]
    if name in TEXT_COLUMNS or name in CHOICE_COLUMNS:
        text = spreadsheet_safe(column) if name in TEXT_COLUMNS else column
        return literal('"') + func.replace(func.coalesce(text, ""), '"', '""') + literal('"')
    return func.coalesce(cast(column, String), "")


def csv_line() -> ColumnElement[str]:
    """A planet's whole CSV line, put together by the database: at a million rows, handing
    Python one string per row is several times faster than formatting 13 values in Python."""
    line = _csv_cell(CSV_COLUMNS[0])
    for name in CSV_COLUMNS[1:]:
        line = line + literal(",") + _csv_cell(name)
    return line


def planet_batches(where: ColumnElement[bool] | None = None,
                   batch_size: int = 10_000) -> Iterator[list[Row[Any]]]:
    """(id, CSV line) of every planet matching `where`, in id order: batches read by keyset, so
    memory stays flat whatever the size of the catalog."""
    table = Planet.__table__
    line = csv_line()
    last_id = 0
    while True:
        statement = select(table.c.id, line).where(table.c.id > last_id)
        if where is not None:
            statement = statement.where(where)
        batch = db.session.execute(statement.order_by(table.c.id).limit(batch_size)).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1][0]


def csv_chunks(batches: Iterable[list[Row[Any]]]) -> Iterator[str]:
    """CSV text for files and streamed downloads: the header, then one chunk per batch."""
    yield ",".join(CSV_COLUMNS) + "\r\n"
    for batch in batches:
        yield "".join(f"{row[1]}\r\n" for row in batch)
