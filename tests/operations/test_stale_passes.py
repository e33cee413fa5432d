"""Background passes that beat sent while no worker ran are dropped, not run one after another (several at once)
when a worker comes back: each pass expires after its interval, and the next one does its work. They piled up in
the broker — 17 in 20 s at a 1 s interval, 120 an hour at the default 30 s — and a returning worker ran them all,
the operators' registry imports and month-wide verifications queued behind them."""

from __future__ import annotations

import time

import redis
from celery.contrib.testing.worker import start_worker

from app import background

BROKER = "redis://127.0.0.1:6379/13"


def test_passes_missed_while_no_worker_ran_are_dropped(app_ctx, monkeypatch):
    redis.Redis.from_url(BROKER).flushdb()
    monkeypatch.setitem(app_ctx.config, "CELERY_BROKER_URL", BROKER)
    monkeypatch.setitem(app_ctx.config, "TICKER_INTERVAL_SECONDS", 1)
    ran = []
    monkeypatch.setattr(background, "tick", lambda app: ran.append(time.monotonic()) or 0)
    celery = background.make_celery(app_ctx)
    entry = celery.conf.beat_schedule["fire-due-timers"]

    for _ in range(5):  # as beat sends them while no worker runs
        celery.send_task(entry["task"], **entry.get("options", {}))
    time.sleep(2)  # the worker comes back later than one interval

    with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=30):
        time.sleep(2)
        assert ran == [], "the missed passes are dropped"
        celery.send_task(entry["task"], **entry.get("options", {}))  # the next pass, on time
        deadline = time.monotonic() + 20
        while not ran and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(ran) == 1
    redis.Redis.from_url(BROKER).flushdb()
