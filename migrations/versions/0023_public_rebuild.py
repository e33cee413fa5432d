"""public rebuild: one rebuild of the public caches at a time — who runs it since when, and whether a trigger that
came meanwhile asks for one more (app/public/rebuild.py); two triggers had run two rebuilds at once

Revision ID: 0023_public_rebuild
Revises: 0022_notification_task
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_public_rebuild"
down_revision = "0022_notification_task"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_rebuild",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("running_by", sa.String(length=100), nullable=True),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("again", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_rebuild")),
    )


def downgrade():
    op.drop_table("public_rebuild")
