"""The database's plan of a statement that a request runs: which index serves it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from models import db


def plan_of(app: Flask, client: FlaskClient, url: str, marker: str,
            postgresql_off: tuple[str, ...] = ("seqscan",)) -> str:
    """The plan of the one statement holding `marker` that a GET of `url` runs, as the
    database would run it on a large table (PostgreSQL: with sequential scans, and any other
    plan type in `postgresql_off`, off)."""
    with app.app_context():
        engine = db.engine
    seen = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if marker in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [(statement, parameters)] = seen
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return " ".join(str(row[-1]) for row in rows)
        for plan_type in postgresql_off:
            connection.exec_driver_sql(f"SET enable_{plan_type} = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return " ".join(row[0] for row in rows)
