"""engine: incidents — a failed automatic step of one instance, recorded while the batch goes on

Revision ID: 0010_incidents
Revises: 0009_announce
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_incidents"
down_revision = "0009_announce"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], name=op.f("fk_incident_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user_account.id"], name=op.f("fk_incident_resolved_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_index("ix_incident_instance_status", "incident", ["instance_id", "status"])
    op.create_index("ix_incident_status_created", "incident", ["status", "created_at"])


def downgrade():
    op.drop_index("ix_incident_status_created", table_name="incident")
    op.drop_index("ix_incident_instance_status", table_name="incident")
    op.drop_table("incident")
