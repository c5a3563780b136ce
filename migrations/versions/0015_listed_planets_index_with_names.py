"""planets in name order from an index alone on PostgreSQL, for deep pages

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

Every list sorts names ignoring case, so the index on the name as typed goes. PostgreSQL reads
an expression index alone (an index-only scan) only when it also holds the expression's
columns: with the name in them, a deep page skips its rows in the index alone (console.paging
reads a page's ids first). SQLite's indexes end with the id anyway, and cannot be read alone
for lower(name).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _listed_index(**postgresql):
    op.drop_index("ix_planets_listed", table_name="planets")
    op.create_index("ix_planets_listed", "planets", [sa.text("lower(name)"), "id"],
                    sqlite_where=sa.text("archived = 0"), postgresql_where=sa.text("NOT archived"),
                    **postgresql)


def upgrade():
    op.drop_index("ix_planets_name_id", table_name="planets")
    if op.get_context().dialect.name == "postgresql":
        _listed_index(postgresql_include=["name"])
        op.create_index("ix_planets_name_lower_id", "planets", [sa.text("lower(name)"), "id"],
                        postgresql_include=["name"])


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_planets_name_lower_id", table_name="planets")
        _listed_index()
    op.create_index("ix_planets_name_id", "planets", ["name", "id"])
