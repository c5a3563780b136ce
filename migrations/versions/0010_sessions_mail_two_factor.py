"""stored sessions, email confirmation, forced password changes, two-factor sign-in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

- user_sessions: one row per login (the token's hash), replacing users.session_token.
- recovery_codes: hashed single-use two-factor recovery codes.
- users.email_confirmed_at (accounts that exist already count as confirmed),
  users.must_change_password, users.totp_secret, users.totp_last_step.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SESSION_TOKEN_COLUMN = "\tsession_token VARCHAR(64) NOT NULL, \n"
SESSION_TOKEN_UNIQUE = ", \n\tCONSTRAINT uq_users_session_token UNIQUE (session_token)"


def _sqlite_rebuild_users(change, new_columns=""):
    """Rebuild users from its stored CREATE TABLE rewritten by `change` (SQLite cannot drop or
    add a UNIQUE column), keeping rows, ids and indexes; foreign keys stay off until
    migrations/env.py turns them on after this migration's transaction."""
    connection = op.get_bind()
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("migration 0010 must start its own transaction on SQLite")
    create = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").scalar()
    indexes = [row[0] for row in connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'"
        " AND sql IS NOT NULL")]
    columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(users)")]
    new_create, count = re.subn(r'^CREATE TABLE "?users"? \(', "CREATE TABLE _new_users (",
                                change(create))
    assert count == 1, "unexpected definition of users"
    kept = [name for name in columns if name != "session_token"]
    # The highest id ever handed out, so that a deleted account's id stays unused.
    sequence = connection.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'users'").scalar()
    op.execute(new_create)
    op.execute(f"INSERT INTO _new_users ({', '.join(kept)}{new_columns and ', session_token'}) "
               f"SELECT {', '.join(kept)}{new_columns} FROM users")
    op.execute("DROP TABLE users")
    op.execute("ALTER TABLE _new_users RENAME TO users")
    if sequence is not None:
        connection.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'users'")
        connection.exec_driver_sql(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'users', max(?, coalesce(max(id), 0))"
            " FROM users", (sequence,))
    for index in indexes:
        op.execute(index)


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_codes_code_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild_users(lambda create: create.replace(SESSION_TOKEN_COLUMN, "", 1)
                              .replace(SESSION_TOKEN_UNIQUE, "", 1))
    else:
        op.drop_constraint("uq_users_session_token", "users", type_="unique")
        op.drop_column("users", "session_token")
    op.add_column("users", sa.Column("email_confirmed_at", sa.DateTime(timezone=True),
                                     nullable=True))
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("users", sa.Column("totp_secret", sa.String(length=32), nullable=True))
    op.add_column("users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    for column in ("totp_last_step", "totp_secret", "must_change_password",
                   "email_confirmed_at"):
        op.drop_column("users", column)
    if op.get_bind().dialect.name == "sqlite":
        # Every account gets a new random session token: everybody logs in again.
        _sqlite_rebuild_users(
            lambda create: create.replace("\tCONSTRAINT ", SESSION_TOKEN_COLUMN + "\tCONSTRAINT ",
                                          1).replace("\n)", SESSION_TOKEN_UNIQUE + "\n)", 1),
            new_columns=", lower(hex(randomblob(32)))")
    else:
        op.add_column("users", sa.Column("session_token", sa.String(length=64), nullable=True))
        op.execute("UPDATE users SET session_token = md5(random()::text) || md5(id::text)")
        op.alter_column("users", "session_token", nullable=False)
        op.create_unique_constraint("uq_users_session_token", "users", ["session_token"])
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
