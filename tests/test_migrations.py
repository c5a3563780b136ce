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
