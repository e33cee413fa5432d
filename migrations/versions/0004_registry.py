"""registry: licences, business register, import jobs, month-wide verification runs; NEDB natural key

Revision ID: 0004_registry
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_registry"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_nedb_enrollment_natural", "nedb_enrollment", ["iin", "school_bin", "enrolled_on"],
                    unique=True)
    op.create_table(
        "registry_licence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("levels", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_licence")),
        sa.UniqueConstraint("number", name=op.f("uq_registry_licence_number")),
    )
    op.create_index("ix_registry_licence_bin", "registry_licence", ["bin"], unique=False)
    op.create_table(
        "registry_business",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("oked", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_business")),
        sa.UniqueConstraint("bin", name=op.f("uq_registry_business_bin")),
    )
    op.create_table(
        "registry_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("loaded_rows", sa.Integer(), nullable=False),
        sa.Column("rejected_rows", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_registry_import_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import")),
    )
    op.create_table(
        "verification_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_acts", sa.Integer(), nullable=False),
        sa.Column("processed_acts", sa.Integer(), nullable=False),
        sa.Column("total_lines", sa.Integer(), nullable=False),
        sa.Column("excluded_lines", sa.Integer(), nullable=False),
        sa.Column("by_rule", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_verification_run_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_run")),
    )
    op.create_index(op.f("ix_verification_run_period"), "verification_run", ["period"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Verification rewrites every act line once (outcome, rule, amount — no indexed column): free room in
        # each page lets PostgreSQL do that as heap-only (HOT) updates, without touching act_line's indexes.
        op.execute("ALTER TABLE act_line SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE act_line RESET (fillfactor)")
    op.drop_index(op.f("ix_verification_run_period"), table_name="verification_run")
    op.drop_table("verification_run")
    op.drop_table("registry_import")
    op.drop_table("registry_business")
    op.drop_index("ix_registry_licence_bin", table_name="registry_licence")
    op.drop_table("registry_licence")
    op.drop_index("uq_nedb_enrollment_natural", table_name="nedb_enrollment")
