"""planet substring search: trigram indexes of names and host stars

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# SQLite: an FTS5 table of trigrams over planets(name, host_star) that stores only the index
# (the text stays in planets), kept in step by triggers; as models/planets.py declares it.
SQLITE_SEARCH_INDEX = (
    "CREATE VIRTUAL TABLE planets_search USING fts5(name, host_star, content='planets',"
    " content_rowid='id', tokenize='trigram', columnsize=0)",
    "CREATE TRIGGER planets_search_insert AFTER INSERT ON planets BEGIN"
    " INSERT INTO planets_search (rowid, name, host_star)"
    " VALUES (new.id, new.name, new.host_star); END",
    "CREATE TRIGGER planets_search_delete AFTER DELETE ON planets BEGIN"
    " INSERT INTO planets_search (planets_search, rowid, name, host_star)"
    " VALUES ('delete', old.id, old.name, old.host_star); END",
    "CREATE TRIGGER planets_search_update AFTER UPDATE OF name, host_star ON planets BEGIN"
    " INSERT INTO planets_search (planets_search, rowid, name, host_star)"
    " VALUES ('delete', old.id, old.name, old.host_star);"
    " INSERT INTO planets_search (rowid, name, host_star)"
    " VALUES (new.id, new.name, new.host_star); END",
)
SQLITE_TRIGGERS = ("planets_search_insert", "planets_search_delete", "planets_search_update")
# PostgreSQL: pg_trgm's GIN indexes, which LIKE '%word%' uses.
TRIGRAM_INDEXES = {"ix_planets_name_trgm_pattern": "name",
                   "ix_planets_host_star_trgm_pattern": "host_star"}


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH_INDEX:
            op.execute(statement)
        op.execute("INSERT INTO planets_search (planets_search) VALUES ('rebuild')")
        return
    # A trusted extension (PostgreSQL 13+): the database's owner may create it. It lives in
    # the first schema of the search_path unless it is there already.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in TRIGRAM_INDEXES.items():
        op.create_index(index, "planets", [sa.text(f"lower({column}) gin_trgm_ops")],
                        postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE planets_search")
        return
    for index in TRIGRAM_INDEXES:
        op.drop_index(index, table_name="planets")
    # pg_trgm stays: an extension belongs to the whole database, whose other schemas may use it.
