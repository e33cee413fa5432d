"""act students: an act keeps the distinct students of its lines and of its accepted lines beside the line totals —
the analytics flags counted them from every line of the year's acts on each view of the page (seconds for the
operator at country scale); verification now writes them with the totals, and the existing acts get them from their
lines here

Revision ID: 0025_act_students
Revises: 0024_public_students
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_act_students"
down_revision = "0024_public_students"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("act") as batch:
        batch.add_column(sa.Column("total_students", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("accepted_students", sa.Integer(), nullable=False, server_default="0"))
    # One grouped pass over the lines (the (act, IIN) index), as verification counts them; an act without lines keeps 0.
    op.execute("UPDATE act SET total_students = s.students, accepted_students = s.accepted FROM ("
               "SELECT act_id, COUNT(DISTINCT iin) AS students, "
               "COUNT(DISTINCT CASE WHEN outcome = 'accepted' THEN iin END) AS accepted "
               "FROM act_line GROUP BY act_id) s WHERE act.id = s.act_id")


def downgrade():
    with op.batch_alter_table("act") as batch:
        batch.drop_column("accepted_students")
        batch.drop_column("total_students")
