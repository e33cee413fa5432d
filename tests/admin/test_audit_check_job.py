"""The audit page's check of the whole trail runs as a background job. Run inside the request it took as long as the
walk of every event — minutes at country scale (benchmarks/audit_verify.py: ~15,000 events/s), past a web worker's
timeout: the administrator got a 502 and no verdict. Now the page queues the check (one at a time), a runner takes it
— here a thread of this process (BACKGROUND_MODE=inprocess, the embedded default; a Celery worker runs the same
function) — and the page shows its progress and then the verdict, kept with who started it and when."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.extensions import db
from app.registry import jobs as runner
from tests.helpers import user


@pytest.fixture()
def threads(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "BACKGROUND_MODE", "inprocess")
    return app_ctx


def _checks() -> list:
    from app.audit.models import AuditCheck  # the job's row (migration 0034)

    db.session.expire_all()
    return list(db.session.scalars(select(AuditCheck).order_by(AuditCheck.id)))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_verdict_of_a_tampered_chain_is_shown_from_the_background_job(world, browser, threads):
    first = db.session.get(AuditEvent, db.session.scalar(select(func.min(AuditEvent.id))))
    chain, seq = first.chain, first.seq
    db.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(action="tampered"))
    db.session.commit()
    admin = browser("admin")

    started = admin.post("/admin/audit")
    assert started.status_code == 303, "the request queues the check and answers at once"
    assert runner.wait_for_inprocess_jobs(60)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert 'id="audit-problems"' in page and f"<code>{chain}</code>" in page
    assert "content does not match its hash (tampered)" in page
    assert f"Started by {user('admin').full_name}" in page

    [check] = _checks()
    assert (check.status, check.attempts, check.created_by_id) == ("done", 1, user("admin").id)
    assert check.worker and check.lease_expires_at is None, "claimed by a runner under a lease, released at its end"
    assert check.problems[0] == {"chain": chain, "seq": seq, "reason": "content does not match its hash (tampered)"}
    assert check.problem_count == len(check.problems) and check.chains > 1
    assert check.checked_events == check.total_events > 0
    # the start and the verdict are audited, with who started the check
    [start], [verdict] = _events("audit_check.started"), _events("audit_check.finished")
    assert start.actor_id == verdict.actor_id == user("admin").id and start.object_id == verdict.object_id == check.id
    assert verdict.details["problems"] == check.problem_count
    assert verdict.details["first_problem"] == f"{chain} #{seq}: content does not match its hash (tampered)"


def test_a_second_start_while_one_runs_starts_nothing_and_shows_the_running_one(world, browser, threads,
                                                                                monkeypatch):
    import app.audit.operations as trail

    real, walking, go_on = getattr(trail, "verify_chains_and_rows", None), threading.Event(), threading.Event()

    def held(**kwargs):  # the walk waits until the test has clicked again (nothing else changes)
        walking.set()
        assert go_on.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(trail, "verify_chains_and_rows", held, raising=False)
    admin, auditor = browser("admin"), browser("auditor")
    try:
        assert admin.post("/admin/audit").status_code == 303
        assert walking.wait(30), "the runner took the check"
        [check] = _checks()
        running = admin.get("/admin/audit").get_data(as_text=True)
        assert "job-status-running" in running and f"/admin/audit/checks/{check.id}/progress" in running
        assert 'id="audit-check-counts"' in running
        progress = admin.get(f"/admin/audit/checks/{check.id}/progress")
        assert progress.status_code == 200 and "job-status-running" in progress.get_data(as_text=True)

        for clicker in (admin, auditor):  # a second click, and another reader's
            assert clicker.post("/admin/audit").status_code == 303
            shown = clicker.get("/admin/audit").get_data(as_text=True)
            assert "A check of the audit trail is already running; it is shown below." in shown
            assert f'id="audit-check-{check.id}"' in shown
        assert [c.id for c in _checks()] == [check.id], "nothing else was started"
        assert len(_events("audit_check.started")) == 1
    finally:
        go_on.set()
    assert runner.wait_for_inprocess_jobs(60)
    [check] = _checks()
    assert check.status == "done" and check.attempts == 1
    done = admin.get(f"/admin/audit/checks/{check.id}/progress").get_data(as_text=True)
    assert 'id="audit-ok"' in done and "hx-get" not in done.split('id="job-announce"')[0], "the polling stops"
    assert len(_events("audit_check.finished")) == 1


def test_only_administrators_and_auditors_start_or_read_the_check(world, browser, threads):
    admin = browser("admin")
    assert admin.post("/admin/audit").status_code == 303
    assert runner.wait_for_inprocess_jobs(60)
    [check] = _checks()
    for login in ("operator", "owner", "accountant", "official"):
        other = browser(login)
        assert other.get("/admin/audit").status_code == 403, login
        assert other.post("/admin/audit").status_code == 403, login
        assert other.get(f"/admin/audit/checks/{check.id}/progress").status_code == 403, login
    assert [c.id for c in _checks()] == [check.id] and len(_events("audit_check.started")) == 1
    # the auditor reads it and may run it, as before
    assert 'id="audit-ok"' in browser("auditor").get("/admin/audit").get_data(as_text=True)


def test_a_check_whose_worker_died_is_sent_again_by_the_background_pass_and_gives_its_verdict(threads):
    """Leased as the other jobs are: a runner that took the check and died (a killed worker) stops renewing, the
    background pass finds the lease expired and sends the check again; it walks the trail and gives its verdict once."""
    from datetime import UTC, datetime

    from app import clock, jobs
    from app.audit import checks
    from app.background import tick

    with clock.FrozenClock(datetime(2026, 11, 10, 9, 0, tzinfo=UTC)) as frozen:
        check, started = checks.start_audit_check(actor=None, dispatch_job=False)
        db.session.commit()
        assert started and jobs.claim(check)  # ... and its runner is killed before its verdict
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(threads)  # the reaper sends it again, to a thread of this process
        assert runner.wait_for_inprocess_jobs(60)
    [check] = _checks()
    assert (check.status, check.attempts, check.problem_count) == ("done", 2, 0)
    assert check.checked_events == check.total_events >= 1
    assert [e.object_id for e in _events("job.requeued")] == [check.id]
    assert [e.object_id for e in _events("audit_check.finished")] == [check.id]


def test_a_check_past_the_time_limit_fails_with_the_reason_and_no_verdict(world, browser, threads, monkeypatch):
    """A walk that goes on past JOB_TIME_LIMIT_SECONDS is stopped at its next renewal, as every job is: the page says
    the check gave no verdict and why; the failure is audited."""
    from datetime import UTC, datetime

    import app.audit.operations as trail
    from app import clock, jobs

    real = trail.verify_chains_and_rows
    with clock.FrozenClock(datetime(2026, 11, 10, 9, 0, tzinfo=UTC)) as frozen:
        def late(**kwargs):  # the walk begins after the limit has passed: its first renewal stops it
            frozen.advance(seconds=jobs.time_limit_seconds() + 1)
            return real(**kwargs)

        monkeypatch.setattr(trail, "verify_chains_and_rows", late)
        admin = browser("admin")
        assert admin.post("/admin/audit").status_code == 303
        assert runner.wait_for_inprocess_jobs(60)
        page = admin.get("/admin/audit").get_data(as_text=True)
    assert 'id="audit-check-failed"' in page and "ran longer than the time limit" in page
    assert 'id="audit-ok"' not in page and 'id="audit-problems"' not in page
    [check] = _checks()
    assert check.status == "failed" and check.message.startswith("time_limit:") and check.lease_expires_at is None
    [failed] = _events("audit_check.failed")
    assert failed.object_id == check.id and failed.actor_id == user("admin").id
    assert _events("audit_check.finished") == []
