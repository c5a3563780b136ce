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

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Planet, db
from models.planets import PLANET_FIELDS, PlanetValidationError, clean_planet

CATALOG_FILE = Path(__file__).with_name("planets.csv")
CSV_COLUMNS = [f.name for f in PLANET_FIELDS]
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
        if None in row:  # more cells than header columns
            row.pop(None)
            yield reader.line_num, {**row, "__extra__": "x"}
            continue
        yield reader.line_num, row


def validate_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowProblem]]:
    """Clean every row; report each bad row, including names repeated within the file."""
    valid: list[tuple[int, dict[str, Any]]] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    for line, row in rows:
        if "__extra__" in row:
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


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """CSV text a line at a time, for files and streamed downloads; rows in CSV_COLUMNS order."""

    class _Echo:
        def write(self, text: str) -> str:
            return text

    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        yield writer.writerow(["" if value is None else spreadsheet_safe(value) for value in row])


def planet_rows(batch_size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """Every planet's CSV values in id order, read by keyset batches in constant memory."""
    columns = [getattr(Planet, name) for name in CSV_COLUMNS]
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Planet.id, *columns).where(Planet.id > last_id).order_by(Planet.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        for row in batch:
            yield tuple(row[1:])
        last_id = batch[-1][0]
