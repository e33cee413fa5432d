"""notification by task: a task done marks its calls to act read (app/notifications/receivers.py) — one indexed
UPDATE over the notices still unread, not a scan of every notification ever written

Revision ID: 0022_notification_task
Revises: 0021_import_kind
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_notification_task"
down_revision = "0021_import_kind"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_notification_task_unread", "notification", ["task_id"],
                    sqlite_where=sa.text("read_at IS NULL"), postgresql_where=sa.text("read_at IS NULL"))


def downgrade():
    op.drop_index("ix_notification_task_unread", table_name="notification")
