"""Clearly synthetic planets for load and scale tests, bulk-inserted in batches.

Names look like "Synthetic-00000042 b": no real planet is named so, and numbering continues
after the synthetic planets already stored, so repeated runs never clash.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain

from sqlalchemy import func, select, text

from models import Planet, db
from models.planets import DiscoveryMethod, PlanetType

PREFIX = "Synthetic-"
BATCH_SIZE = 20_000
# From this many rows on, secondary indexes are dropped for the load and rebuilt after it:
# building an index once is several times faster than updating it row by row.
REINDEX_THRESHOLD = 50_000
DESCRIPTION = "Synthetic planet for load testing; not a real object."
_TYPES = [t.value for t in PlanetType if t not in (PlanetType.ICE_GIANT, PlanetType.DWARF)]
_METHODS = [m.value for m in DiscoveryMethod if m is not DiscoveryMethod.OBSERVATION]


def _next_number() -> int:
    last = db.session.scalar(
        select(func.max(Planet.name)).where(Planet.name.like(f"{PREFIX}%"))
    )
    return int(last[len(PREFIX) : len(PREFIX) + 8]) + 1 if last else 1


COLUMNS = ("name", "planet_type", "host_star", "discovery_year", "discovery_method",
           "mass_earth", "radius_earth", "orbital_period_days", "semi_major_axis_au",
           "distance_ly", "equilibrium_temp_k", "description", "source", "created_at",
           "updated_at")


def synthetic_rows(first: int, count: int, now: object, seed: int = 1992) -> Iterator[tuple]:
    """Rows (in COLUMNS order) with plausible values inside every range of the planet schema."""
    rnd = random.Random(seed + first).random  # noqa: S311 - test data, not secrets
    years = datetime.now(UTC).year - 1992 + 1
    types, methods = _TYPES, _METHODS
    for number in range(first, first + count):
        star = f"{PREFIX}{number:08d}"
        yield (
            f"{star} b",
            types[int(rnd() * len(types))],
            star,
            1992 + int(rnd() * years),
            methods[int(rnd() * len(methods))],
            round(0.1 + rnd() * 4000, 3),
            round(0.3 + rnd() * 25, 3),
            round(0.2 + rnd() * 100_000, 3),
            round(0.005 + rnd() * 300, 4),
            round(4 + rnd() * 30_000, 2),
            round(30 + rnd() * 4000, 1),
            DESCRIPTION,
            "synthetic",
            now,
            now,
        )


@contextmanager
def _secondary_indexes_rebuilt_after(enabled: bool):
    indexes = [index for index in Planet.__table__.indexes if not index.unique] if enabled else []
    connection = db.session.connection()
    for index in indexes:
        index.drop(connection)
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        connection = db.session.connection()
        for index in indexes:
            index.create(connection)
        db.session.commit()


ROWS_PER_STATEMENT = 1000  # 15,000 parameters: inside SQLite's and PostgreSQL's limits


def _insert_statement(dialect, rows: int) -> str:
    """A multi-row INSERT of plain driver parameters: at a million rows, per-row SQLAlchemy
    processing and per-row statements cost more than the database's own work."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    values = f"({', '.join([marker] * len(COLUMNS))})"
    # Only constant names and placeholders go into the text; values travel as parameters.
    return (f"INSERT INTO {Planet.__tablename__} ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES {', '.join([values] * rows)}")


def _insert(rows: list[tuple], dialect) -> None:
    connection = db.session.connection()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        parameters = tuple(chain.from_iterable(chunk))
        connection.exec_driver_sql(_insert_statement(dialect, len(chunk)), parameters)


def load_synthetic(count: int, progress: Callable[[int], None] | None = None) -> int:
    """Insert `count` synthetic planets, one transaction per batch; returns the first number."""
    first = _next_number()
    dialect = db.session.get_bind().dialect
    timestamp = Planet.__table__.c.created_at.type.dialect_impl(dialect)
    to_database = timestamp.bind_processor(dialect) or (lambda value: value)
    rows = synthetic_rows(first, count, now=to_database(datetime.now(UTC)))
    with _secondary_indexes_rebuilt_after(count >= REINDEX_THRESHOLD):
        remaining = count
        while remaining:
            size = min(BATCH_SIZE, remaining)
            _insert([next(rows) for _ in range(size)], dialect)
            db.session.commit()
            remaining -= size
            if progress:
                progress(size)
    if dialect.name == "postgresql" and count >= REINDEX_THRESHOLD:
        # PostgreSQL plans from table statistics, which a bulk load leaves stale until
        # autovacuum's next pass: a prefix search then walked the whole name index.
        db.session.execute(text("ANALYZE planets"))
        db.session.commit()
    return first
