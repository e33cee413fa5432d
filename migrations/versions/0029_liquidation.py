"""liquidation date: the business register's date an organisation was liquidated (registry_business.liquidated_on)

A school liquidated mid-month was excluded for the whole month once the register said "liquidated" (the status
carries no date), and for every month before too while its acts were open; with the date, the days before it are
paid, as a licence ending inside the month pays its covered days. Nothing is backfilled: a record liquidated without
a date keeps excluding every month, as before.

Revision ID: 0029_liquidation
Revises: 0028_review_basis
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_liquidation"
down_revision = "0028_review_basis"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registry_business") as batch:
        batch.add_column(sa.Column("liquidated_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("registry_business") as batch:
        batch.drop_column("liquidated_on")
