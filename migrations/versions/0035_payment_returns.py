"""payment returns: the bank sends a payment back (closed account, wrong details, its own refusal) — the operator
records the return on the payment (day, reason, the bank's reference, note, who and when), and the act is paid again
once: the unique act_id becomes a partial unique index over the payments not returned

Revision ID: 0035_payment_returns
Revises: 0034_audit_check
"""
import sqlalchemy as sa
from alembic import op

revision = "0035_payment_returns"
down_revision = "0034_audit_check"
branch_labels = None
depends_on = None

NOT_RETURNED = "returned_on IS NULL"
RETURN_WHOLE = ("(returned_on IS NULL AND return_reason IS NULL AND return_reference IS NULL) OR "
                "(returned_on IS NOT NULL AND return_reference IS NOT NULL AND return_reason IN "
                "('account_closed', 'wrong_details', 'bank_refused', 'other'))")


def upgrade():
    with op.batch_alter_table("payment") as batch:
        batch.add_column(sa.Column("returned_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("return_reason", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("return_note", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("return_reference", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("returned_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_payment_returned_by_id_user_account"), "user_account",
                                 ["returned_by_id"], ["id"])
        batch.create_check_constraint(op.f("ck_payment_return_whole"), RETURN_WHOLE)
        batch.create_check_constraint(op.f("ck_payment_returned_after_paid"), "returned_on IS NULL OR returned_on >= paid_on")
        batch.drop_constraint("uq_payment_act_id", type_="unique")
    op.create_index("uq_payment_act_not_returned", "payment", ["act_id"], unique=True,
                    sqlite_where=sa.text(NOT_RETURNED), postgresql_where=sa.text(NOT_RETURNED))


def downgrade():
    # a returned payment and the act's payment after it cannot both keep act_id unique: the returned ones go (their
    # events stay in the audit trail)
    op.execute("DELETE FROM payment WHERE returned_on IS NOT NULL")
    op.drop_index("uq_payment_act_not_returned", table_name="payment")
    with op.batch_alter_table("payment") as batch:
        batch.create_unique_constraint("uq_payment_act_id", ["act_id"])
        batch.drop_constraint(op.f("ck_payment_returned_after_paid"), type_="check")
        batch.drop_constraint(op.f("ck_payment_return_whole"), type_="check")
        batch.drop_constraint(op.f("fk_payment_returned_by_id_user_account"), type_="foreignkey")
        batch.drop_column("returned_at")
        batch.drop_column("returned_by_id")
        batch.drop_column("return_reference")
        batch.drop_column("return_note")
        batch.drop_column("return_reason")
        batch.drop_column("returned_on")
