"""audit check: the audit page's check of the whole trail, run as a background job (one at a time: a partial unique
index), its verdict kept with who started it and when

Revision ID: 0034_audit_check
Revises: 0033_nedb_snapshot
"""
import sqlalchemy as sa
from alembic import op

revision = "0034_audit_check"
down_revision = "0033_nedb_snapshot"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade():
    op.create_table(
        "audit_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("total_events", sa.Integer(), nullable=False),
        sa.Column("checked_events", sa.Integer(), nullable=False),
        sa.Column("chains", sa.Integer(), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_audit_check_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_check")),
    )
    op.create_index(op.f("ix_audit_check_lease_expires_at"), "audit_check", ["lease_expires_at"], unique=False)
    op.create_index("uq_audit_check_active", "audit_check", ["scope"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade():
    op.drop_index("uq_audit_check_active", table_name="audit_check")
    op.drop_index(op.f("ix_audit_check_lease_expires_at"), table_name="audit_check")
    op.drop_table("audit_check")
