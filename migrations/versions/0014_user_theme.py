"""users.theme: the colour theme an account's pages use (auto, light or dark)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Every account that exists already follows the system's setting ("auto").
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

THEMES = "theme IN ('auto', 'light', 'dark')"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds no constraint to a table that exists, but a new column may carry its own.
        op.execute("ALTER TABLE users ADD COLUMN theme VARCHAR(5) DEFAULT 'auto' NOT NULL"
                   f" CONSTRAINT ck_users_theme_known CHECK ({THEMES})")
    else:
        op.add_column("users", sa.Column("theme", sa.String(length=5), nullable=False,
                                         server_default="auto"))
        op.create_check_constraint(op.f("ck_users_theme_known"), "users", THEMES)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_theme_known"), "users", type_="check")
    op.drop_column("users", "theme")
