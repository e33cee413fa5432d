"""Background work: firing due timers, announcing new tasks, SLA notices, the e-mail outbox, and (SQLite)
checkpointing the write-ahead log.

Embedded mode runs a daemon thread in the web process; scale-out mode runs the same function from a
Celery worker (beat schedule) with Redis as broker. Both call :func:`tick`.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def tick(app: Flask) -> int:
    """One pass of background work; returns how many instances had timers fired."""
    from app.audit.anchors import anchor_if_due
    from app.database import checkpoint
    from app.engine.runtime import fire_due_timers
    from app.notifications.operations import tick as notify_tick

    with app.app_context():
        fired = fire_due_timers()
        notify_tick()
        anchor_if_due()  # signed checkpoint of every audit chain head, outside the database
        checkpoint()
        return fired


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


def make_celery(app: Flask):
    """Celery app for the scale-out mode: ``celery -A app.celery_worker worker -B``."""
    from celery import Celery

    celery = Celery("tapsyrys", broker=app.config["CELERY_BROKER_URL"])
    celery.conf.beat_schedule = {
        "fire-due-timers": {"task": "tapsyrys.tick", "schedule": app.config["TICKER_INTERVAL_SECONDS"]},
    }

    @celery.task(name="tapsyrys.tick")
    def tick_task() -> int:
        return tick(app)

    from app.registry.jobs import register_celery_tasks

    register_celery_tasks(celery, app)  # registry imports, month-wide verification
    return celery
