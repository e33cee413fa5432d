"""nedb snapshot: a complete register's removals and NEDB's IIN merges

``nedb_enrollment_removal`` keeps every row an import took out of ``nedb_enrollment`` (a complete register for its
school did not list it; its IIN was merged into another) with the import that took it out: the evidence behind the
claw-backs that follow. ``nedb_iin_merge`` holds NEDB's merge list (retired IIN → surviving IIN). An import keeps the
options it was uploaded with (``registry_import.options``).

Revision ID: 0033_nedb_snapshot
Revises: 0032_uploaded_documents
"""
import sqlalchemy as sa
from alembic import op

revision = "0033_nedb_snapshot"
down_revision = "0032_uploaded_documents"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "nedb_iin_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retired_iin", sa.String(length=12), nullable=False),
        sa.Column("surviving_iin", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("retired_iin"),
    )
    with op.batch_alter_table("nedb_iin_merge") as batch_op:
        batch_op.create_index("ix_nedb_iin_merge_surviving", ["surviving_iin"], unique=False)
    op.create_table(
        "nedb_enrollment_removal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("school_bin", sa.String(length=12), nullable=False),
        sa.Column("school_kind", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("surviving_iin", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["registry_import.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nedb_enrollment_removal") as batch_op:
        batch_op.create_index("ix_nedb_enrollment_removal_iin", ["iin"], unique=False)
        batch_op.create_index("ix_nedb_enrollment_removal_import", ["import_id"], unique=False)
    with op.batch_alter_table("registry_import") as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("registry_import") as batch_op:
        batch_op.drop_column("options")
    op.drop_table("nedb_enrollment_removal")
    op.drop_table("nedb_iin_merge")
