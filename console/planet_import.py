"""The bookkeeping of a CSV import, sized for files of any length: the report (exact counts and
the first entries of each kind), the register of the names read so far, and a count of the
bytes read for progress. Storing the rows is the planets service's job
(console/services/planets.py, import_rows and import_csv).
"""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from console.planet_csv import RowProblem

REPORT_LIMIT = 1000  # entries of each kind a report keeps; its counts are always exact
NAME_SHOWN = 100  # characters of an invalid row's name cell kept for the report


def _printable(text: str) -> str:
    """`text` with control characters (a NUL, which PostgreSQL's jsonb refuses) as U+FFFD."""
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


@dataclass(frozen=True)
class Addition:
    line: int
    name: str


@dataclass(frozen=True)
class Update:
    line: int
    id: int
    name: str
    changes: dict[str, list[Any]]  # {field: [before, after]}, as the audit log keeps them


@dataclass(frozen=True)
class InvalidRow:
    line: int
    name: str  # the row's name cell as read (cut to NAME_SHOWN, controls as U+FFFD), or ""
    errors: dict[str, list[str]]  # {field: [message, ...]}; "row" for the row as a whole


@dataclass
class ImportReport:
    """What an import stored or, in a dry run, would store.

    The counts are exact; `additions`, `updates` and `invalid_rows` keep the first `limit` of
    each kind in file order, so the report of a ten-million-row file is as small as that of a
    ten-thousand-row one. `as_json()` gives plain JSON (for a job to keep, a page to render)
    and `from_json()` reads it back.
    """

    dry_run: bool = False
    update: bool = False
    skip_invalid: bool = False
    stored: bool = False  # the valid rows were stored (never in a dry run)
    rows: int = 0  # data rows read
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # names already stored and left as they are
    invalid: int = 0  # invalid rows
    limit: int = field(default_factory=lambda: REPORT_LIMIT)
    additions: list[Addition] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    invalid_rows: list[InvalidRow] = field(default_factory=list)

    def add(self, line: int, name: str) -> None:
        self.created += 1
        if len(self.additions) < self.limit:
            self.additions.append(Addition(line, name))

    def change(self, line: int, planet_id: int, name: str,
               changes: dict[str, list[Any]]) -> None:
        self.updated += 1
        if len(self.updates) < self.limit:
            self.updates.append(Update(line, planet_id, name, changes))

    def reject(self, line: int, row: Mapping[str | None, Any],
               errors: Mapping[str, Sequence[str]]) -> None:
        self.invalid += 1
        if len(self.invalid_rows) < self.limit:
            name = row.get("name")
            shown = _printable(name[:NAME_SHOWN]) if isinstance(name, str) else ""
            self.invalid_rows.append(
                InvalidRow(line, shown, {key: list(messages) for key, messages in errors.items()}))

    @property
    def problems(self) -> list[RowProblem]:
        """One line per message of the invalid rows kept, as the CLI prints them."""
        return [RowProblem(row.line, key, message) for row in self.invalid_rows
                for key, messages in row.errors.items() for message in messages]

    @property
    def complete(self) -> bool:
        """Every entry is kept: no kind had more than `limit`."""
        return (len(self.additions) == self.created and len(self.updates) == self.updated
                and len(self.invalid_rows) == self.invalid)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportReport:
        entries = {"additions": Addition, "updates": Update, "invalid_rows": InvalidRow}
        return cls(**{key: [entries[key](**entry) for entry in value] if key in entries
                      else value for key, value in data.items()})


@dataclass(frozen=True)
class ImportProgress:
    """Where an import is: `rows` read so far, and `done` of `total` in one unit: bytes of the
    file for import_csv (`total` is its size when known), rows otherwise (`total` None)."""

    rows: int
    done: int
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        return min(self.done / self.total, 1.0) if self.total else None


ProgressCallback = Callable[[ImportProgress], None]


class SeenNames:
    """The names read so far from one file, by their key (the database's lower(name)), with
    the line of each: the first line of a repeated name is found here.

    They live in a private temporary SQLite file (SQLite removes it when the connection
    closes), so memory is SQLite's page cache, not a Python dict that a ten-million-row file
    would grow to gigabytes. A file of its own rather than a temporary table of the catalog's
    database: a dry run writes nothing there (on SQLite it takes no write lock), and the same
    code serves SQLite and PostgreSQL. Keys compare byte for byte, as they were lowered by the
    catalog's database.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": private temporary file
        self._db.execute("PRAGMA journal_mode = OFF")  # nothing to recover: it is thrown away
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER NOT NULL) "
                         "WITHOUT ROWID")

    def __enter__(self) -> SeenNames:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._db.close()

    def first_lines(self, keys: Sequence[str]) -> dict[str, int]:
        """{key: line} of the keys already added."""
        if not keys:
            return {}
        marks = ", ".join("?" * len(keys))
        query = f"SELECT key, line FROM seen WHERE key IN ({marks})"  # noqa: S608 - marks only
        return dict(self._db.execute(query, tuple(keys)).fetchall())

    def add(self, lines: Mapping[str, int]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen (key, line) VALUES (?, ?)", lines.items())
        self._db.execute("COMMIT")


class ByteCount(io.RawIOBase):
    """A binary stream read through, counting the bytes read (`done`) of `total` (the size,
    when known: given, or that of a regular file)."""

    def __init__(self, raw: IO[bytes], total: int | None = None) -> None:
        super().__init__()
        self._raw = raw
        self.done = 0
        self.total = total if total is not None else _file_size(raw)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.done += size
        return size

    def text(self) -> io.TextIOWrapper:
        """The stream as text the way the import reads it: UTF-8 with or without a byte-order
        mark, newlines left to the csv module."""
        return io.TextIOWrapper(io.BufferedReader(self), encoding="utf-8-sig", newline="")


def _file_size(raw: IO[bytes]) -> int | None:
    try:
        return os.fstat(raw.fileno()).st_size or None
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
