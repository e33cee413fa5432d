"""public: cached per-school monthly figures for the public portal

Revision ID: 0012_public
Revises: 0011_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_public"
down_revision = "0011_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_school_month",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("academic_year", sa.String(length=9), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("claimed_lines", sa.Integer(), nullable=False),
        sa.Column("accepted_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("withheld_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("paid_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("withheld_by_rule", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], name=op.f("fk_public_school_month_region_id_region")),
        sa.ForeignKeyConstraint(["school_id"], ["organisation.id"],
                                name=op.f("fk_public_school_month_school_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_school_month")),
    )
    op.create_index("ix_public_school_month_year_region", "public_school_month",
                    ["academic_year", "region_id", "period"])
    op.create_index("ix_public_school_month_school", "public_school_month", ["school_id", "period"], unique=True)


def downgrade():
    op.drop_index("ix_public_school_month_school", table_name="public_school_month")
    op.drop_index("ix_public_school_month_year_region", table_name="public_school_month")
    op.drop_table("public_school_month")
