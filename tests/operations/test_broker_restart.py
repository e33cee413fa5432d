"""The broker (a Redis of the test's own, on a port of its own) is killed for a while under a real Celery worker: an
import started meanwhile is saved and queued, readiness says the broker is down without failing the web, and once
Redis is back (empty: the message is lost with it) the worker's reaper sends the job again and it loads each row
once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.observability import BackgroundPass
from app.registry.jobs import dispatch
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import
from tests.registry.conftest import iin

WORKTREE = Path(__file__).resolve().parents[2]
DOWN_SECONDS = float(os.environ.get("TEST_BROKER_DOWN_SECONDS", "8"))  # the worker retries its broker every few s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def _redis(port: int, folder: Path) -> subprocess.Popen:
    server = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    server.kill()
    pytest.fail("redis-server did not start")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_job_started_while_redis_is_down_runs_once_redis_is_back(app_ctx, browser, tmp_path):
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/7"
    redis_server = _redis(port, tmp_path)
    uploads = tmp_path / "imports"
    uploads.mkdir()
    from app.audit.keys import load_keyring

    load_keyring(app_ctx.config)
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "DATABASE_URL": app_ctx.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "test-worker", "BACKGROUND_MODE": "celery", "CELERY_BROKER_URL": broker,
           "TICKER_INTERVAL_SECONDS": "1", "JOB_QUEUE_TIMEOUT_SECONDS": "3", "REGISTRY_UPLOAD_DIR": str(uploads),
           "INSTANCE_PATH": str(tmp_path / "instance"), "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"],
           "AUDIT_ANCHOR_DIR": app_ctx.config["AUDIT_ANCHOR_DIR"]}
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([str(Path(sys.executable).parent / "celery"), "-A", "app.celery_worker", "worker", "-B",
                               "-s", str(tmp_path / "beat-schedule"), "--pool", "solo", "--loglevel", "WARNING",
                               "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    saved = {k: app_ctx.config[k] for k in ("BACKGROUND_MODE", "CELERY_BROKER_URL", "REGISTRY_UPLOAD_DIR",
                                            "JOB_QUEUE_TIMEOUT_SECONDS")}
    app_ctx.config.update(BACKGROUND_MODE="celery", CELERY_BROKER_URL=broker, REGISTRY_UPLOAD_DIR=str(uploads),
                          JOB_QUEUE_TIMEOUT_SECONDS=3)
    app_ctx.extensions.pop("tapsyrys_celery", None)
    try:
        _wait_for(lambda: db.session.get(BackgroundPass, "tick"), 60, "the worker's first background pass")

        os.killpg(redis_server.pid, signal.SIGKILL)  # the broker dies
        redis_server.wait(timeout=10)
        source = tmp_path / "nedb.csv"
        source.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n" + "".join(
            f"{iin(n)},Student {n},950440001673,private,5,2026-09-01\n" for n in range(1, 501)))
        job = create_import("nedb", "nedb.csv", source=source)
        db.session.commit()
        job_id = job.id
        assert dispatch("tapsyrys.registry.import", job_id) is False, "the broker cannot be reached"
        ready = browser().get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["checks"]["broker"] is False
        time.sleep(DOWN_SECONDS)
        assert worker.poll() is None, "the worker waits for its broker"
        assert db.session.get(RegistryImport, job_id).status == "queued"

        redis_server = _redis(port, tmp_path)  # back, empty
        job = _wait_for(lambda: (j := db.session.get(RegistryImport, job_id)).status in ("done", "failed") and j,
                        120, "the job sent again by the worker's reaper")
        assert (job.status, job.loaded_rows) == ("done", 500), job.message
        assert db.session.scalar(select(func.count(NedbEnrollment.id))) == 500, "each row once"
        assert browser().get("/readyz").get_json()["checks"]["broker"] is True
    finally:
        for process in (worker, redis_server):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
        app_ctx.extensions.pop("tapsyrys_celery", None)
        app_ctx.config.update(saved)
