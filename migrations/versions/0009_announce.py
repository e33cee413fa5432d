"""notifications: human_task.announced_at — new tasks are announced by the background pass

Revision ID: 0009_announce
Revises: 0008_merge
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_announce"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    # Tasks that exist already were announced when they were created (the step did it then).
    op.execute("UPDATE human_task SET announced_at = created_at")
    op.create_index("ix_human_task_unannounced", "human_task", ["id"], unique=False,
                    sqlite_where=sa.text("announced_at IS NULL"), postgresql_where=sa.text("announced_at IS NULL"))


def downgrade():
    op.drop_index("ix_human_task_unannounced", table_name="human_task",
                  sqlite_where=sa.text("announced_at IS NULL"), postgresql_where=sa.text("announced_at IS NULL"))
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
