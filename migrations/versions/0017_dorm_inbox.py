"""dorm inbox: a dormitory's tasks carry its name and BIN in the inbox columns, as a school's do (the bulk
acceptance's list and the inbox's school filter showed an empty cell for a dormitory's act)

Revision ID: 0017_dorm_inbox
Revises: 0016_inbox_counts
"""
from alembic import op

revision = "0017_dorm_inbox"
down_revision = "0016_inbox_counts"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE human_task SET school_name = (SELECT substr(o.name, 1, 255) FROM organisation o "
               "WHERE o.id = human_task.organisation_id), school_bin = (SELECT o.bin FROM organisation o "
               "WHERE o.id = human_task.organisation_id) WHERE school_name IS NULL AND organisation_id IN "
               "(SELECT id FROM organisation WHERE kind = 'dormitory')")


def downgrade():
    pass  # the names are true either way; nothing to take back
