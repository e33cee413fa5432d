"""Two background passes at once (two tickers, a Celery beat and a `flask ticker --once`) read the same expired job:
exactly one of them requeues it (or fails it) and writes the event; the other changes nothing and writes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock, jobs
from app.audit.models import AuditEvent
from app.extensions import db
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.operations.test_job_leases import _month
from tests.registry.conftest import OCTOBER

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _other_pass_runs_between_read_and_write(app, monkeypatch) -> list[int]:
    """The first pass reads the expired jobs; before it writes, a second pass (another process: its own session and
    connection, here a thread joined at once) reads the same rows and handles them. Returns what each pass handled."""
    real, handled = jobs.expired_jobs, []

    def other_pass() -> None:
        with app.app_context():
            handled.append(jobs.reap_expired_jobs())

    def read_then_let_the_other_pass_in(model, now=None):
        found = real(model, now)
        if model is VerificationRun and not handled:
            monkeypatch.setattr(jobs, "expired_jobs", real)  # the other pass reads without this hook
            thread = threading.Thread(target=other_pass)
            thread.start()
            thread.join()
        return found

    monkeypatch.setattr(jobs, "expired_jobs", read_then_let_the_other_pass_in)
    return handled


@pytest.mark.parametrize("story", ["worker died", "message lost", "out of attempts"])
def test_two_passes_handle_an_expired_job_once(app_ctx, country, monkeypatch, story):
    _month(country, schools=1)
    dispatched = []
    monkeypatch.setattr("app.registry.jobs.dispatch", lambda name, job_id: dispatched.append(job_id) or True)
    monkeypatch.setitem(app_ctx.config, "JOB_MAX_ATTEMPTS", 1 if story == "out of attempts" else 3)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        if story == "message lost":
            jobs.mark_dispatched(run)
            db.session.commit()
        else:
            assert jobs.claim(run)  # a worker took it and was killed
        frozen.advance(seconds=max(jobs.lease_seconds(), app_ctx.config["JOB_QUEUE_TIMEOUT_SECONDS"]) + 1)
        handled = _other_pass_runs_between_read_and_write(app_ctx, monkeypatch)
        handled.append(jobs.reap_expired_jobs())

    assert handled == [1, 0], "the other pass handled the job; the first found it handled and did nothing"
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "jobs")).all()
    db.session.expire_all()
    run = db.session.get(VerificationRun, run.id)
    if story == "out of attempts":
        assert events == ["job.abandoned"] and dispatched == []
        assert run.status == "failed" and run.message.startswith("worker_lost:1 run(s)")
    else:
        assert events == ["job.requeued"] and dispatched == [run.id]
        assert run.status == "queued"
