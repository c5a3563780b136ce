"""planet sort and search indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# LIKE 'prefix%' can use these on PostgreSQL whatever the database's collation.
PATTERN_INDEXES = {"ix_planets_name_pattern": "name", "ix_planets_host_star_pattern": "host_star"}


def upgrade():
    op.create_index("ix_planets_name", "planets", ["name"])
    op.create_index("ix_planets_host_star", "planets", ["host_star"])
    if op.get_bind().dialect.name == "postgresql":
        for index, column in PATTERN_INDEXES.items():
            op.create_index(index, "planets", [sa.text(f"lower({column}) text_pattern_ops")])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for index in PATTERN_INDEXES:
            op.drop_index(index, table_name="planets")
    op.drop_index("ix_planets_host_star", table_name="planets")
    op.drop_index("ix_planets_name", table_name="planets")
