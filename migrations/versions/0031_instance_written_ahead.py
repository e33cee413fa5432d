"""instance written ahead: process_instance's state index also holds the last write (status, updated_at)

Every background pass (every 30 s by default) looks for the running instances a clock that ran ahead wrote
(``status = 'running' AND updated_at > now``, app.engine.runtime.recheck_written_ahead). With an index on the state
alone that read every running instance's row — hundreds of thousands at national scale, twice a minute, to find
none. The state index becomes (status, updated_at): the same number of indexes to keep up on a step's write, the
search a range of it, and every query by state alone still served by its first column.

Revision ID: 0031_instance_written_ahead
Revises: 0030_signed_documents
"""
from alembic import op

revision = "0031_instance_written_ahead"
down_revision = "0030_signed_documents"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_instance") as batch_op:
        batch_op.create_index("ix_process_instance_status_updated", ["status", "updated_at"], unique=False)
        batch_op.drop_index("ix_process_instance_status")


def downgrade():
    with op.batch_alter_table("process_instance") as batch_op:
        batch_op.create_index("ix_process_instance_status", ["status"], unique=False)
        batch_op.drop_index("ix_process_instance_status_updated")
