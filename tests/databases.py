"""Private databases for a test run: a SQLite file, or a schema of its own in the PostgreSQL
database TEST_DATABASE_URL names, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from console.config import normalise_database_url


@contextmanager
def private_database(directory: Path, name: str) -> Iterator[str]:
    """The URL of an empty database: `directory`/`name`.db, or a PostgreSQL schema `name`_...
    when TEST_DATABASE_URL is set (its URL sets the search_path to that schema)."""
    base_url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base_url:
        yield f"sqlite:///{directory / f'{name}.db'}"
        return
    base_url = normalise_database_url(base_url)
    schema = f"{name}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
