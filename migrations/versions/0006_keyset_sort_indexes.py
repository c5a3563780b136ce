"""sort indexes on (column, id) for keyset paging

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Every sort key of the lists, by table. Keyset paging reads ORDER BY column, id and seeks within
# a run of equal values (models/paging.py), which PostgreSQL answers from the index only when the
# index holds the id too; an index named ix_<table>_<column>_id replaces ix_<table>_<column>.
SORT_KEYS = {
    "planets": ("name", "host_star", "planet_type", "discovery_year", "discovery_method",
                "mass_earth", "radius_earth", "orbital_period_days", "semi_major_axis_au",
                "distance_ly", "equilibrium_temp_k", "updated_at"),
    "users": ("username", "email", "role", "is_active", "created_at", "last_login_at"),
    "audit_events": ("at", "action", "actor_username", "target_type"),
    "mission_applications": ("status", "submitted_at"),
    "api_tokens": ("name", "created_at", "last_used_at", "revoked_at"),
}
# The sort keys that had no index of their own before.
UNINDEXED = {("users", "username"), ("users", "email"), ("users", "created_at"),
             ("users", "last_login_at"), ("api_tokens", "name"),
             ("api_tokens", "created_at"), ("api_tokens", "last_used_at"),
             ("api_tokens", "revoked_at")}


def upgrade():
    for table, columns in SORT_KEYS.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}_id", table, [column, "id"])
            if (table, column) not in UNINDEXED:
                op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade():
    for table, columns in SORT_KEYS.items():
        for column in columns:
            if (table, column) not in UNINDEXED:
                op.create_index(f"ix_{table}_{column}", table, [column])
            op.drop_index(f"ix_{table}_{column}_id", table_name=table)
