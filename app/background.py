"""Background work: firing due timers, announcing new tasks, SLA notices, the e-mail outbox, storing the signed
documents of contracts signed before they were kept, and (SQLite) checkpointing the write-ahead log.

Embedded mode runs a daemon thread in the web process; scale-out mode runs the same function from a
Celery worker (beat schedule) with Redis as broker. Both call :func:`tick`.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def tick(app: Flask, failed: list[str] | None = None) -> int:
    """One pass of background work; returns how many instances had timers fired (and adds each part that failed,
    with its reason, to ``failed``: ``flask ticker --once`` exits 1 on them — it had said "fired 0", exit 0, with
    every part failed on a locked database).

    Each part runs on its own: one that raises is rolled back and logged, and the others still run (a broken
    outbox must not stop timers, nor a poisoned instance the announcements). Within the parts, each instance,
    batch or job is isolated again (see :func:`app.engine.runtime.fire_due_timers`)."""
    from app.audit.anchors import anchor_if_due
    from app.database import checkpoint, limit_lock_waits
    from app.engine.incidents import retry_due_incidents
    from app.engine.runtime import fire_due_timers
    from app.jobs import reap_expired_jobs
    from app.notifications.operations import tick as notify_tick
    from app.observability import background_pass

    with app.app_context(), background_pass() as outcome:
        # a row held by a transaction left open (an official's request, a psql session) stops the part that needs it,
        # not the whole pass for as long as it stays open (app.database.limit_lock_waits)
        limit_lock_waits(app.config.get("JOB_LOCK_TIMEOUT_SECONDS", 10))
        fired = _part(outcome, "timers", fire_due_timers) or 0
        _part(outcome, "retries", retry_due_incidents)
        _part(outcome, "notifications", notify_tick)
        _part(outcome, "jobs", reap_expired_jobs)
        _part(outcome, "public figures", _refresh_public)
        _part(outcome, "signed documents", _store_signed_documents)
        _part(outcome, "audit anchor", anchor_if_due)  # signed checkpoint of every chain head, outside the database
        _part(outcome, "checkpoint", checkpoint)
        if failed is not None:
            failed.extend(outcome.get("reasons", []))
        return fired


def _refresh_public() -> None:
    """The public portal's caches (figures, country-wide downloads, OCDS releases and records): rebuilt where audit
    events since the last pass touched them, nothing when there were none (app.public.cache), and committed — or,
    while another pass rebuilds them, left to that one (app.public.rebuild: one rebuild at a time)."""
    from app.public.rebuild import rebuild_public

    outcome = rebuild_public()
    if not outcome.skipped:
        log.info("public caches: %s", outcome)


def _store_signed_documents() -> None:
    """The bytes of contracts signed before they were kept (migration 0030), a few per pass, each in its own
    transaction: pages and the API only read them (app.contracts.documents.store_pending)."""
    from app.contracts.documents import store_pending

    counts = store_pending()
    if any(counts.values()):
        log.info("signed documents: %s", counts)


def _part(outcome: dict, name: str, func):
    from app.extensions import db

    try:
        return func()
    except Exception as err:
        db.session.rollback()
        outcome.setdefault("failed", []).append(name)
        condition = database_unavailable(err) or _said_in_one_sentence(err)
        outcome.setdefault("reasons", []).append(f"{name} ({condition or type(err).__name__})")
        if condition:
            log.error("background pass: %s failed: %s; the other parts go on", name, condition)
        else:
            log.exception("background pass: %s failed; the other parts go on", name)
        return None


def _said_in_one_sentence(err: BaseException) -> str | None:
    """An audit key that is not configured, an anchor file this process may not read: their own sentence says what to
    do, a traceback adds nothing."""
    from app.audit.anchors import AnchorUnreadable
    from app.audit.keys import AuditKeyError

    return str(err) if isinstance(err, AuditKeyError | AnchorUnreadable) else None


def database_unavailable(err: BaseException) -> str | None:
    """The database's own first line when it could not be used (down, locked, read-only) — the moment's
    condition, said in one log line; a traceback (four per pass on a locked SQLite file) points at no bug."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(err, OperationalError):
        return None
    from app.database import error_first_line

    return error_first_line(err)


def start_inprocess_ticker(app: Flask) -> threading.Thread:
    interval = app.config["TICKER_INTERVAL_SECONDS"]
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                fired = tick(app)
                if fired:
                    log.info("ticker: fired timers on %s instance(s)", fired)
            except Exception:  # the ticker must survive one bad tick and try again next time
                log.exception("ticker failed")

    thread = threading.Thread(target=loop, name="tapsyrys-ticker", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


#: seconds a read of the broker (Redis) or a connection to it may take before it counts as unreachable
BROKER_SOCKET_TIMEOUT = 5


def make_celery(app: Flask):
    """Celery app for the scale-out mode: ``celery -A app.celery_worker worker -B``."""
    from celery import Celery

    celery = Celery("tapsyrys", broker=app.config["CELERY_BROKER_URL"])
    # The app configures logging itself (app/observability.py: text or JSON lines with request and user ids);
    # a worker must not replace the root logger's handlers with its own.
    celery.conf.worker_hijack_root_logger = False
    # A broker that accepts and never answers (a Redis hung or stopped, a half-open network) had held the request that
    # queued a job — its job already saved — and /readyz for ever: every read of the broker gives up after a while
    # (the request then says the job is saved and starts once the service is back; app.registry.jobs.dispatch).
    celery.conf.broker_transport_options = {"socket_timeout": BROKER_SOCKET_TIMEOUT,
                                            "socket_connect_timeout": BROKER_SOCKET_TIMEOUT}
    # A worker takes a message only when a process of its pool is free. With messages fetched ahead (Celery's
    # default), a worker running a job held the background passes queued behind it unacknowledged, and a broker lost
    # meanwhile (Redis restarted) ended the worker: closing the lost connection, kombu 5.7 puts those messages back
    # through it and fails ("Unrecoverable error: AttributeError: 'NoneType' object has no attribute 'hostname'") —
    # no job, no pass ran again until someone restarted the worker by hand.
    celery.conf.worker_disable_prefetch = True
    interval = app.config["TICKER_INTERVAL_SECONDS"]
    # A pass not started within its interval is dropped (the next one does its work): while no worker ran, beat's
    # passes piled up in the broker — 120 an hour — and a worker that came back ran them all, several at once, with
    # the operators' imports and month-wide verifications queued behind them.
    celery.conf.beat_schedule = {
        "fire-due-timers": {"task": "tapsyrys.tick", "schedule": interval, "options": {"expires": interval}},
    }

    @celery.task(name="tapsyrys.tick", shared=False)  # each Celery app its own tasks, bound to its own Flask app
    def tick_task() -> int:
        return tick(app)

    from app.registry.jobs import register_celery_tasks

    register_celery_tasks(celery, app)  # registry imports, month-wide verification, the audit-trail check
    return celery
