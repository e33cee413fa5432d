"""verification: a covering index of the NEDB facts it reads (replaces the plain iin index); act lines by (act, iin)

Verification joins every claimed line to the NEDB rows of its IIN and reads their school, dates, grade and
name; with all of them in the index the join never visits the table (one index probe per line, like the
reference scan of the core lookup). The (iin) index it replaces is a prefix of it. An act's lines by (act_id,
iin) give the students an act lists twice by one ordered index scan, without sorting the month's lines.

Revision ID: 0013_speed
Revises: 0012_public
"""
from alembic import op

revision = "0013_speed"
down_revision = "0013_bpmnimport"
branch_labels = None
depends_on = None

_COLUMNS = ["iin", "school_bin", "enrolled_on", "withdrawn_on", "grade", "full_name"]


def upgrade():
    op.create_index("ix_nedb_enrollment_facts", "nedb_enrollment", _COLUMNS, unique=False)
    op.drop_index("ix_nedb_enrollment_iin", table_name="nedb_enrollment")
    op.create_index("ix_act_line_act_iin", "act_line", ["act_id", "iin"], unique=False)


def downgrade():
    op.drop_index("ix_act_line_act_iin", table_name="act_line")
    op.create_index("ix_nedb_enrollment_iin", "nedb_enrollment", ["iin"], unique=False)
    op.drop_index("ix_nedb_enrollment_facts", table_name="nedb_enrollment")
