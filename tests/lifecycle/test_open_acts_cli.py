"""`flask open-acts` opens the acts of a month that has ended, and only such a month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.acts.models import Act
from app.extensions import db


def _acts_of(month: date) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Act).where(Act.period == month))


def test_open_acts_refuses_a_month_not_yet_ended_and_a_malformed_month(frozen, app):
    runner = app.test_cli_runner()
    frozen.at = datetime(2027, 9, 20, 6, 0, tzinfo=UTC)
    early = runner.invoke(args=["open-acts", "--period", "2027-09"])
    assert early.exit_code == 1 and "has not ended yet" in early.output and "2027-10-01" in early.output
    assert _acts_of(date(2027, 9, 1)) == 0
    bad = runner.invoke(args=["open-acts", "--period", "2027-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output

    frozen.at = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)  # 11:00 in Astana: September has ended
    done = runner.invoke(args=["open-acts", "--period", "2027-09"])
    assert done.exit_code == 0 and _acts_of(date(2027, 9, 1)) > 0
