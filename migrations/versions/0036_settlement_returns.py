"""settlement returns: the bank sends back a carried top-up paid outside the acts — the operator records the return on
the settlement (day, reason, the bank's reference, note, who and when), as on an act's payment; the top-up is carried
again and settled once more

Revision ID: 0036_settlement_returns
Revises: 0035_payment_returns
"""
import sqlalchemy as sa
from alembic import op

revision = "0036_settlement_returns"
down_revision = "0035_payment_returns"
branch_labels = None
depends_on = None

RETURN_WHOLE = ("(returned_on IS NULL AND return_reason IS NULL AND return_reference IS NULL) OR "
                "(kind = 'paid' AND returned_on IS NOT NULL AND return_reference IS NOT NULL AND return_reason IN "
                "('account_closed', 'wrong_details', 'bank_refused', 'other'))")


def upgrade():
    with op.batch_alter_table("outside_settlement") as batch:
        batch.add_column(sa.Column("returned_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("return_reason", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("return_note", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("return_reference", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("returned_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_outside_settlement_returned_by_id_user_account"), "user_account",
                                 ["returned_by_id"], ["id"])
        batch.create_check_constraint(op.f("ck_outside_settlement_return_whole"), RETURN_WHOLE)
        batch.create_check_constraint(op.f("ck_outside_settlement_returned_after_paid"),
                                      "returned_on IS NULL OR returned_on >= paid_on")


def downgrade():
    # the code before this revision counts every "paid" settlement as paid: a returned one goes (its events stay in the
    # audit trail), as 0035 does with returned payments
    op.execute("DELETE FROM outside_settlement WHERE returned_on IS NOT NULL")
    with op.batch_alter_table("outside_settlement") as batch:
        batch.drop_constraint(op.f("ck_outside_settlement_returned_after_paid"), type_="check")
        batch.drop_constraint(op.f("ck_outside_settlement_return_whole"), type_="check")
        batch.drop_constraint(op.f("fk_outside_settlement_returned_by_id_user_account"), type_="foreignkey")
        batch.drop_column("returned_at")
        batch.drop_column("returned_by_id")
        batch.drop_column("return_reference")
        batch.drop_column("return_note")
        batch.drop_column("return_reason")
        batch.drop_column("returned_on")
