"""acts: paid days and identity review of act lines; the official's review decisions

Revision ID: 0011_rules
Revises: 0011_finality
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_rules"
down_revision = "0011_finality"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act_line") as batch:
        batch.add_column(sa.Column("paid_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("review_codes", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("registry_name", sa.String(length=200), nullable=True))
    op.create_table(
        "act_line_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("codes", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('confirm','exclude')", name=op.f("ck_act_line_review_decision")),
        sa.ForeignKeyConstraint(["act_id"], ["act.id"], name=op.f("fk_act_line_review_act_id_act"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["line_id"], ["act_line.id"], name=op.f("fk_act_line_review_line_id_act_line"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name=op.f("fk_act_line_review_decided_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_line_review")),
        sa.UniqueConstraint("line_id", name=op.f("uq_act_line_review_line")),
    )
    op.create_index("ix_act_line_review_act", "act_line_review", ["act_id"])


def downgrade():
    op.drop_index("ix_act_line_review_act", table_name="act_line_review")
    op.drop_table("act_line_review")
    with op.batch_alter_table("act_line") as batch:
        batch.drop_column("registry_name")
        batch.drop_column("review_codes")
        batch.drop_column("paid_days")
