"""What every background job row shares: its state, who started it, when, its progress — and its lease.

Jobs never hang. A worker *claims* a job by taking its lease (``lease_expires_at``, ``worker``) and renews it
with every committed chunk (:func:`heartbeat`). A worker that dies — a killed gunicorn worker, thread or Celery
worker — stops renewing; the background pass (:func:`reap_expired_jobs`) finds the expired lease and queues the
job again, to resume from its last committed chunk (``checkpoint``), or after ``JOB_MAX_ATTEMPTS`` runs marks it
failed with the reason. A job that was dispatched but never claimed (a lost message, a dead thread) is found the
same way: dispatching gives it a lease too (``JOB_QUEUE_TIMEOUT_SECONDS``). Claiming is one conditional UPDATE,
so two workers never run the same job, and a worker that lost its lease stops at its next heartbeat.

A run that keeps renewing but never ends (a loop re-reading the same chunk, a file with no end) is stopped too: past
``JOB_TIME_LIMIT_SECONDS`` since it was claimed, its next heartbeat raises :class:`TimeLimitExceeded` instead of
renewing; the chunk being written is rolled back with it and the job fails with the reason ``time_limit``.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, ForeignKey, String, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.engine.errors import Said
from app.i18n import N_

log = logging.getLogger(__name__)


class BackgroundJobMixin:
    # queued | running | done | failed | stopped (:data:`STOPPED`: a person stopped it, not a failure)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    message: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the lease: who runs the job and until when it counts as alive without a heartbeat
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)  # runs claimed so far
    checkpoint: Mapped[dict | None] = mapped_column(JSON)  # where a resumed run goes on (job-specific)

    @property
    def stalled_since(self) -> datetime | None:
        """When a queued or running job's worker last gave a sign of life, if its lease has expired since (a
        killed worker, a lost message): the page says so instead of "running 53%" for ever. The reaper sends
        the job again; None while the job is alive or finished."""
        if self.status not in ("queued", "running") or self.lease_expires_at is None:
            return None
        expires = self.lease_expires_at if self.lease_expires_at.tzinfo else self.lease_expires_at.replace(tzinfo=UTC)
        now = clock.now()
        if now <= expires <= latest_believable_lease(now):
            return None
        last = self.heartbeat_at or self.started_at or self.created_at
        return last if last is None or last.tzinfo else last.replace(tzinfo=UTC)

    def _progress(self, done: int, total: int) -> int:
        if self.status == "done":
            return 100
        return int(100 * done / total) if total else 0


#: A run the operator stopped before its end (``flask verify-month`` or ``flask import-…`` and Ctrl-C): a state of its
#: own, not "failed" — the cockpit, the job lists and /metrics had shown a failure where a person chose to stop. Final
#: as done and failed are: no worker claims it and the background pass never resumes it (both take queued or running
#: jobs only); the operator starts the work again as after a failure (a new run of the month, the file uploaded again).
STOPPED = "stopped"
#: the states a job ends in
FINISHED = ("done", "failed", STOPPED)


class LeaseLost(Exception):
    """Another worker holds the job now (this one was presumed dead): stop without touching it."""


class TimeLimitExceeded(Exception):
    """The run went on past ``JOB_TIME_LIMIT_SECONDS``: it stops at this heartbeat, the chunk it was about to commit
    rolled back, and the job fails with ``code:detail`` as its message (shown through :data:`FAILURE_REASONS`)."""

    code = "time_limit"

    def __init__(self, detail: str):
        super().__init__(f"{self.code}:{detail}")
        self.detail = detail


class RecordHeld(Said, RuntimeError):
    """A background job's statement waited for a row another transaction held past ``JOB_LOCK_TIMEOUT_SECONDS``
    (app.database.limit_lock_waits) — an official's decision left open, a long report: what it was writing is rolled
    back and, kept on an incident, read in its reader's language; the technical sentence stays its detail."""

    def __init__(self, seconds: float):
        super().__init__(f"a row was held by another transaction for more than {seconds:g} s (lock timeout)")
        self.msgid = N_("Another transaction kept this record locked for more than %(seconds)s s (a decision left "
                        "open, a long report), so it was not checked. Retry once that transaction has ended.")
        self.values = {"seconds": f"{seconds:g}"}


def explained(err: BaseException) -> BaseException:
    """``err`` as a background job keeps it on an incident: a lock wait given up (PostgreSQL's lock_timeout, SQLSTATE
    55P03) as :class:`RecordHeld` caused by it; anything else as it is."""
    from app.database import lock_wait_given_up

    if not lock_wait_given_up(err):
        return err
    held = RecordHeld(_setting("JOB_LOCK_TIMEOUT_SECONDS", 10))
    held.__cause__ = err
    return held


#: Why the job machinery failed a job (its ``message`` starts "code:"), in the reader's language. The import page
#: has its own list with these codes in it (app/registry/importers.py REASONS).
FAILURE_REASONS = {
    "worker_lost": _l("the worker running it stopped responding; start it again"),
    "time_limit": _l("it ran longer than the time limit for background jobs and was stopped; start it again, or ask "
                     "the administrator to raise the limit"),
    "interrupted": _l("it was stopped on the command line (Ctrl-C) before its end; the acts checked before that keep "
                      "their check, start it again to verify the whole month"),
}


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def lease_seconds() -> int:
    return _setting("JOB_LEASE_SECONDS", 120)


def time_limit_seconds() -> int:
    """How long one run of a job may go on from its claim (``JOB_TIME_LIMIT_SECONDS``)."""
    return _setting("JOB_TIME_LIMIT_SECONDS", 7200)


def worker_id() -> str:
    """This process (and thread): a lease names its holder."""
    import threading

    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def claim(job) -> bool:
    """Take the job's lease, in a transaction of its own (committed): True when this worker runs it now. A job
    is claimable when queued, or running with an expired lease; anything else (done, failed, or alive
    elsewhere) is left alone."""
    from app.extensions import db

    model, now = type(job), clock.now()
    me = worker_id()
    claimed = db.session.execute(
        update(model).where(model.id == job.id, or_(
            model.status == "queued",
            (model.status == "running") & (model.lease_expires_at.is_(None) | (model.lease_expires_at < now))))
        .values(status="running", worker=me, heartbeat_at=now, started_at=now, attempts=model.attempts + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    db.session.refresh(job)
    return claimed == 1


def heartbeat(job, time_limit: bool = True, session=None) -> None:
    """Renew the lease with the chunk being committed (in the caller's transaction). Raises
    :class:`LeaseLost` when the job was given to another worker meanwhile, and :class:`TimeLimitExceeded` when
    this run has gone on past ``JOB_TIME_LIMIT_SECONDS`` (the caller rolls the chunk back and fails the job).

    ``time_limit=False``: the work a failing job still owes for what it committed (a failed import verifying again
    the acts its committed batches changed) — bounded, and stopping it would leave that half done.

    ``session``: renew in that session's transaction instead (the caller commits it) — for a job whose reading holds
    ``db.session`` in one long transaction (the audit-trail check reads one snapshot, app/audit/checks.py)."""
    from app.extensions import db

    model, now = type(job), clock.now()
    renewed = (session or db.session).execute(
        update(model).where(model.id == job.id, model.worker == job.worker, model.status == "running")
        .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False)).rowcount
    if renewed != 1:
        raise LeaseLost(f"{model.__tablename__} {job.id}")
    started, limit = job.started_at, time_limit_seconds()
    if time_limit and started is not None:
        ran = now - (started if started.tzinfo else started.replace(tzinfo=UTC))
        if ran > timedelta(seconds=limit):
            log.warning("%s %s: ran %s, past its time limit of %s s; stopped", model.__tablename__, job.id, ran,
                        limit)
            raise TimeLimitExceeded(f"ran {int(ran.total_seconds())} s, limit {limit} s (JOB_TIME_LIMIT_SECONDS)")


def release(job) -> None:
    """The job is finished (done or failed): nobody holds it any more. The caller commits."""
    job.lease_expires_at = None
    job.heartbeat_at = clock.now()


def queue_timeout() -> int:
    return _setting("JOB_QUEUE_TIMEOUT_SECONDS", 600)


def mark_dispatched(job) -> None:
    """A job handed to a runner must be claimed within ``JOB_QUEUE_TIMEOUT_SECONDS``, or the reaper sends it
    again. The caller commits."""
    job.lease_expires_at = clock.now() + timedelta(seconds=queue_timeout())


def latest_believable_lease(now: datetime) -> datetime:
    """No lease is ever given for longer than the lease or the queue timeout. One further ahead than twice that was
    written by a clock that ran ahead (corrected since) or by a host whose clock is far off: waiting for it would
    leave the job "running" — or queued — for as long as the clock was wrong (a day, a year), with nobody told.
    Such a lease counts as expired; a worker still alive behind it loses the job at its next heartbeat, and the
    run sent again resumes from the last committed chunk."""
    return now + 2 * timedelta(seconds=max(lease_seconds(), queue_timeout()))


def lease_lost(model, now: datetime):
    """A job's lease has run out — or lies further ahead than any lease is ever given
    (:func:`latest_believable_lease`): the reaper requeues such a job, /metrics counts it stalled."""
    return or_(model.lease_expires_at < now, model.lease_expires_at > latest_believable_lease(now))


def expired_jobs(model, now: datetime | None = None) -> list:
    """Queued or running jobs whose lease is lost (:func:`lease_lost`)."""
    from app.extensions import db

    now = now or clock.now()
    return list(db.session.scalars(select(model).where(model.status.in_(("queued", "running")),
                                                       lease_lost(model, now))
                                   .order_by(model.id).limit(100)))


def reap_expired_jobs() -> int:
    """The background pass: every job whose lease expired (its worker died, or its message was lost) is queued
    again to resume, or — after ``JOB_MAX_ATTEMPTS`` runs — marked failed with the reason. Each job in its own
    transaction. Returns how many were handled.

    Two passes may run at once (two tickers, a Celery beat and a ``flask ticker --once``) and read the same expired
    job. Each job's change is therefore one guarded UPDATE of the job still as this pass read it — same status,
    same lease, same number of runs: the first pass requeues it (or fails it) and writes the event; the other finds
    nothing to update and writes nothing. A plain write had requeued the job twice, with two ``job.requeued``
    events and two dispatches.

    A job given up may still owe work for what it committed (an import's re-verification of the acts its batches
    changed, :func:`app.registry.jobs.abandoned`). That is marked in the job's checkpoint with its failure, and done by
    this pass — or, when it fails too (the database away at that moment), by a later one: it had been logged and
    never done again."""
    from app.audit.operations import record_event
    from app.extensions import db
    from app.registry.jobs import JOB_MODELS, abandon_marks, dispatch, finish_abandoned

    max_attempts = _setting("JOB_MAX_ATTEMPTS", 3)
    handled = 0
    for name, model in JOB_MODELS().items():
        # what this pass read, kept as read: the guard below compares the row with it, never with a reload
        seen = [(job.id, job.status, job.worker, job.attempts, job.lease_expires_at, job.checkpoint)
                for job in expired_jobs(model)]
        for job_id, status, holder, attempts, expires, checkpoint in seen:
            try:
                now = clock.now()
                if attempts >= max_attempts:
                    # "code:detail", as the import page shows its reasons (app/registry/importers.py REASONS)
                    changes = {"status": "failed", "finished_at": now, "lease_expires_at": None, "heartbeat_at": now,
                               "message": f"worker_lost:{attempts} run(s), last on {holder or 'no worker'}"[:500]}
                    # what the job still owes for what it committed is marked with its failure, in this UPDATE: the
                    # follow-up below may fail too (the database away), and the next pass does it then
                    owed = abandon_marks(name, checkpoint)
                    if owed:
                        changes["checkpoint"] = {**(checkpoint or {}), **owed}
                    action = "job.abandoned"
                else:
                    changes = {"status": "queued", "lease_expires_at": now + timedelta(seconds=queue_timeout())}
                    action = "job.requeued"
                taken = db.session.execute(
                    update(model).where(model.id == job_id, model.status == status, model.attempts == attempts,
                                        model.lease_expires_at == expires)
                    .values(**changes).execution_options(synchronize_session=False)).rowcount
                if taken != 1:  # another pass handled it first, or its worker came back: not ours to touch
                    db.session.rollback()
                    log.info("%s %s: expired lease already handled elsewhere", model.__tablename__, job_id)
                    continue
                record_event("jobs", action, model.__tablename__, job_id, actor_id=None,
                             details={"worker": holder, "attempts": attempts, "checkpoint": checkpoint})
                db.session.commit()
                log.warning("%s %s: lease of %s expired; %s", model.__tablename__, job_id, holder, action)
                if action == "job.requeued":
                    dispatch(name, job_id)
                else:
                    _follow_up_abandoned(name, model, job_id)  # never raises: what fails is owed, done later
                handled += 1
            except Exception:
                db.session.rollback()
                log.exception("%s %s: expired lease not handled", model.__tablename__, job_id)
    return handled + finish_abandoned()


def _follow_up_abandoned(name: str, model, job_id: int) -> None:
    """What a job given up owes for its committed work (:func:`app.registry.jobs.abandoned`). Should it fail (the
    database away at that moment), the job keeps the mark its failure was written with, and a later pass does it
    (:func:`app.registry.jobs.finish_abandoned`)."""
    from app.database import error_first_line
    from app.extensions import db
    from app.registry.jobs import abandoned

    try:
        abandoned(name, db.session.get(model, job_id))
    except Exception as err:
        db.session.rollback()
        log.error("%s %s: given up; what it owes for its committed work failed (%s), a later pass does it",
                  model.__tablename__, job_id, error_first_line(err))
