"""public adjusted: the public figures keep a month's adjustments apart from what its lines earn (the
reconciliation's accepted and adjusted: a claw-back settled in November was a lower "accepted" of November)

Revision ID: 0019_public_adjusted
Revises: 0018_one_run
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_public_adjusted"
down_revision = "0018_one_run"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("public_school_month") as batch:
        batch.add_column(sa.Column("adjusted_tiyn", sa.BigInteger(), nullable=False, server_default="0"))
    # The rows written before kept the adjustments inside the accepted amount: take them out (as the next rebuild
    # would), so the portal is right from the first request.
    op.execute("UPDATE public_school_month SET adjusted_tiyn = COALESCE((SELECT SUM(a.adjustment_tiyn) FROM act a "
               "WHERE a.school_id = public_school_month.school_id AND a.period = public_school_month.period "
               "AND a.instrument = public_school_month.instrument AND a.status IN ('accepted', 'paid')), 0)")
    op.execute("UPDATE public_school_month SET accepted_tiyn = accepted_tiyn - adjusted_tiyn")


def downgrade():
    op.execute("UPDATE public_school_month SET accepted_tiyn = accepted_tiyn + adjusted_tiyn")
    with op.batch_alter_table("public_school_month") as batch:
        batch.drop_column("adjusted_tiyn")
