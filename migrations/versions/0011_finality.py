"""acts: decided is final — the act's lock version for guarded writes, adjustments of earlier months

Revision ID: 0011_finality
Revises: 0011_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_finality"
down_revision = "0011_incidents"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lock_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("adjustment_tiyn", sa.BigInteger(), server_default="0", nullable=False))
    op.create_table(
        "act_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column("original_act_id", sa.Integer(), nullable=False),
        sa.Column("original_line_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("rule_code", sa.String(length=32), nullable=False),
        sa.Column("original_amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("corrected_amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_tiyn <> 0", name=op.f("ck_act_adjustment_non_zero")),
        sa.ForeignKeyConstraint(["act_id"], ["act.id"], name=op.f("fk_act_adjustment_act_id_act"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["original_act_id"], ["act.id"], name=op.f("fk_act_adjustment_original_act_id_act")),
        sa.ForeignKeyConstraint(["original_line_id"], ["act_line.id"],
                                name=op.f("fk_act_adjustment_original_line_id_act_line")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_adjustment")),
        sa.UniqueConstraint("act_id", "original_line_id", name="uq_act_adjustment_act_line"),
    )
    op.create_index(op.f("ix_act_adjustment_act_id"), "act_adjustment", ["act_id"])
    op.create_index("ix_act_adjustment_original_line", "act_adjustment", ["original_line_id"])


def downgrade():
    op.drop_index("ix_act_adjustment_original_line", table_name="act_adjustment")
    op.drop_index(op.f("ix_act_adjustment_act_id"), table_name="act_adjustment")
    op.drop_table("act_adjustment")
    with op.batch_alter_table("act", schema=None) as batch_op:
        batch_op.drop_column("adjustment_tiyn")
        batch_op.drop_column("lock_version")
