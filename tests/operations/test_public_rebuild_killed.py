"""A rebuild of the public caches whose process is killed (kill -9) mid-rebuild: the next trigger on the same machine
takes it over at once, instead of deferring to the dead runner for JOB_TIME_LIMIT_SECONDS (two hours by default)
while the public figures stay as they were. A real second process, on this test's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app import clock
from app.extensions import db
from app.public.models import PublicRebuild
from app.public.rebuild import rebuild_public

WORKTREE = Path(__file__).resolve().parents[2]

#: a trigger in its own process whose rebuild never ends (it sleeps where it would read the audit events)
RUNNER = """
import sys, time
from app import create_app
from app.public import cache
from app.public.rebuild import rebuild_public

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "BACKGROUND_MODE": "none"})

def endless(full=False):
    print("rebuilding", flush=True)
    time.sleep(600)

cache.refresh_public = endless
with app.app_context():
    rebuild_public()
"""


def _holder() -> str | None:
    db.session.rollback()
    db.session.expire_all()
    row = db.session.get(PublicRebuild, 1)
    return row.running_by if row else None


def test_a_rebuild_killed_mid_way_is_taken_over_by_the_next_trigger_on_its_machine(app_ctx, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-runner",
           "INSTANCE_PATH": str(tmp_path / "instance"), "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"],
           "AUDIT_ANCHOR_DIR": app_ctx.config["AUDIT_ANCHOR_DIR"]}
    url = app_ctx.config["SQLALCHEMY_DATABASE_URI"]
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, url], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        assert runner.stdout.readline().strip() == b"rebuilding"
        assert _holder() is not None and f":{runner.pid}:" in _holder()
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(timeout=30)
        runner.stdout.close()
    assert f":{runner.pid}:" in _holder(), "the killed runner left its claim"

    outcome = rebuild_public()  # the next background pass on this machine

    assert not outcome.deferred, "the dead runner's claim is taken over at once, not in JOB_TIME_LIMIT_SECONDS"
    assert _holder() is None


@pytest.mark.parametrize("holder", ["another-host:1:1", "not a worker id"])
def test_a_claim_dated_far_ahead_is_taken_over_and_a_live_one_elsewhere_is_not(app_ctx, holder):
    """A runner on another machine cannot be asked whether it lives: its claim holds — unless it is dated further
    ahead than any lease (written by a clock that ran ahead, put right since)."""
    db.session.add(PublicRebuild(id=1, running_by=holder, running_since=clock.now()))
    db.session.commit()
    assert rebuild_public().deferred
    db.session.get(PublicRebuild, 1).running_since = clock.now() + timedelta(days=1)
    db.session.commit()
    assert not rebuild_public().deferred
    assert _holder() is None


def test_a_rebuild_holding_its_claim_shows_in_the_metrics(app_ctx, browser):
    """A runner on another machine that died holds the claim until the time limit: the operator sees for how long."""
    db.session.add(PublicRebuild(id=1, running_by="another-host:1:1", running_since=clock.now() - timedelta(hours=1)))
    db.session.commit()
    app_ctx.config["METRICS_TOKEN"] = "ops-token"
    try:
        scraped = browser().get("/metrics", headers={"Authorization": "Bearer ops-token"}).get_data(as_text=True)
    finally:
        app_ctx.config.pop("METRICS_TOKEN")
    (line,) = [x for x in scraped.splitlines() if x.startswith("tapsyrys_public_rebuild_running_seconds ")]
    assert 3600 <= float(line.split()[1]) < 3700
