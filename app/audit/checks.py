"""The audit page's check of the whole trail, run as a background job (:class:`app.audit.models.AuditCheck`).

The check walks every chain and compares every covered row (:func:`app.audit.operations.verify_chains_and_rows`, what
``flask verify-audit`` does without the anchors). At country scale that is minutes (benchmarks/audit_verify.py:
~15,000 events/s), longer than a web worker may take to answer: run inside the request, the administrator got a 502
from the proxy and no verdict. Now the page queues a check, one at a time, and it runs where imports and month-wide
verifications run (app/registry/jobs.py: a thread of the web process, or a Celery worker), leased like them
(app/jobs.py); the page shows its progress and then its verdict, kept with who started it and when.

The walk reads in chunks, each in a short transaction that ends with the check's progress and lease renewed
(app/audit/chunked_walk.py says why that is still a sound check); every ``CHECKPOINT_EVENTS`` events it saves where it
is (``checkpoint``). A check whose worker died is sent again by the background pass and goes on from there: with
runners dying now and then, a walk that restarted from the first event had never ended on a long trail.
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock, jobs
from app.audit import operations as audit
from app.audit.models import AuditCheck, AuditEvent
from app.database import error_first_line
from app.engine.errors import DomainRefused
from app.extensions import db

log = logging.getLogger(__name__)

CHAIN = "audit_check"
JOB = "tapsyrys.audit.check"
ACTIVE = ("queued", "running")
#: events walked between two checkpoints: a run sent again re-reads at most these (the checkpoint's size grows with the
#: rows events vouch for, so it is not written with every chunk)
CHECKPOINT_EVENTS = 50_000
#: problems kept with a verdict (and shown): the first ones, in the check's order; ``problem_count`` has them all and
#: ``flask verify-audit`` lists them all
PROBLEMS_KEPT = 1000


def active_check() -> AuditCheck | None:
    return db.session.scalars(select(AuditCheck).where(AuditCheck.status.in_(ACTIVE))
                              .order_by(AuditCheck.id.desc())).first()


def latest_check(status: str | None = None) -> AuditCheck | None:
    query = select(AuditCheck).order_by(AuditCheck.id.desc()).limit(1)
    if status is not None:
        query = query.where(AuditCheck.status == status)
    return db.session.scalars(query).first()


def start_audit_check(actor, dispatch_job: bool = True) -> tuple[AuditCheck, bool]:
    """Queue a check of the whole trail and hand it to the background; (the check, True). While one is queued or
    running — started by anyone — nothing is started: (that check, False). Audited as ``audit_check.started``."""
    running = active_check()
    if running is not None:
        return running, False
    actor_id = getattr(actor, "id", None)
    check = AuditCheck(scope="all", status="queued", total_events=0, checked_events=0, chains=0, problem_count=0,
                       problems=[], created_by_id=actor_id, created_at=clock.now())
    try:
        with db.session.begin_nested():  # the unique index decides between two starts at once
            db.session.add(check)
            db.session.flush()
    except IntegrityError:
        running = active_check()
        if running is None:  # the other start was rolled back meanwhile: say so, start nothing
            raise DomainRefused(_("Another check of the audit trail was being started at the same moment; "
                                  "try again.")) from None
        return running, False
    audit.record_event(CHAIN, "audit_check.started", "audit_check", check.id, actor_id=actor_id,
                       details={"scope": check.scope})
    if dispatch_job:
        db.session.commit()
        from app.registry.jobs import dispatch

        check.background_unreachable = not dispatch(JOB, check.id)
    return check, True


def run_audit_check(check_id: int) -> AuditCheck | None:
    """The job: walk the trail, keep the verdict, audit it (``audit_check.finished``; ``audit_check.failed`` when the
    check could not be made — no audit key, the time limit). A check no longer queued or running, or held alive by
    another worker, is left alone."""
    check = db.session.get(AuditCheck, check_id)
    if check is None or check.status not in ACTIVE:
        return check
    if not jobs.claim(check):
        return check
    from app.audit import chunked_walk

    try:
        check.total_events = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        saved = [(check.checkpoint or {}).get("events", 0)]

        def progress(walker) -> None:  # in the chunk's transaction, which the walk commits
            events = walker.report.events
            check.checked_events = events
            if events - saved[0] >= CHECKPOINT_EVENTS:
                check.checkpoint, saved[0] = chunked_walk.checkpoint(walker, PROBLEMS_KEPT), events
            jobs.heartbeat(check)  # LeaseLost, or TimeLimitExceeded past JOB_TIME_LIMIT_SECONDS

        report = audit.verify_chains_and_rows(on_chunk=progress, resume=check.checkpoint)
        db.session.rollback()  # the rows' snapshot: nothing was written in it
        check = db.session.get(AuditCheck, check_id)
        jobs.heartbeat(check, time_limit=False)  # still ours (the verdict is written by the lease's holder only)
        problem_count = len(report.problems) + report.problems_left_out
        check.chains, check.checked_events = report.chains, report.events
        check.total_events = max(check.total_events, report.events)
        check.problem_count = problem_count
        check.problems = [{"chain": p.chain, "seq": p.seq, "reason": p.reason} for p in report.problems[:PROBLEMS_KEPT]]
        check.status, check.finished_at, check.message, check.checkpoint = "done", clock.now(), None, None
        jobs.release(check)
        details = {"chains": report.chains, "events": report.events, "problems": problem_count}
        if report.problems:
            details["first_problem"] = str(report.problems[0])[:300]
        audit.record_event(CHAIN, "audit_check.finished", "audit_check", check.id, actor_id=check.created_by_id,
                           details=details)
        db.session.commit()
        return check
    except jobs.LeaseLost:  # another worker runs it now
        db.session.rollback()
        raise
    except Exception as err:
        db.session.rollback()
        from app.engine.runtime import database_unusable_now

        if database_unusable_now(err):
            # the database's moment, not the trail's: the check keeps its lease; once it expires the background pass
            # sends it again (its runner says so in one line)
            raise
        check = db.session.get(AuditCheck, check_id)
        if check is None or check.status != "running" or check.worker != jobs.worker_id():
            raise
        check.status, check.finished_at = "failed", clock.now()
        check.message = error_first_line(err)[:500]
        jobs.release(check)
        audit.record_event(CHAIN, "audit_check.failed", "audit_check", check.id, actor_id=check.created_by_id,
                           details={"error": check.message})
        db.session.commit()
        if isinstance(err, jobs.TimeLimitExceeded) or _said(err):
            log.warning("audit check %s failed: %s", check_id, check.message)
        else:
            log.exception("audit check %s failed", check_id)
        return check


def _said(err: BaseException) -> bool:
    """An audit key not configured: its own sentence says what to do, a traceback adds nothing."""
    from app.audit.keys import AuditKeyError

    return isinstance(err, AuditKeyError)
