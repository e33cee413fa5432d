"""bpmnimport: which process of which diagram a model version runs, and who performs lane-less user tasks

Revision ID: 0013_bpmnimport
Revises: 0012_public
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_bpmnimport"
down_revision = "0013_ocds"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_model_version") as batch:
        batch.add_column(sa.Column("primary_file", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("process_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lane_role", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("process_model_version") as batch:
        batch.drop_column("lane_role")
        batch.drop_column("process_id")
        batch.drop_column("primary_file")
