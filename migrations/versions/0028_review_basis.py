"""review basis: an official's decision on a line that needs review holds only for the values it was made on
(act_line_review.basis: a fingerprint of the act's and the registry's value for each check) — matched by its check
codes alone, a confirmation of "Иванов vs Ivanov" still counted after NEDB's name became "Петров"

Nothing is backfilled: the values a decision recorded so far was made on are not known; such a decision (basis NULL)
holds on its codes, as before.

Revision ID: 0028_review_basis
Revises: 0027_payee_pinned
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_review_basis"
down_revision = "0027_payee_pinned"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act_line_review") as batch:
        batch.add_column(sa.Column("basis", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("act_line_review") as batch:
        batch.drop_column("basis")
