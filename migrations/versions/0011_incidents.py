"""operations: job leases (heartbeat, attempts, checkpoint) and the record of the last background pass

Revision ID: 0011_incidents
Revises: 0010_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_incidents"
down_revision = "0010_incidents"
branch_labels = None
depends_on = None

JOB_TABLES = ("registry_import", "verification_run")


def upgrade():
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("worker", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
            batch.add_column(sa.Column("checkpoint", sa.JSON(), nullable=True))
            batch.create_index(f"ix_{table}_lease_expires_at", ["lease_expires_at"])
        with op.batch_alter_table(table) as batch:
            batch.alter_column("attempts", server_default=None)
    op.create_table(
        "background_pass",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("failed_parts", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_background_pass")),
    )


def downgrade():
    op.drop_table("background_pass")
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_lease_expires_at")
            for column in ("checkpoint", "attempts", "worker", "lease_expires_at", "heartbeat_at", "started_at"):
                batch.drop_column(column)
