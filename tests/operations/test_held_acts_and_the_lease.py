"""Several acts of one chunk of the month-wide verification held by transactions left open. The chunk fails as a whole
and its acts are checked one by one, each held act waiting the lock limit (``JOB_LOCK_TIMEOUT_SECONDS``, 10 s) — while
the job's lease (``JOB_LEASE_SECONDS``, 120 s) was renewed only per chunk: a dozen held acts outlasted it, the
background pass gave the run to another worker while this one was still verifying it, and the two wrote the same acts.
Now the lease is renewed before each act checked alone.

The lock waits are told, not waited: each held act's statement gives up as PostgreSQL's lock_timeout does (SQLSTATE
55P03) after the frozen clock has moved on by the lock limit; another process reads the run's committed lease before
each check, as the reaper would."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from app import clock, jobs
from app.engine.incidents import Incident
from app.extensions import db
from app.reports import operations as reports
from app.reports.models import VerificationRun
from app.reports.operations import run_month_verification, start_month_verification
from tests.operations.conftest import START
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period

LEASE, LOCK_WAIT = 30, 20


class _LockNotAvailable(Exception):
    """What psycopg raises when a statement gives up waiting for a lock."""

    sqlstate = "55P03"


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=START.tzinfo)


def test_held_acts_checked_one_by_one_never_outlast_the_lease(world, app_ctx, monkeypatch):
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status, act.verified_at = "submitted", None
    db.session.commit()
    held = {acts[0].id, acts[1].id}
    assert len(acts) > len(held), "acts that are not held, after the held ones"
    monkeypatch.setitem(app_ctx.config, "JOB_LEASE_SECONDS", LEASE)
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", LOCK_WAIT)
    reaper = create_engine(app_ctx.config["SQLALCHEMY_DATABASE_URI"])  # another process, reading what is committed
    real_verify, seen = reports.verify_acts, []

    def verify_meeting_held_acts(chunk, **kwargs):
        with reaper.connect() as other:
            lease = other.execute(select(VerificationRun.lease_expires_at)).scalar_one()
        seen.append((clock.now(), _aware(lease)))
        if held & {act.id for act in chunk}:
            frozen.advance(seconds=LOCK_WAIT)  # the statement waited the lock limit, then gave up
            raise OperationalError("UPDATE act SET lock_version=…", {},
                                   _LockNotAvailable("canceling statement due to lock timeout"))
        return real_verify(chunk, **kwargs)

    monkeypatch.setattr(reports, "verify_acts", verify_meeting_held_acts)
    try:
        with clock.FrozenClock(START) as frozen:
            run = start_month_verification(acts[0].period, actor=None, dispatch_job=False)
            db.session.commit()
            run = run_month_verification(run.id)  # one chunk: every act of the month
            expired = [(now, lease) for now, lease in seen if lease < now]
            assert not expired, f"the lease ran out while the run was still working: {expired}"
            assert jobs.expired_jobs(VerificationRun) == []
    finally:
        reaper.dispose()

    assert len(seen) == 1 + len(acts), "the chunk, then each act alone"
    assert (run.status, run.attempts, run.processed_acts) == ("done", 1, len(acts))
    assert all(f"#{act_id}" in run.message for act_id in held), run.message
    db.session.expire_all()
    for act in _month_acts(acts[0].period):
        assert (act.verified_at is None) == (act.id in held), act.id
    assert len(db.session.scalars(select(Incident)).all()) == len(held)


def test_acts_reverified_one_by_one_after_an_import_renew_its_lease_before_each(world, app_ctx, monkeypatch):
    """The same fallback verifies again the acts an import changed, under the import job's lease."""
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status = "submitted" if act.status not in ("submitted", "verified") else act.status
    db.session.commit()
    renewed = []

    def verify_failing_as_a_chunk(chunk, **kwargs):
        if len(chunk) > 1:
            raise OperationalError("UPDATE act …", {}, _LockNotAvailable("canceling statement due to lock timeout"))
        return real_verify(chunk, **kwargs)

    real_verify = reports.verify_acts
    monkeypatch.setattr(reports, "verify_acts", verify_failing_as_a_chunk)

    class Job:
        id, created_by_id = 7, None

    reports.reverify_after_import(Job(), [act.id for act in acts], renew=renewed.append)
    assert len(renewed) == len(acts) + 1, "before each act checked alone, and with the chunk"
