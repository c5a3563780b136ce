"""planet search: one trigram index of name and host star together (PostgreSQL)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# What a search looks in, as models/planets.py writes it (searched_text): one GIN index of its
# trigrams answers every word of a search in one scan, where one index per column needed an OR
# per word. Its statistics sample ten times the rows (the planner's estimate of a search's
# matches decides how the search is read; see models.planets._index_first).
SEARCHED_TEXT = "(lower(name) || ' ' || lower(host_star))"
STATISTICS = 1_000
PER_COLUMN = {"ix_planets_name_trgm_pattern": "name",
              "ix_planets_host_star_trgm_pattern": "host_star"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's trigram index (FTS5) already holds both columns
    op.create_index("ix_planets_search_trgm", "planets",
                    [sa.text(f"{SEARCHED_TEXT} gin_trgm_ops")], postgresql_using="gin")
    for index in PER_COLUMN:
        op.drop_index(index, table_name="planets")
    # Once the index is committed: ANALYZE in the transaction that made it samples as many
    # rows as ever. Until an ANALYZE, the planner has no statistics of the new expression.
    with op.get_context().autocommit_block():
        op.execute(f"ALTER INDEX ix_planets_search_trgm ALTER COLUMN 1 SET STATISTICS {STATISTICS}")
        op.execute("ANALYZE planets")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for index, column in PER_COLUMN.items():
        op.create_index(index, "planets", [sa.text(f"lower({column}) gin_trgm_ops")],
                        postgresql_using="gin")
    op.drop_index("ix_planets_search_trgm", table_name="planets")
