"""public students: the public figures count distinct students, not act lines — a dormitory student who moved rooms
within a month (a line per room) and a child transferred between two schools within a month (a line in each act)
were counted twice in the region's and the country's totals

Revision ID: 0024_public_students
Revises: 0023_public_rebuild
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_public_students"
down_revision = "0023_public_rebuild"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("public_school_month") as batch:
        batch.add_column(sa.Column("region_children", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("country_children", sa.Integer(), nullable=False, server_default="0"))
    # The rows written before counted lines: keep them readable as they were until the next pass, which rebuilds
    # everything (no pass state: the first pass is a full one) and counts students.
    op.execute("UPDATE public_school_month SET region_children = children, country_children = children")
    op.execute("DELETE FROM public_refresh")


def downgrade():
    with op.batch_alter_table("public_school_month") as batch:
        batch.drop_column("country_children")
        batch.drop_column("region_children")
