"""import_files: files uploaded for a CSV import, kept from its dry run to its apply

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=43), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_import_files_created_by_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_files")),
        sa.UniqueConstraint("key", name=op.f("uq_import_files_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_import_files_created_by_id"), "import_files", ["created_by_id"])
    op.create_index(op.f("ix_import_files_created_at"), "import_files", ["created_at"])
    op.create_table(
        "import_file_chunks",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["import_files.id"],
                                name=op.f("fk_import_file_chunks_file_id_import_files"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_import_file_chunks")),
    )


def downgrade():
    op.drop_table("import_file_chunks")
    op.drop_index(op.f("ix_import_files_created_at"), table_name="import_files")
    op.drop_index(op.f("ix_import_files_created_by_id"), table_name="import_files")
    op.drop_table("import_files")
