"""A background job that keeps renewing its lease but never ends is stopped at ``JOB_TIME_LIMIT_SECONDS``: the chunk
under way is rolled back, the chunks before it stay, and the job fails with a reason the operator reads on its page.
The clock is moved by the pass's own hooks, never slept on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock, jobs
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.extensions import db
from app.people.models import Organisation, User
from app.registry import importers
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import, run_import, stored_path
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.operations.test_job_leases import _month, _verified_events
from tests.registry.conftest import OCTOBER, iin

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
LIMIT = 60  # seconds; each chunk below "takes" 40


@pytest.fixture()
def tiny_limit(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "JOB_TIME_LIMIT_SECONDS", LIMIT)


def _operator(app_ctx) -> None:
    org = Organisation(kind="operator", bin="791028302728", name="Operator")
    db.session.add(org)
    db.session.flush()
    person = User(username="op", full_name="Operator", role="operator", organisation_id=org.id, created_at=NOW)
    person.set_password("pw")
    db.session.add(person)
    db.session.commit()


def test_a_verification_past_its_time_limit_fails_and_keeps_only_whole_chunks(app_ctx, country, tiny_limit, browser):
    acts = _month(country, schools=3)
    _operator(app_ctx)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        run_id = run.id

        def slow_chunks(step: str) -> None:
            if step == "chunk":
                frozen.advance(seconds=40)

        with pytest.raises(jobs.TimeLimitExceeded):
            reports.run_month_verification(run_id, chunk_acts=1, on_step=slow_chunks)

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "failed" and run.message.startswith("time_limit:ran 80 s, limit 60 s"), run.message
    assert run.lease_expires_at is None and run.finished_at is not None
    assert (run.processed_acts, run.checkpoint) == (1, {"after_act_id": acts[0].id}), "the first chunk stayed"
    assert _verified_events(run_id) == {acts[0].id: 1}, "the second chunk was rolled back whole; the third never ran"
    assert [db.session.get(Act, a.id).status for a in acts] == ["verified", "submitted", "submitted"]
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verification.failed")).one()
    assert failed.details["error"].startswith("time_limit:")

    shown = browser("op").get(f"/reports/verification/{run_id}").get_data(as_text=True)
    assert 'id="run-failed"' in shown and "ran longer than the time limit for background jobs" in shown
    assert "limit 60 s (JOB_TIME_LIMIT_SECONDS)" in shown, "the technical detail apart"


def test_a_run_within_its_limit_is_not_stopped(app_ctx, country, tiny_limit):
    _month(country, schools=3)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()

        def quick_chunks(step: str) -> None:
            if step == "chunk":
                frozen.advance(seconds=15)

        assert reports.run_month_verification(run.id, chunk_acts=1, on_step=quick_chunks).status == "done"


def test_an_import_past_its_time_limit_fails_with_its_reason(app_ctx, tmp_path, tiny_limit, uploads,
                                                             monkeypatch, browser):
    _operator(app_ctx)
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    + "".join(f"{iin(n)},Student {n},950440001673,private,5,2026-09-01\n" for n in range(1, 7)))
    monkeypatch.setattr(importers, "BATCH", 2)
    with clock.FrozenClock(NOW) as frozen:
        real = importers.upsert

        def slow_batches(*args, **kwargs):
            frozen.advance(seconds=40)
            return real(*args, **kwargs)

        monkeypatch.setattr(importers, "upsert", slow_batches)
        job = create_import("nedb", "nedb.csv", source=path)
        db.session.commit()
        assert run_import(job.id) is None

    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status == "failed" and job.message.startswith("time_limit:ran 80 s"), job.message
    assert job.lease_expires_at is None and not stored_path(job).exists()
    assert db.session.scalar(select(db.func.count(NedbEnrollment.id))) == 2, "the first batch stayed, not the second"
    shown = browser("op").get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert 'id="import-failed"' in shown and "the import ran longer than the time limit" in shown
