"""Running long operator jobs (registry imports, month-wide verification, the audit page's check of the trail) off
the request.

``BACKGROUND_MODE``: ``inprocess`` — a daemon thread in the web process (the embedded default);
``celery`` — a task on the Celery workers (scale-out, Redis broker); anything else (tests: ``none``) —
run immediately, in the caller's request. The job functions read everything they need from the
database by id, so the three modes run exactly the same code. Every job holds a lease while it runs
(:mod:`app.jobs`): a job whose runner died is found by the background pass and sent here again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app

log = logging.getLogger(__name__)


def _job_functions() -> dict[str, Callable[[int], None]]:
    from app.audit.checks import run_audit_check
    from app.registry.operations import run_import
    from app.reports.operations import run_month_verification

    return {"tapsyrys.registry.import": run_import, "tapsyrys.reports.verify_month": run_month_verification,
            "tapsyrys.audit.check": run_audit_check}


def JOB_MODELS() -> dict[str, type]:  # noqa: N802 - a constant, built lazily (the models import the app)
    """Job name → its row's model (each has :class:`app.jobs.BackgroundJobMixin`)."""
    from app.audit.models import AuditCheck
    from app.registry.models import RegistryImport
    from app.reports.models import VerificationRun

    return {"tapsyrys.registry.import": RegistryImport, "tapsyrys.reports.verify_month": VerificationRun,
            "tapsyrys.audit.check": AuditCheck}


def run_job(app: Flask, name: str, job_id: int) -> None:
    from app.background import database_unavailable
    from app.database import limit_lock_waits
    from app.extensions import db
    from app.jobs import LeaseLost
    from app.observability import correlate, observe_job

    with app.app_context():
        limit_lock_waits(app.config.get("JOB_LOCK_TIMEOUT_SECONDS", 10))
        correlate(f"job{job_id}")  # every line of this run carries it (LOG_FORMAT=json: request_id)
        try:
            _job_functions()[name](job_id)
        except LeaseLost:  # presumed dead and handed on: the other runner owns the job now
            db.session.rollback()
            log.warning("background job %s(%s): lease lost, stopped", name, job_id)
        except Exception as err:  # the job records its own failure; never take the worker down
            db.session.rollback()
            if condition := database_unavailable(err):
                # PostgreSQL restarted, the connections killed, SQLite locked: the job keeps its lease and checkpoint
                # and the background pass resumes it when the lease expires — one line, a traceback points at no bug
                log.warning("background job %s(%s) stopped: the database could not be used (%s); it resumes after its "
                            "last committed chunk when its lease expires", name, job_id, condition)
            else:
                log.exception("background job %s(%s) failed", name, job_id)
        try:
            observe_job(name, db.session.get(JOB_MODELS()[name], job_id))
        except Exception as err:  # the database still away: no duration to observe, and nothing to raise
            db.session.rollback()
            log.debug("background job %s(%s): not observed (%s)", name, job_id, err)


def abandoned(name: str, job) -> None:
    """A job given up after its workers died (app.jobs.reap_expired_jobs): an import's committed batches are followed
    by the re-verification of the acts they changed, and its file goes."""
    if name == "tapsyrys.registry.import":
        from app.registry.operations import abandon_import

        abandon_import(job)


def abandon_marks(name: str, checkpoint: dict | None) -> dict:
    """What a job given up still owes (:func:`abandoned`), to mark in its checkpoint as it is failed: {} when
    nothing."""
    if name == "tapsyrys.registry.import":
        from app.registry.operations import abandon_marks as import_marks

        return import_marks(checkpoint)
    return {}


def finish_abandoned() -> int:
    """The background pass: what jobs given up still owe, done again where it had failed (:func:`abandon_marks`);
    how many were finished."""
    from app.registry.operations import reverify_owed_imports

    return reverify_owed_imports()


def background_unreachable_message() -> str:
    """What the pages that queue a job say when :func:`dispatch` could not reach the broker."""
    from flask_babel import gettext as _

    return _("The job is saved and queued, but the background service cannot be reached just now: it starts by "
             "itself when the service is back. Do not start it again.")


def dispatch(name: str, job_id: int) -> bool:
    """Hand a committed job to the background; False when the broker cannot be reached. The job is saved either
    way and stays queued: a worker's reaper sends it again once its dispatch has waited JOB_QUEUE_TIMEOUT_SECONDS
    (app.jobs). The caller says so — the page had answered 500 "nothing was saved" for a job that then ran."""
    from app.extensions import db
    from app.jobs import mark_dispatched

    app = current_app._get_current_object()
    mode = app.config.get("BACKGROUND_MODE", "inprocess")
    job = db.session.get(JOB_MODELS()[name], job_id)
    if job is not None and mode in ("celery", "inprocess"):
        mark_dispatched(job)
        db.session.commit()
    if mode == "celery":
        try:
            celery_app(app).send_task(name, args=[job_id])
        except Exception as err:  # kombu's OperationalError and whatever a broker client raises
            # one line: the broker's moment (a traceback per queued job and per pass while it is away points at no bug)
            words = str(err).splitlines()[0] if str(err) else type(err).__name__
            log.error("job %s %s: the broker cannot be reached (%s); the job stays queued", name, job_id, words)
            return False
    elif mode == "inprocess":
        thread = threading.Thread(target=run_job, args=(app, name, job_id), name=f"job-{name}-{job_id}", daemon=True)
        with _THREADS_LOCK:
            _THREADS[:] = [t for t in _THREADS if t.is_alive()]
            _THREADS.append(thread)
        thread.start()
    else:
        _job_functions()[name](job_id)
    return True


_THREADS: list[threading.Thread] = []  # this process's in-process job runners (daemon threads)
_THREADS_LOCK = threading.Lock()


def wait_for_inprocess_jobs(timeout: float | None = None) -> bool:
    """Wait for the jobs this process's in-process runners are running; True when none is left. A short-lived
    process that dispatched a job (``flask ticker --once`` requeueing an expired one) must not exit under it: its
    daemon thread would die with the process, after claiming the job — one of the job's ``JOB_MAX_ATTEMPTS``
    spent for nothing and its lease held until it expired again."""
    with _THREADS_LOCK:
        pending = [t for t in _THREADS if t.is_alive()]
    for thread in pending:
        thread.join(timeout)
    return not any(t.is_alive() for t in pending)


def celery_app(app: Flask):
    """The web process's Celery client (created once per Flask app)."""
    if "tapsyrys_celery" not in app.extensions:
        from app.background import make_celery

        app.extensions["tapsyrys_celery"] = make_celery(app)
    return app.extensions["tapsyrys_celery"]


def register_celery_tasks(celery, app: Flask) -> None:
    """Called by :func:`app.background.make_celery`: the workers' side of :func:`dispatch`."""
    for name in ("tapsyrys.registry.import", "tapsyrys.reports.verify_month", "tapsyrys.audit.check"):
        def task(job_id: int, _name: str = name) -> None:
            run_job(app, _name, job_id)

        celery.task(name=name, shared=False)(task)
