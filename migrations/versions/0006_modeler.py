"""modeler: instance migrations (revertible)

Revision ID: 0006_modeler
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_modeler"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instance_migration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("previous_state", sa.Text(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("migrated_by_id", sa.Integer(), nullable=True),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_instance_migration_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["from_version_id"], ["process_model_version.id"],
                                name=op.f("fk_instance_migration_from_version_id_process_model_version")),
        sa.ForeignKeyConstraint(["to_version_id"], ["process_model_version.id"],
                                name=op.f("fk_instance_migration_to_version_id_process_model_version")),
        sa.ForeignKeyConstraint(["migrated_by_id"], ["user_account.id"],
                                name=op.f("fk_instance_migration_migrated_by_id_user_account")),
        sa.ForeignKeyConstraint(["reverted_by_id"], ["user_account.id"],
                                name=op.f("fk_instance_migration_reverted_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_migration")),
    )
    with op.batch_alter_table("instance_migration", schema=None) as batch_op:
        batch_op.create_index("ix_instance_migration_instance_id", ["instance_id"], unique=False)


def downgrade():
    with op.batch_alter_table("instance_migration", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_migration_instance_id")
    op.drop_table("instance_migration")
