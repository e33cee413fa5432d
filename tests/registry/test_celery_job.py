"""Scale-out mode: the month-wide verification runs as a Celery task on a real worker (Redis broker)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.reports.models import VerificationRun
from app.reports.operations import start_month_verification
from tests.helpers import celery_worker_on
from tests.registry.conftest import OCTOBER, bad_iin, iin

BROKER = "redis://127.0.0.1:6379/15"


@pytest.fixture()
def celery_mode(app_ctx):
    with celery_worker_on(app_ctx, BROKER) as celery:
        yield celery


def test_month_verification_runs_on_a_celery_worker(country, celery_mode):
    school = country.school()
    country.enrol(iin(1), school.bin)
    act = country.act(school, [(iin(1), 5), (bad_iin(2), 5)])
    db.session.commit()
    assert "tapsyrys.reports.verify_month" in celery_mode.tasks

    run = start_month_verification(OCTOBER, actor=None)  # dispatches to the worker and commits
    run_id = run.id
    deadline = time.monotonic() + 60  # a guard against hanging, not a timing assertion
    while True:
        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        if run.status in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run.status == "done", run.message
    assert (run.total_acts, run.excluded_lines, run.by_rule) == (1, 1, {"iin_checksum": 1})
    db.session.expire_all()
    assert db.session.scalars(select(type(act)).where(type(act).id == act.id)).one().status == "verified"


def test_the_audit_trail_check_runs_on_a_celery_worker(world, celery_mode):
    """The audit page's check (app/audit/checks.py) is a task of the workers as well: its verdict comes from one."""
    from app.audit.checks import start_audit_check
    from app.audit.models import AuditCheck
    from tests.helpers import user

    assert "tapsyrys.audit.check" in celery_mode.tasks
    check, started = start_audit_check(user("admin"))  # dispatches to the worker and commits
    assert started and not getattr(check, "background_unreachable", False)
    check_id = check.id
    deadline = time.monotonic() + 60  # a guard against hanging, not a timing assertion
    while True:
        db.session.expire_all()
        check = db.session.get(AuditCheck, check_id)
        if check.status in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (check.status, check.problem_count, check.attempts) == ("done", 0, 1), check.message
    assert check.chains > 1 and check.checked_events == check.total_events
