"""act capacity: the design capacity an act's lines were verified against, pinned on the act — a decided month is
repriced with it, not with the school's capacity as an administrator edited it since

Revision ID: 0037_act_capacity
Revises: 0036_settlement_returns
"""
import sqlalchemy as sa
from alembic import op

revision = "0037_act_capacity"
down_revision = "0036_settlement_returns"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act") as batch:
        batch.add_column(sa.Column("verified_capacity", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("capacity_pinned", sa.Boolean(), nullable=False, server_default=sa.false()))
    # The schools' acts verified before: the capacity they were verified against was not kept. What verification
    # read is the best evidence there is: a contract's signed capacity (never edited after signing), or for a school
    # paid without a contract its capacity now — what their repricing read until this revision; pinned, an
    # administrator's edit from now on no longer reaches them. A verified act still open is pinned too (accepted
    # without being verified again, it would have been decided unpinned); verified again, it pins what it is checked
    # against then. The acts not verified yet pin theirs when they are; a dormitory's act pins its places there too.
    op.execute("UPDATE act SET capacity_pinned = TRUE, verified_capacity = CASE "
               "WHEN EXISTS (SELECT 1 FROM contract_act WHERE contract_act.act_id = act.id) "
               "THEN (SELECT contract.design_capacity FROM contract_act JOIN contract "
               "ON contract.id = contract_act.contract_id WHERE contract_act.act_id = act.id) "
               "ELSE (SELECT organisation.design_capacity FROM organisation WHERE organisation.id = act.school_id) END "
               "WHERE instrument = 'schools' AND status IN ('verified', 'accepted', 'paid')")


def downgrade():
    with op.batch_alter_table("act") as batch:
        batch.drop_column("capacity_pinned")
        batch.drop_column("verified_capacity")
