"""ocds: contract amendments; the public caches kept by the background pass (watermark, rendered downloads,
OCDS releases and compiled records)

Revision ID: 0013_ocds
Revises: 0012_public
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_ocds"
down_revision = "0012_public"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contract_amendment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("before_sha256", sa.String(length=64), nullable=False),
        sa.Column("after_sha256", sa.String(length=64), nullable=False),
        sa.Column("amended_by_id", sa.Integer(), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"],
                                name=op.f("fk_contract_amendment_contract_id_contract")),
        sa.ForeignKeyConstraint(["amended_by_id"], ["user_account.id"],
                                name=op.f("fk_contract_amendment_amended_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_amendment")),
        sa.UniqueConstraint("contract_id", "seq", name="uq_contract_amendment_seq"),
    )
    op.create_index(op.f("ix_contract_amendment_contract_id"), "contract_amendment", ["contract_id"])
    op.create_table(
        "public_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("full_built_on", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_refresh")),
    )
    op.create_table(
        "public_payload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_payload")),
        sa.UniqueConstraint("key", name=op.f("uq_public_payload_key")),
    )
    op.create_table(
        "ocds_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("academic_year", sa.String(length=9), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["state_order.id"], name=op.f("fk_ocds_release_order_id_state_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocds_release")),
    )
    op.create_index(op.f("ix_ocds_release_order_id"), "ocds_release", ["order_id"])
    op.create_index("ix_ocds_release_order", "ocds_release", ["order_number", "position"], unique=True)
    op.create_index("ix_ocds_release_year", "ocds_release", ["academic_year", "order_number", "position"])
    op.create_table(
        "ocds_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("academic_year", sa.String(length=9), nullable=False),
        sa.Column("ocid", sa.String(length=120), nullable=False),
        sa.Column("release_count", sa.Integer(), nullable=False),
        sa.Column("compiled", sa.Text(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["state_order.id"], name=op.f("fk_ocds_record_order_id_state_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocds_record")),
        sa.UniqueConstraint("order_id", name=op.f("uq_ocds_record_order_id")),
        sa.UniqueConstraint("order_number", name=op.f("uq_ocds_record_order_number")),
    )
    op.create_index("ix_ocds_record_year", "ocds_record", ["academic_year", "order_number"])


def downgrade():
    op.drop_index("ix_ocds_record_year", table_name="ocds_record")
    op.drop_table("ocds_record")
    op.drop_index("ix_ocds_release_year", table_name="ocds_release")
    op.drop_index("ix_ocds_release_order", table_name="ocds_release")
    op.drop_index(op.f("ix_ocds_release_order_id"), table_name="ocds_release")
    op.drop_table("ocds_release")
    op.drop_table("public_payload")
    op.drop_table("public_refresh")
    op.drop_index(op.f("ix_contract_amendment_contract_id"), table_name="contract_amendment")
    op.drop_table("contract_amendment")
