"""outside settlement: a carried top-up (a closed year's, or one whose grade cannot be checked) settled outside the
acts — paid by a payment order out of its year's budget, or written off with a reason — had no record: it stayed
carried for ever

Revision ID: 0026_outside_settlement
Revises: 0025_act_students
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_outside_settlement"
down_revision = "0025_act_students"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outside_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("original_act_id", sa.Integer(), nullable=False),
        sa.Column("original_line_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("rule_code", sa.String(length=32), nullable=False),
        sa.Column("corrected_amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_tiyn > 0", name=op.f("ck_outside_settlement_positive")),
        sa.CheckConstraint("kind IN ('paid','written_off')", name=op.f("ck_outside_settlement_kind")),
        sa.CheckConstraint("kind <> 'paid' OR (order_number IS NOT NULL AND paid_on IS NOT NULL)",
                           name=op.f("ck_outside_settlement_paid_order")),
        sa.CheckConstraint("kind <> 'written_off' OR reason IS NOT NULL",
                           name=op.f("ck_outside_settlement_written_off_reason")),
        sa.ForeignKeyConstraint(["original_act_id"], ["act.id"],
                                name=op.f("fk_outside_settlement_original_act_id_act")),
        sa.ForeignKeyConstraint(["original_line_id"], ["act_line.id"],
                                name=op.f("fk_outside_settlement_original_line_id_act_line")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user_account.id"],
                                name=op.f("fk_outside_settlement_recorded_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outside_settlement")),
        sa.UniqueConstraint("original_line_id", "seq", name="uq_outside_settlement_line_seq"),
    )
    op.create_index(op.f("ix_outside_settlement_original_act_id"), "outside_settlement", ["original_act_id"])


def downgrade():
    op.drop_index(op.f("ix_outside_settlement_original_act_id"), table_name="outside_settlement")
    op.drop_table("outside_settlement")
