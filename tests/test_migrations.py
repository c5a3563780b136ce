"""The migrations build exactly the schema the models describe, and run down and up again."""

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from models import db


def test_models_and_migrations_agree(app):
    """No pending autogenerate diff between the migrated database and the models."""
    with app.app_context(), db.engine.connect() as connection, warnings.catch_warnings():
        # Alembic cannot compare expression indexes such as lower(name); it says so and skips.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


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
                        if not index.name.endswith("_pattern")}  # PostgreSQL's only
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
