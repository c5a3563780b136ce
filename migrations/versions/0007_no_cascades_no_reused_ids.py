"""ids never reused, no cascading deletes, archived planets, versions, review rules

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- SQLite: every table becomes AUTOINCREMENT, so a deleted row's id is never handed out again
  (PostgreSQL's sequences never reuse one). SQLite cannot alter a table's primary key: each
  table is rebuilt from its own stored definition, rows and ids kept, indexes recreated.
- Deleting a user or a planet no longer cascades into mission applications or API tokens.
- planets.archived, planets.version, mission_applications.version, audit_events.via_detail.
- A CHECK that an application's review matches its status.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("users", "planets", "mission_applications", "audit_events", "api_tokens")
# (table, column, referred table, ondelete before this revision)
CASCADES = (("mission_applications", "applicant_id", "users", "CASCADE"),
            ("mission_applications", "planet_id", "planets", "CASCADE"),
            ("api_tokens", "user_id", "users", "CASCADE"))
REVIEW_CHECK = ("(status IN ('approved', 'rejected') AND reviewed_at IS NOT NULL) OR "
                "(status NOT IN ('approved', 'rejected') AND reviewed_at IS NULL "
                "AND reviewed_by_id IS NULL AND review_note = '')")
REVIEW_CHECK_NAME = "ck_mission_applications_review_matches_status"


def _fk_name(table, column, referred):
    return f"fk_{table}_{column}_{referred}"


def _sqlite_rebuild(table, change):
    """Rebuild `table` from its stored CREATE TABLE, rewritten by `change`, keeping every row,
    id and index (the procedure of SQLite's "Making Other Kinds Of Table Schema Changes")."""
    connection = op.get_bind()
    create = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    indexes = [row[0] for row in connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,))]
    columns = ", ".join(row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})"))
    new_create, count = re.subn(rf'^CREATE TABLE "?{table}"? \(', f"CREATE TABLE _new_{table} (",
                                change(create))
    assert count == 1, f"unexpected definition of {table}"
    op.execute(new_create)
    op.execute(f"INSERT INTO _new_{table} ({columns}) SELECT {columns} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE _new_{table} RENAME TO {table}")
    for index in indexes:
        op.execute(index)


def _autoincrement(table, on):
    def change(create):
        inline = f"id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,"
        separate = f"\tCONSTRAINT pk_{table} PRIMARY KEY (id), \n"
        if on:
            create = create.replace("\tid INTEGER NOT NULL, \n", f"\t{inline} \n", 1)
            return create.replace(separate, "", 1)
        create = create.replace(f"\t{inline} \n", "\tid INTEGER NOT NULL, \n", 1)
        return create.replace("\tCONSTRAINT ", separate + "\tCONSTRAINT ", 1)
    return change


def _cascades(table, on):
    def change(create):
        for fk_table, column, referred, ondelete in CASCADES:
            if fk_table != table:
                continue
            plain = f"FOREIGN KEY({column}) REFERENCES {referred} (id)"
            cascading = f"{plain} ON DELETE {ondelete}"
            create = create.replace(plain if on else cascading, cascading if on else plain, 1)
        return create
    return change


def _review_check(on):
    check = f"\tCONSTRAINT {REVIEW_CHECK_NAME} CHECK ({REVIEW_CHECK}), \n"

    def change(create):
        if on:
            return create.replace("\tCONSTRAINT fk_", check + "\tCONSTRAINT fk_", 1)
        return create.replace(check, "", 1)
    return change


def _sqlite_tables(upgrading):
    connection = op.get_bind()
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    # The pragma is a no-op inside a transaction: with foreign keys still on, dropping a table
    # would delete (cascade) its children's rows, so refuse rather than lose data.
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("migration 0007 must start its own transaction on SQLite")
    for table in TABLES:
        changes = [_autoincrement(table, on=upgrading),
                   _cascades(table, on=not upgrading)]
        if table == "mission_applications":
            changes.append(_review_check(on=upgrading))

        def change(create, changes=changes):
            for step in changes:
                create = step(create)
            return create
        _sqlite_rebuild(table, change)
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign key problems after rebuilding the tables: {problems[:5]}")
    # migrations/env.py turns foreign keys back on once the transaction is committed.


def _postgresql_tables(upgrading):
    for table, column, referred, ondelete in CASCADES:
        name = _fk_name(table, column, referred)
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, referred, [column], ["id"],
                              ondelete=None if upgrading else ondelete)
    if upgrading:
        op.create_check_constraint(op.f(REVIEW_CHECK_NAME), "mission_applications", REVIEW_CHECK)
    else:
        op.drop_constraint(op.f(REVIEW_CHECK_NAME), "mission_applications", type_="check")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_tables(upgrading=True)
    else:
        _postgresql_tables(upgrading=True)
    op.add_column("planets", sa.Column("archived", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("planets", sa.Column("version", sa.Integer(), nullable=False,
                                       server_default=sa.text("1")))
    op.add_column("mission_applications", sa.Column("version", sa.Integer(), nullable=False,
                                                    server_default=sa.text("1")))
    op.add_column("audit_events", sa.Column("via_detail", sa.String(length=120), nullable=False,
                                            server_default=""))
    op.create_index("ix_planets_archived", "planets", ["id"], sqlite_where=sa.text("archived = 1"),
                    postgresql_where=sa.text("archived"))


def downgrade():
    op.drop_index("ix_planets_archived", table_name="planets")
    op.drop_column("audit_events", "via_detail")
    op.drop_column("mission_applications", "version")
    op.drop_column("planets", "version")
    op.drop_column("planets", "archived")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_tables(upgrading=False)
    else:
        _postgresql_tables(upgrading=False)
