"""One month-wide verification of a month at a time: two operators starting it at once through two web processes
had both runs go through (each act verified twice). The check before the insert is backed by a unique index."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.engine.errors import DomainRefused
from app.extensions import db
from app.reports import operations
from app.reports.models import VerificationRun
from tests.helpers import act_of_school, user


def _run(period: date, status: str) -> VerificationRun:
    return VerificationRun(period=period, status=status, total_acts=0, processed_acts=0, total_lines=0,
                           excluded_lines=0, by_rule={}, created_at=datetime(2026, 11, 1, tzinfo=UTC))


def test_two_active_runs_of_a_month_cannot_be_stored(app_ctx):
    db.session.add_all([_run(date(2026, 10, 1), "done"), _run(date(2026, 10, 1), "failed"),
                        _run(date(2026, 10, 1), "queued"), _run(date(2026, 11, 1), "running")])
    db.session.commit()
    db.session.add(_run(date(2026, 10, 1), "running"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_start_that_loses_the_race_is_told_a_run_is_going(world, monkeypatch):
    period = act_of_school("Alatau Lyceum").period
    first = operations.start_month_verification(period, user("operator"), dispatch_job=False)
    db.session.commit()
    monkeypatch.setattr(operations, "_active_run", lambda _period: None)  # its check ran before the first insert
    with pytest.raises(DomainRefused, match="already running"):
        operations.start_month_verification(period, user("operator"), dispatch_job=False)
    db.session.rollback()
    assert db.session.scalars(select(VerificationRun.id).where(VerificationRun.period == period)).all() == [first.id]
