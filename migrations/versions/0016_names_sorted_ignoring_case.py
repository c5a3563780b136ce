"""the audit log's actor and the API tokens' names sort ignoring case

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_actor_username_lower_id", "audit_events",
                    [sa.text("lower(actor_username)"), "id"])
    # The tokens' name is sorted by lower(name) only, so its plain sort index goes.
    op.drop_index("ix_api_tokens_name_id", table_name="api_tokens")
    op.create_index("ix_api_tokens_name_lower_id", "api_tokens", [sa.text("lower(name)"), "id"])


def downgrade():
    op.drop_index("ix_api_tokens_name_lower_id", table_name="api_tokens")
    op.create_index("ix_api_tokens_name_id", "api_tokens", ["name", "id"])
    op.drop_index("ix_audit_events_actor_username_lower_id", table_name="audit_events")
