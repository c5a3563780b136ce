"""The planets catalog as CSV, the import and export format: reading and validating rows,
writing lines. Storing them is the planets service's job (console/services/planets.py).

Text a spreadsheet would run as a formula (CSV injection) is written with an apostrophe in
front, and so is text that begins with an apostrophe; reading takes one leading apostrophe off
again, so an export read back by the import gives the same values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import ColumnElement, Row, String, case, cast, func, literal, select
from sqlalchemy.types import NullType

from models import Planet, db
from models.errors import DomainError
from models.planets import PLANET_FIELDS, clean_planet

CSV_COLUMNS = [f.name for f in PLANET_FIELDS]
_CSV_FIELDS = frozenset(CSV_COLUMNS)
TEXT_COLUMNS = {f.name for f in PLANET_FIELDS if f.kind == "text"}
CHOICE_COLUMNS = {f.name for f in PLANET_FIELDS if f.kind == "choice"}
FLOAT_COLUMNS = {f.name for f in PLANET_FIELDS if f.kind == "float"}
GUARD = "'"
# What a spreadsheet runs as a formula, and the guard itself (so that it can be taken off).
GUARDED_PREFIXES = ("=", "+", "-", "@", "\t", "\r", GUARD)


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


def read_csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header is line 1. Raises ValueError on a bad header."""
    reader = csv.DictReader(stream)
    missing = {"name", "planet_type", "host_star", "discovery_method"} - set(
        reader.fieldnames or []
    )
    if missing:
        raise ValueError(f"the CSV header lacks the column(s): {', '.join(sorted(missing))}")
    for row in reader:
        # Cells beyond the header sit under the key None.
        yield reader.line_num, {key: unguarded(value) if key in TEXT_COLUMNS else value
                                for key, value in row.items()}


def unguarded(cell: str | None) -> str | None:
    """A text cell without the apostrophe that the export puts in front of formulas."""
    return cell[1:] if cell and cell.startswith(GUARD) else cell


def clean_row(row: Mapping[str | None, Any]) -> dict[str, Any]:
    """One CSV row cleaned by the planet schema; raises DomainError naming every bad field
    ("row" for cells beyond the header)."""
    if None in row:
        raise DomainError.about("row", "has more cells than the header")
    return clean_planet({key: value for key, value in row.items() if key in _CSV_FIELDS})


def repeated_name_message(first_line: int) -> str:
    return f"repeats the name on line {first_line}"


def spreadsheet_safe(column: ColumnElement[str]) -> ColumnElement[str]:
    """`column` with text a spreadsheet would run as a formula (CSV injection) prefixed by an
    apostrophe, worked out by the database so a million rows cost no Python per cell."""
    first = func.substr(column, 1, 1)
    return case((first.in_(GUARDED_PREFIXES), literal(GUARD) + column), else_=column)


def _csv_cell(name: str) -> ColumnElement[Any]:
    """One planet column as a CSV cell: text quoted (and made spreadsheet-safe) and numbers
    written by the database, NULL as nothing; but a float on SQLite is handed over as stored,
    for Python to write (see csv_chunks): SQLite's CAST keeps 15 digits, and its own reading
    of text is not exact enough to tell when those suffice."""
    column = Planet.__table__.c[name]
    if name in TEXT_COLUMNS or name in CHOICE_COLUMNS:
        text = spreadsheet_safe(column) if name in TEXT_COLUMNS else column
        return literal('"') + func.replace(func.coalesce(text, ""), '"', '""') + literal('"')
    if name in FLOAT_COLUMNS and db.session.get_bind().dialect.name == "sqlite":
        return func.coalesce(column, "", type_=NullType())
    return func.coalesce(cast(column, String), "")


# A CSV line from its cells, each text or a float: Python writes a float as the shortest text
# that reads back as the same float, as PostgreSQL does. One format call per line costs less
# than SQLite calling a Python function for each float: a million planets took 15 s to export
# that way, 11 s this way (`make bench`).
_LINE = ",".join(["{}"] * len(CSV_COLUMNS)) + "\r\n"


def planet_batches(where: ColumnElement[bool] | None = None,
                   batch_size: int = 10_000) -> Iterator[list[Row[Any]]]:
    """(id, CSV cells...) of every planet matching `where`, in id order: batches read by
    keyset, so memory stays flat whatever the size of the catalog."""
    table = Planet.__table__
    cells = [_csv_cell(name) for name in CSV_COLUMNS]
    last_id = 0
    while True:
        statement = select(table.c.id, *cells).where(table.c.id > last_id)
        if where is not None:
            statement = statement.where(where)
        batch = db.session.execute(statement.order_by(table.c.id).limit(batch_size)).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1][0]


def csv_chunks(batches: Iterable[list[Row[Any]]]) -> Iterator[str]:
    """CSV text for files and streamed downloads: the header, then one chunk per batch of
    planet_batches."""
    yield ",".join(CSV_COLUMNS) + "\r\n"
    line = _LINE.format
    for batch in batches:
        yield "".join([line(*row[1:]) for row in batch])
