"""an index for each record's history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_target", "audit_events",
                    ["target_type", "target_id", "id"])


def downgrade():
    op.drop_index("ix_audit_events_target", table_name="audit_events")
