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
    when TEST_DATABASE_URL is set (its URL sets the search_path to that schema, then public,
    where shared_extensions puts the extensions)."""
    base_url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base_url:
        yield f"sqlite:///{directory / f'{name}.db'}"
        return
    base_url = normalise_database_url(base_url)
    schema = f"{name}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    shared_extensions(engine)
    try:
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options=-csearch_path%3D{schema},public"
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def shared_extensions(engine: sa.Engine) -> None:
    """pg_trgm in the public schema, for every private schema of the database: the migrations'
    CREATE EXTENSION IF NOT EXISTS would put it into the first private schema, and its DROP
    SCHEMA ... CASCADE would take it from all the others. The lock keeps runs side by side
    from creating it at the same time."""
    with engine.connect() as connection, connection.execution_options(
            isolation_level="READ COMMITTED").begin():  # the engine's AUTOCOMMIT: no lock
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('pg_trgm'))"))
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
