"""dorm2: the public figures per funding instrument — a school's children and a dormitory's places are never added
up: each cached organisation-month names its instrument (backfilled from the organisation's kind), and the public
caches are rebuilt by the next background pass (their downloads gain the instrument column)

Revision ID: 0016_dorm2
Revises: 0015_national
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_dorm2"
down_revision = "0015_national"
branch_labels = None
depends_on = None


def _rebuild_public_caches() -> None:
    # Without a refresh state the next pass rebuilds everything; until then pages build live (app.public.cache),
    # and no stored download in the other shape is served.
    op.execute("DELETE FROM public_payload")
    op.execute("DELETE FROM public_refresh")


def upgrade():
    with op.batch_alter_table("public_school_month", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instrument", sa.String(length=16), server_default="schools", nullable=False))
    op.execute("UPDATE public_school_month SET instrument = 'dormitory' WHERE school_id IN "
               "(SELECT id FROM organisation WHERE kind = 'dormitory')")
    op.drop_index("ix_public_school_month_school", table_name="public_school_month")
    op.create_index("ix_public_school_month_school", "public_school_month", ["school_id", "period", "instrument"],
                    unique=True)
    _rebuild_public_caches()


def downgrade():
    op.drop_index("ix_public_school_month_school", table_name="public_school_month")
    # A cache, rebuilt from the acts by the next pass: emptied rather than squeezed into one row per month.
    op.execute("DELETE FROM public_school_month")
    op.create_index("ix_public_school_month_school", "public_school_month", ["school_id", "period"], unique=True)
    with op.batch_alter_table("public_school_month", schema=None) as batch_op:
        batch_op.drop_column("instrument")
    _rebuild_public_caches()
