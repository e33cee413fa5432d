"""inbox counts: the operator's open-task counts (nav badge, group tab) from one index alone — role, state,
trial flag and claim — instead of ~24,000 heap pages per count at 1,000,000 tasks (benchmarks/inbox.py)

Revision ID: 0016_inbox_counts
Revises: 0015_national
"""
from alembic import op

revision = "0016_inbox_counts"
down_revision = "0015_national"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_human_task_national_count", "human_task", ["role", "status", "is_trial", "assignee_id"])


def downgrade():
    op.drop_index("ix_human_task_national_count", table_name="human_task")
