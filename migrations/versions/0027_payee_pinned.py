"""payee pinned: the department accepts an act with the account it is paid to (act.payee_iban), and a payment keeps
the account it was sent to (payment.payee_iban) — read at payment time, an edit of the school's IBAN after the
acceptance redirected the money, unseen by verify-audit

Nothing is backfilled: the acceptance events written so far hold no account among their facts, so no value could be
vouched for; an act accepted before this revision is paid to the account on record at payment, as before.

Revision ID: 0027_payee_pinned
Revises: 0026_outside_settlement
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_payee_pinned"
down_revision = "0026_outside_settlement"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act") as batch:
        batch.add_column(sa.Column("payee_iban", sa.String(length=34), nullable=True))
    with op.batch_alter_table("payment") as batch:
        batch.add_column(sa.Column("payee_iban", sa.String(length=34), nullable=True))


def downgrade():
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("payee_iban")
    with op.batch_alter_table("act") as batch:
        batch.drop_column("payee_iban")
