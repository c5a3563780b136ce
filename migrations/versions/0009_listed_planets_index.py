"""an index of the listed (not archived) planets in name order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Deep pages of the catalog and the API skip rows WHERE archived = 0 in name order; with the
    # archived flag in the index's WHERE, skipping reads the index alone.
    op.create_index("ix_planets_listed", "planets", [sa.text("lower(name)"), "id"],
                    sqlite_where=sa.text("archived = 0"), postgresql_where=sa.text("NOT archived"))


def downgrade():
    op.drop_index("ix_planets_listed", table_name="planets")
