"""one run: at most one month-wide verification of a month is queued or running at a time (a partial unique index;
two operators starting the same month at once had both runs go through)

Revision ID: 0018_one_run
Revises: 0017_dorm_inbox
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_one_run"
down_revision = "0017_dorm_inbox"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade():
    # Two active runs of one month from before: the newer one goes on, the older one is closed as superseded.
    op.execute(f"UPDATE verification_run SET status = 'failed', message = 'superseded: another run of the month' "
               f"WHERE {ACTIVE} AND id NOT IN (SELECT MAX(id) FROM verification_run WHERE {ACTIVE} GROUP BY period)")
    op.create_index("uq_verification_run_active_period", "verification_run", ["period"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade():
    op.drop_index("uq_verification_run_active_period", table_name="verification_run")
