"""audit: keyed hashes (key id per event) and the business facts an event vouches for

Events written before this revision keep the key id ``sha256-legacy``: they still verify with the plain
SHA-256 of their old body, carry no facts, and a legacy event after a keyed one in the same chain is reported
(a downgrade). Rewriting a whole legacy chain is found by the first signed anchor taken after the upgrade.

Revision ID: 0011_audit
Revises: 0011_rules
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_audit"
down_revision = "0011_rules"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    op.execute("UPDATE audit_event SET key_id = 'sha256-legacy'")
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("key_id", existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("facts")
        batch.drop_column("key_id")
