"""dorm2: the public figures per funding instrument — a school's children and a dormitory's places are never added
up: each cached organisation-month names its instrument (backfilled from the organisation's kind), and the public
caches are rebuilt by the next background pass (their downloads gain the instrument column); a year-end report per
academic year of a contract (a dormitory contract runs several years), with its process instance

Revision ID: 0016_dorm2
Revises: 0015_national
"""
from datetime import date

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision = "0016_dorm2"
down_revision = "0015_national"
branch_labels = None
depends_on = None


def _rebuild_public_caches() -> None:
    # Without a refresh state the next pass rebuilds everything; until then pages build live (app.public.cache),
    # and no stored download in the other shape is served.
    op.execute("DELETE FROM public_payload")
    op.execute("DELETE FROM public_refresh")


STATUSES_BEFORE = "status IN ('submitted','returned','approved')"
STATUSES_AFTER = "status IN ('awaiting','submitted','returned','approved')"
YEAR_END_PROCESSES = "('year_end', 'dorm_year_end')"


def _academic_year(day: date) -> str:
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}/{first + 1}"


def _year_end_reports_per_year() -> None:
    """Each existing report was the contract's only one, made after its last month: it is the report of the
    contract's last academic year, and its instance the contract's latest year-end instance."""
    with op.batch_alter_table("year_end_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("academic_year", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("instance_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    for report_id, period_end in bind.execute(sa.text(
            "SELECT r.id, c.period_end FROM year_end_report r JOIN contract c ON c.id = r.contract_id")).all():
        day = period_end if isinstance(period_end, date) else date.fromisoformat(str(period_end)[:10])
        bind.execute(sa.text("UPDATE year_end_report SET academic_year = :year WHERE id = :id"),
                     {"year": _academic_year(day), "id": report_id})
    op.execute("UPDATE year_end_report SET instance_id = (SELECT max(p.id) FROM process_instance p WHERE "
               "p.subject_type = 'contract' AND p.subject_id = year_end_report.contract_id AND p.process_id IN "
               f"{YEAR_END_PROCESSES})")
    with op.batch_alter_table("year_end_report", schema=None) as batch_op:
        batch_op.alter_column("academic_year", existing_type=sa.String(length=9), nullable=False)
        batch_op.create_foreign_key(op.f("fk_year_end_report_instance_id_process_instance"), "process_instance",
                                    ["instance_id"], ["id"])
        batch_op.drop_constraint("uq_year_end_report_contract_id", type_="unique")
        batch_op.create_unique_constraint("uq_year_end_report_contract_year", ["contract_id", "academic_year"])
        batch_op.drop_constraint(op.f("ck_year_end_report_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_year_end_report_status"), sa.text(STATUSES_AFTER))


def _one_year_end_report_per_contract() -> None:
    # A report not yet submitted is re-made by its process's submission (the report of the contract's last year);
    # reports submitted for two years of one contract cannot become one.
    op.execute("DELETE FROM year_end_report WHERE status = 'awaiting'")
    several = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM (SELECT contract_id FROM year_end_report GROUP BY contract_id "
        "HAVING count(*) > 1) AS c")).scalar()
    if several:
        raise CommandError(
            f"Cannot downgrade below 0016_dorm2: {several} contracts have year-end reports for more than one "
            "academic year, and below this revision a contract has one report. Delete the reports of the earlier "
            "years first (year_end_report rows, keeping each contract's latest academic_year), or stay on this "
            "revision.")
    with op.batch_alter_table("year_end_report", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_year_end_report_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_year_end_report_status"), sa.text(STATUSES_BEFORE))
        batch_op.drop_constraint("uq_year_end_report_contract_year", type_="unique")
        batch_op.create_unique_constraint("uq_year_end_report_contract_id", ["contract_id"])
        batch_op.drop_constraint(op.f("fk_year_end_report_instance_id_process_instance"), type_="foreignkey")
        batch_op.drop_column("instance_id")
        batch_op.drop_column("academic_year")


def upgrade():
    _year_end_reports_per_year()
    with op.batch_alter_table("public_school_month", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instrument", sa.String(length=16), server_default="schools", nullable=False))
    op.execute("UPDATE public_school_month SET instrument = 'dormitory' WHERE school_id IN "
               "(SELECT id FROM organisation WHERE kind = 'dormitory')")
    op.drop_index("ix_public_school_month_school", table_name="public_school_month")
    op.create_index("ix_public_school_month_school", "public_school_month", ["school_id", "period", "instrument"],
                    unique=True)
    _rebuild_public_caches()


def downgrade():
    _one_year_end_report_per_contract()
    op.drop_index("ix_public_school_month_school", table_name="public_school_month")
    # A cache, rebuilt from the acts by the next pass: emptied rather than squeezed into one row per month.
    op.execute("DELETE FROM public_school_month")
    op.create_index("ix_public_school_month_school", "public_school_month", ["school_id", "period"], unique=True)
    with op.batch_alter_table("public_school_month", schema=None) as batch_op:
        batch_op.drop_column("instrument")
    _rebuild_public_caches()
