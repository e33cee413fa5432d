"""inbox counts: the open-task counts (nav badge, group tab) of the country and of a region from one index
alone — role, state, trial flag, region, claim — instead of ~24,000 heap pages per count for the operator at
1,000,000 tasks (benchmarks/inbox.py)

Revision ID: 0016_inbox_counts
Revises: 0016_dorm2
"""
from alembic import op

revision = "0016_inbox_counts"
down_revision = "0016_dorm2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_human_task_scope_count", "human_task", ["role", "status", "is_trial", "region_id", "assignee_id"])


def downgrade():
    op.drop_index("ix_human_task_scope_count", table_name="human_task")
