"""dormsql: covering indexes for the dormitories' set-based rule pass

The pass joins every place to its student's enrolments and reads institution, study form, dates and home region;
with all of them in the index the join never visits the table (one index probe per line, like the reference scan).
The plain (iin) index it replaces is a prefix of it. ``two_dormitories`` probes the month's act lines of the same
IIN and skips the dormitory's own line by ``school_id``; with it in the (iin, period) index the probe of the own
line does not visit the table either. The index it replaces is a prefix of it.

Revision ID: 0014_dormsql
Revises: 0013_dorm
"""
from alembic import op

revision = "0014_dormsql"
down_revision = "0013_dorm"
branch_labels = None
depends_on = None

_FACTS = ["iin", "institution_bin", "study_form", "enrolled_on", "withdrawn_on", "home_region"]


def upgrade():
    op.create_index("ix_student_enrolment_facts", "student_enrolment", _FACTS, unique=False)
    op.drop_index("ix_student_enrolment_iin", table_name="student_enrolment")
    op.create_index("ix_act_line_iin_period_school", "act_line", ["iin", "period", "school_id"], unique=False)
    op.drop_index("ix_act_line_iin_period", table_name="act_line")


def downgrade():
    op.create_index("ix_act_line_iin_period", "act_line", ["iin", "period"], unique=False)
    op.drop_index("ix_act_line_iin_period_school", table_name="act_line")
    op.create_index("ix_student_enrolment_iin", "student_enrolment", ["iin"], unique=False)
    op.drop_index("ix_student_enrolment_facts", table_name="student_enrolment")
