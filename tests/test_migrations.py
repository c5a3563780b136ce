"""The migrations build exactly the schema the models describe, and run down and up again."""

from __future__ import annotations

import re
import uuid
import warnings
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from models import db


def test_models_and_migrations_agree(app):
    """No pending autogenerate diff between the migrated database and the models."""
    with app.app_context(), db.engine.connect() as connection, warnings.catch_warnings():
        # Alembic cannot compare expression indexes such as lower(name); it says so and skips.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        # As `flask db migrate` compares (it leaves SQLite's search index alone, for one).
        context = MigrationContext.configure(
            connection, opts=app.extensions["migrate"].configure_args)
        assert compare_metadata(context, db.metadata) == []


# Alembic's compare_metadata skips expression indexes such as lower(username) and every CHECK
# constraint, so the tests below compare those themselves: the indexes and CHECK constraints of
# the migrated database against those the same kind of database reports for the models, built
# by metadata.create_all on an empty in-memory SQLite database, or in a scratch PostgreSQL
# schema that is rolled back. The database itself thereby decides what the models mean on it
# (an index declared for PostgreSQL only, with ddl_if, is expected on PostgreSQL only), and
# PostgreSQL's own normal form (pg_indexes.indexdef, pg_get_constraintdef) makes the texts
# comparable; SQLite keeps the statements' text, compared with spacing, quoting and case of
# everything but string literals normalised.

IGNORED_TABLES = {"alembic_version", "sqlite_sequence"}


def postgresql_only(index: sa.Index) -> bool:
    """Declared with .ddl_if(dialect="postgresql"), which SQLAlchemy keeps as _ddl_if."""
    condition = getattr(index, "_ddl_if", None)
    return condition is not None and condition.dialect == "postgresql"


class Schema(NamedTuple):
    """{(table, name): normalised definition} of the indexes and of the CHECK constraints."""

    indexes: dict[tuple[str, str], str]
    checks: dict[tuple[str, str], str]


def _normalised_sqlite(sql: str) -> str:
    """SQL text with spacing, "quoted" names and the case of everything outside 'string
    literals' normalised: CREATE INDEX "ix" ON planets ( lower(name) ) and
    create index ix on planets (lower(name)) are the same."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    for i in range(0, len(parts), 2):  # outside the literals
        text = re.sub(r"\s+", " ", parts[i].replace('"', "").replace("`", "").lower())
        parts[i] = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
    return re.sub(r"\bif not exists\s+", "", "".join(parts)).strip()


CHECK_START = re.compile(r'(?:\bCONSTRAINT\s+["`]?(\w+)["`]?\s+)?\bCHECK\s*\(', re.IGNORECASE)


def _checks_of_create_table(sql: str) -> list[tuple[str | None, str]]:
    """(name or None, condition) of every CHECK in SQLite's CREATE TABLE text, at any depth:
    table constraints and column constraints, named or not; literals are skipped."""
    found, position, quote = [], 0, None
    while position < len(sql):
        char = sql[position]
        if quote:
            quote = None if char == quote else quote
            position += 1
            continue
        match = CHECK_START.match(sql, position)
        if match and (position == 0 or not (sql[position - 1].isalnum()
                                            or sql[position - 1] == "_")):
            end, depth, inner_quote = match.end(), 1, None
            while depth:
                inner = sql[end]
                if inner_quote:
                    inner_quote = None if inner == inner_quote else inner_quote
                elif inner in "'\"":
                    inner_quote = inner
                elif inner in "()":
                    depth += 1 if inner == "(" else -1
                end += 1
            found.append((match.group(1), sql[match.end():end - 1]))
            position = end
            continue
        if char in "'\"`":
            quote = char
        position += 1
    return found


def _sqlite_schema(connection: sa.Connection) -> Schema:
    indexes, checks = {}, {}
    rows = connection.execute(sa.text(
        "SELECT type, tbl_name, name, sql FROM sqlite_master"
        " WHERE type IN ('table', 'index') AND sql IS NOT NULL"))  # autoindexes have no sql
    for kind, table, name, sql in rows:
        if table in IGNORED_TABLES:
            continue
        if kind == "index":
            indexes[(table, name)] = _normalised_sqlite(sql)
            continue
        for number, (check, condition) in enumerate(_checks_of_create_table(sql), start=1):
            checks[(table, check or f"<unnamed CHECK #{number}>")] = _normalised_sqlite(condition)
    return Schema(indexes, checks)


def _postgresql_schema(connection: sa.Connection, schema: str) -> Schema:
    indexes = {
        (table, name): definition.replace(f" ON {schema}.", " ON ").replace(
            f' ON "{schema}".', " ON ")
        for table, name, definition in connection.execute(sa.text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :schema"),
            {"schema": schema})
        if table not in IGNORED_TABLES
    }
    checks = {
        (table, name): definition
        for table, name, definition in connection.execute(sa.text(
            "SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con"
            " JOIN pg_class rel ON rel.oid = con.conrelid"
            " JOIN pg_namespace ns ON ns.oid = rel.relnamespace"
            " WHERE con.contype = 'c' AND ns.nspname = :schema"), {"schema": schema})
        if table not in IGNORED_TABLES
    }
    return Schema(indexes, checks)


def database_schema(connection: sa.Connection) -> Schema:
    """What the database reports, in its current schema on PostgreSQL."""
    if connection.dialect.name == "sqlite":
        return _sqlite_schema(connection)
    schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    return _postgresql_schema(connection, schema)


def models_schema(connection: sa.Connection) -> Schema:
    """What the same kind of database reports for the models, built on an empty database."""
    if connection.dialect.name == "sqlite":
        engine = sa.create_engine("sqlite://")
        try:
            with engine.begin() as scratch:
                db.metadata.create_all(scratch)
                return _sqlite_schema(scratch)
        finally:
            engine.dispose()
    schema = f"models_{uuid.uuid4().hex[:12]}"
    transaction = connection.begin()
    try:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        # public: where the test databases keep pg_trgm (tests/databases.py)
        connection.execute(sa.text(f'SET LOCAL search_path TO "{schema}", public'))
        db.metadata.create_all(connection, checkfirst=False)
        return _postgresql_schema(connection, schema)
    finally:
        transaction.rollback()  # the scratch schema and the search_path go with it


def differences(kind: str, models: dict, database: dict) -> list[str]:
    """Readable lines, one per index or CHECK that is not the same in the models and in the
    migrated database, in both directions."""
    missing = sorted(models.keys() - database.keys())
    extra = sorted(database.keys() - models.keys())
    lines = []
    for table, name in list(missing):  # the same definition under another name
        renamed = [key for key in extra
                   if key[0] == table and database[key] == models[(table, name)]]
        if renamed:
            lines.append(f"{kind} {table}.{name} of the models is named {renamed[0][1]} in the "
                         f"migrated database: {models[(table, name)]}")
            missing.remove((table, name))
            extra.remove(renamed[0])
    lines += [f"{kind} {table}.{name} of the models is missing in the migrated database: "
              f"{models[(table, name)]}" for table, name in missing]
    lines += [f"{kind} {table}.{name} is in the migrated database but not in the models: "
              f"{database[(table, name)]}" for table, name in extra]
    lines += [f"{kind} {table}.{name} differs:\n  models:   {models[(table, name)]}\n"
              f"  database: {database[(table, name)]}"
              for table, name in sorted(models.keys() & database.keys())
              if models[(table, name)] != database[(table, name)]]
    return lines


@pytest.fixture
def schemas(app) -> tuple[Schema, Schema, str]:
    """(models, migrated database, dialect name) on the database of this test run."""
    with app.app_context(), db.engine.connect() as connection:
        return models_schema(connection), database_schema(connection), connection.dialect.name


def test_models_and_migrations_have_the_same_indexes(schemas):
    """Names, columns or expressions, UNIQUE and partial WHERE: the whole definition."""
    models, database, _ = schemas
    lines = differences("index", models.indexes, database.indexes)
    assert not lines, "\n".join(lines)


def test_models_and_migrations_have_the_same_check_constraints(schemas):
    """By name and by condition (normalised by the database, or as SQLite text)."""
    models, database, _ = schemas
    lines = differences("CHECK", models.checks, database.checks)
    assert not lines, "\n".join(lines)


def test_the_models_schema_holds_every_index_and_check_the_models_declare(schemas):
    """The comparison above is not vacuous: every declared index is built, but those declared
    for PostgreSQL only on another database, and every CHECK."""
    models, _, dialect = schemas
    declared_indexes = {(table.name, index.name) for table in db.metadata.tables.values()
                        for index in table.indexes}
    declared_checks = {(table.name, constraint.name) for table in db.metadata.tables.values()
                       for constraint in table.constraints
                       if isinstance(constraint, sa.CheckConstraint)}
    only_postgresql = {(table.name, index.name) for table in db.metadata.tables.values()
                       for index in table.indexes if postgresql_only(index)}
    assert {name for _, name in only_postgresql} >= {"ix_planets_search_trgm",
                                                     "ix_planets_name_lower_id"}
    assert declared_indexes - models.indexes.keys() == (
        set() if dialect == "postgresql" else only_postgresql)
    assert ("users", "uq_users_username_lower") in models.indexes
    assert models.checks.keys() == declared_checks
    assert len(declared_checks) >= 15


def test_the_comparison_notices_missing_extra_and_changed_indexes_and_checks(tmp_path):
    """On a private SQLite file: an index of the models dropped, one losing its partial WHERE,
    one no longer UNIQUE, an index and a CHECK that the models lack added; each is reported,
    the right way round (compared with what was reported before the changes)."""
    from console import create_app

    url = f"sqlite:///{tmp_path / 'changed.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40},
                     instance_path=str(tmp_path))

    def reported() -> set[str]:
        with db.engine.connect() as connection:
            models, database = models_schema(connection), database_schema(connection)
        return {line.split(":")[0] for line in
                differences("index", models.indexes, database.indexes)
                + differences("CHECK", models.checks, database.checks)}

    with app.app_context():
        upgrade()
        before = reported()
        with db.engine.begin() as connection:
            for statement in [
                "DROP INDEX uq_users_username_lower",
                "DROP INDEX uq_mission_applications_pending",
                "CREATE UNIQUE INDEX uq_mission_applications_pending"
                " ON mission_applications (applicant_id, planet_id)",
                "DROP INDEX uq_planets_name_lower",
                "CREATE INDEX uq_planets_name_lower ON planets (lower(name))",
                "CREATE INDEX ix_planets_stray ON planets (lower(source))",
                "CREATE TABLE stray (id INTEGER PRIMARY KEY, x INTEGER,"
                " CONSTRAINT ck_stray_x_positive CHECK (x > 0 AND (x < 10 OR x = ')')))",
            ]:
                connection.execute(sa.text(statement))
        after = reported()
        db.engine.dispose()
    assert after - before == {
        "index users.uq_users_username_lower of the models is missing in the migrated database",
        "index mission_applications.uq_mission_applications_pending differs",
        "index planets.uq_planets_name_lower differs",
        "index planets.ix_planets_stray is in the migrated database but not in the models",
        "CHECK stray.ck_stray_x_positive is in the migrated database but not in the models",
    }
    assert before <= after


def test_migrations_run_down_to_empty_and_up_again(tmp_path):
    """From an empty database to the newest schema and back, on a private SQLite file."""
    from console import create_app

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40},
                     instance_path=str(tmp_path))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = set(db.inspect(connection).get_table_names())
        assert tables <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            tables = set(db.inspect(connection).get_table_names())
        assert set(db.metadata.tables) <= tables
        db.engine.dispose()


@pytest.mark.parametrize("revision", ["0001", "0003"])
def test_upgrade_from_an_earlier_release_keeps_its_rows(tmp_path, revision):
    from sqlalchemy import text

    from console import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40},
                     instance_path=str(tmp_path))
    with app.app_context():
        upgrade(revision=revision)
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, email, password_hash, role, is_active, created_at,"
                " session_token) VALUES ('ada', 'ada@example.com', 'x', 'admin', 1,"
                " '2026-01-01 00:00:00', 'token')"))
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT username FROM users")).scalar() == "ada"
        db.engine.dispose()


def test_upgrade_to_never_reused_ids_keeps_rows_ids_and_references(tmp_path):
    """0007 rebuilds every SQLite table as AUTOINCREMENT: rows, ids and references survive, and
    a foreign key no longer cascades."""
    from sqlalchemy import text

    from console import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40},
                     instance_path=str(tmp_path))
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, username, email, password_hash, role, is_active,"
                " created_at, session_token) VALUES (3, 'ada', 'ada@example.com', 'x', 'admin',"
                " 1, '2026-01-01 00:00:00', 'token')"))
            connection.execute(text(
                "INSERT INTO planets (id, name, planet_type, host_star, discovery_method,"
                " description, source, created_at, updated_at) VALUES (7, 'Old b', 'dwarf',"
                " 'Sun', 'observation', '', '', '2026-01-01', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO mission_applications (applicant_id, planet_id, motivation, status,"
                " submitted_at, review_note) VALUES (3, 7, 'Go.', 'pending', '2026-01-01', '')"))
        upgrade()
        with db.engine.begin() as connection:
            assert connection.execute(text(
                "SELECT a.id, u.username, p.name, p.archived, p.version FROM mission_applications a"
                " JOIN users u ON u.id = a.applicant_id JOIN planets p ON p.id = a.planet_id"
            )).one() == (1, "ada", "Old b", 0, 1)
            kept = set(connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'planets'"
            )).scalars())
            declared = {index.name for index in db.metadata.tables["planets"].indexes
                        if not postgresql_only(index)}
            assert declared <= kept
            connection.execute(text(
                "INSERT INTO planets (name, planet_type, host_star, discovery_method,"
                " description, source, created_at, updated_at) VALUES ('New b', 'dwarf',"
                " 'Sun', 'observation', '', '', '2026-01-01', '2026-01-01')"))
            new_id = connection.execute(text("SELECT max(id) FROM planets")).scalar()
            connection.execute(text("DELETE FROM planets WHERE id = :id"), {"id": new_id})
            connection.execute(text(
                "INSERT INTO planets (name, planet_type, host_star, discovery_method,"
                " description, source, created_at, updated_at) VALUES ('Newer b', 'dwarf',"
                " 'Sun', 'observation', '', '', '2026-01-01', '2026-01-01')"))
            assert connection.execute(text("SELECT max(id) FROM planets")).scalar() == new_id + 1
        with pytest.raises(Exception, match="FOREIGN KEY"), db.engine.begin() as connection:
            connection.execute(text("DELETE FROM planets WHERE id = 7"))
        db.engine.dispose()
