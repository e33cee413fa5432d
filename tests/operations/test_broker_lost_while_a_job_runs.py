"""The broker (a Redis of the test's own) is lost while a real Celery worker runs a job, then comes back. With
Celery's default prefetch the worker had taken the background passes queued behind the job without acknowledging them;
on the lost connection kombu 5.7 put them back through a connection already gone and the worker ended ("Unrecoverable
error: AttributeError: 'NoneType' object has no attribute 'hostname'"): no job and no pass ran again until someone
restarted it by hand. Now a worker takes a message only when a process is free (app.background.make_celery): it
finishes the job, reconnects, and runs the next one.

The job is the audit page's check, held at its claim by a lock the test keeps on its row (PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.audit import checks
from app.audit.models import AuditCheck
from app.extensions import db
from app.jobs import mark_dispatched
from app.observability import BackgroundPass
from app.registry.jobs import celery_app, dispatch
from tests.operations.test_broker_restart import WORKTREE, _free_port, _redis, _wait_for

CLAIM_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND query LIKE 'UPDATE audit_check%'")
PASSES_QUEUED = 3  # seconds for the 1-second passes to queue up behind the held job


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_worker_running_a_job_when_redis_is_lost_finishes_it_and_runs_the_next(app_ctx, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the job is held by a row lock (PostgreSQL has them)")
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/7"
    redis_server = _redis(port, tmp_path)
    from app.audit.keys import load_keyring

    load_keyring(app_ctx.config)
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "DATABASE_URL": app_ctx.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "test-worker", "BACKGROUND_MODE": "celery", "CELERY_BROKER_URL": broker,
           "TICKER_INTERVAL_SECONDS": "1", "JOB_LOCK_TIMEOUT_SECONDS": "0", "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"], "AUDIT_ANCHOR_DIR": app_ctx.config["AUDIT_ANCHOR_DIR"]}
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "app.celery_worker", "worker", "-B",
                               "-s", str(tmp_path / "beat-schedule"), "--concurrency", "1", "--loglevel", "WARNING",
                               "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    saved = {k: app_ctx.config[k] for k in ("BACKGROUND_MODE", "CELERY_BROKER_URL")}
    app_ctx.config.update(BACKGROUND_MODE="celery", CELERY_BROKER_URL=broker)
    app_ctx.extensions.pop("tapsyrys_celery", None)
    holder = create_engine(app_ctx.config["SQLALCHEMY_DATABASE_URI"]).connect()
    try:
        _wait_for(lambda: db.session.get(BackgroundPass, "tick"), 60, "the worker's first background pass")
        first, _ = checks.start_audit_check(actor=None, dispatch_job=False)
        mark_dispatched(first)
        db.session.commit()
        holder.execute(text("SELECT id FROM audit_check WHERE id = :id FOR UPDATE"), {"id": first.id})
        celery_app(app_ctx).send_task(checks.JOB, args=[first.id])  # the job's claim waits for the row
        _wait_for(lambda: db.session.scalar(CLAIM_WAITING), 60, "the worker taking the job")
        time.sleep(PASSES_QUEUED)

        os.killpg(redis_server.pid, signal.SIGKILL)  # the broker is lost while the job runs
        redis_server.wait(timeout=10)
        time.sleep(2)
        redis_server = _redis(port, tmp_path)  # back, empty
        holder.rollback()  # the job goes on
        _wait_for(lambda: db.session.get(AuditCheck, first.id).status == "done", 120, "the held job's verdict")

        second, _ = checks.start_audit_check(actor=None, dispatch_job=False)
        db.session.commit()
        _wait_for(lambda: dispatch(checks.JOB, second.id), 30, "the broker taking the next job")
        _wait_for(lambda: db.session.get(AuditCheck, second.id).status == "done", 60,
                  "the next job run by the same worker")
        assert worker.poll() is None, "the worker is still there"
    finally:
        holder.close()
        for process in (worker, redis_server):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        app_ctx.extensions.pop("tapsyrys_celery", None)
        app_ctx.config.update(saved)
