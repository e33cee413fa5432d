"""A real Celery worker (Redis broker, started here) runs the scheduled background pass and a registry import; it
is killed with SIGKILL mid-import; the lease expires and the import is resumed and finishes, each row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import clock, jobs
from app.background import tick
from app.extensions import db
from app.observability import BackgroundPass
from app.registry.jobs import dispatch
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import
from tests.registry.conftest import iin

BROKER = "redis://127.0.0.1:6379/14"
ROWS = 16_000  # 8 batches of 2,000 (about 0.3 s each): the kill lands after the first committed batch
WORKTREE = Path(__file__).resolve().parents[2]


def _wait_for(predicate, seconds: float, what: str):
    """A guard against hanging (the test stays bounded), not a timing assertion."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.rollback()
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture()
def celery_worker_process(app_ctx, database_url, tmp_path):
    """``celery -A app.celery_worker worker -B`` in its own process group, on Redis db 14 and this test's database."""
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    uploads = tmp_path / "imports"
    uploads.mkdir()
    from app.audit.keys import load_keyring

    load_keyring(app_ctx.config)  # the test app's audit key file exists: the worker signs with the same keys
    # Every file the worker keeps goes to this test's folders, never to the repository's instance/.
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "DATABASE_URL": database_url, "SECRET_KEY": "test-worker",
           "BACKGROUND_MODE": "celery", "CELERY_BROKER_URL": BROKER, "TICKER_INTERVAL_SECONDS": "1",
           "REGISTRY_UPLOAD_DIR": str(uploads), "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"], "AUDIT_ANCHOR_DIR": app_ctx.config["AUDIT_ANCHOR_DIR"]}
    command = [str(Path(sys.executable).parent / "celery"), "-A", "app.celery_worker", "worker", "-B",
               "-s", str(tmp_path / "beat-schedule"), "--pool", "solo", "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    saved = {k: app_ctx.config[k] for k in ("BACKGROUND_MODE", "CELERY_BROKER_URL", "REGISTRY_UPLOAD_DIR")}
    app_ctx.config.update(BACKGROUND_MODE="celery", CELERY_BROKER_URL=BROKER, REGISTRY_UPLOAD_DIR=str(uploads))
    app_ctx.extensions.pop("tapsyrys_celery", None)
    try:
        yield worker, uploads
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        log.close()
        app_ctx.extensions.pop("tapsyrys_celery", None)
        app_ctx.config.update(saved)
        redis.Redis.from_url(BROKER).flushdb()


def test_a_killed_celery_worker_s_import_is_resumed_after_its_lease_expires(app_ctx, celery_worker_process,
                                                                           tmp_path):
    worker, uploads = celery_worker_process
    # the scheduled background pass runs on the real worker (beat → tapsyrys.tick)
    _wait_for(lambda: db.session.get(BackgroundPass, "tick"), 40, "the worker's first background pass")
    assert (tmp_path / "instance").is_dir(), "the worker keeps its files in the test's folder (INSTANCE_PATH)"

    source = tmp_path / "nedb.csv"
    with source.open("w") as fh:
        fh.write("iin,full_name,school_bin,school_kind,grade,enrolled_on\n")
        for n in range(1, ROWS + 1):
            fh.write(f"{iin(n)},Student {n},950440001673,private,5,2026-09-01\n")
    job = create_import("nedb", "nedb.csv", source=source)
    db.session.commit()
    job_id = job.id
    dispatch("tapsyrys.registry.import", job_id)

    job = _wait_for(lambda: (j := db.session.get(RegistryImport, job_id)).processed_rows > 0 and j, 30,
                    "the first committed batch")
    os.killpg(worker.pid, signal.SIGKILL)  # kill -9, mid-job
    worker.wait(timeout=10)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert job.status == "running" and 0 < job.processed_rows < ROWS, "killed mid-job"
    holder = job.worker

    # nothing runs it any more; the next background pass after the lease has expired finds it and resumes it
    app_ctx.config["BACKGROUND_MODE"] = "none"
    with clock.FrozenClock(datetime.now(UTC)) as frozen:
        tick(app_ctx)
        db.session.expire_all()
        assert db.session.get(RegistryImport, job_id).status == "running", "the lease is still valid"
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(app_ctx)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert (job.status, job.attempts, job.loaded_rows) == ("done", 2, ROWS), job.message
    assert job.worker != holder
    assert db.session.scalar(select(func.count(NedbEnrollment.id))) == ROWS, "each row once"
    assert job.finished_at is not None and job.finished_at.replace(tzinfo=UTC) - job.started_at.replace(tzinfo=UTC) \
        >= timedelta(0)
