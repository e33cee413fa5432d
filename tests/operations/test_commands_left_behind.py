"""What ``flask import-…`` and ``flask verify-month`` leave behind when they die before their job is claimed (killed,
the machine gone) or are stopped then (a second Ctrl-C while a large file is counted). The job was committed "queued"
with no lease: no worker would ever claim it and the background pass, which looks for lost leases, never found it —
"queued" for ever on the lists, and for verify-month the month's one active run, so every later start of the month
was refused "A verification of this month is already running." Now the command counts the file before the job
exists and gives the job a lease until its claim: died, the job is found by the background pass once that lease runs
out and run (the month's run resumed); stopped, nothing is left at all."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock, jobs
from app.extensions import db
from app.registry.models import RegistryImport
from app.reports.models import VerificationRun
from tests.money.test_import_failed_reverifies import terminal_ctrl_c  # noqa: F401 - the fixture
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period
from tests.registry.test_import_stop_rules import _nedb_file


class Killed(BaseException):
    """The command's process ending where it stands (SIGKILL, the machine gone): nothing after it runs."""


def _after_the_queue_timeout():
    return clock.FrozenClock(clock.now() + timedelta(seconds=jobs.queue_timeout() + 1))


def test_an_import_command_that_dies_before_its_claim_leaves_a_job_the_background_pass_runs(app_ctx, tmp_path,
                                                                                              monkeypatch):
    path = _nedb_file(tmp_path, 3)

    def dies(*_args, **_kwargs):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr("app.registry.operations.run_import", dies)
        with pytest.raises(Killed):
            app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)], catch_exceptions=False)
    db.session.rollback()
    job = db.session.scalars(select(RegistryImport)).one()
    assert job.status == "queued" and job.lease_expires_at is not None, "a lease the background pass can find"

    with _after_the_queue_timeout():
        assert jobs.reap_expired_jobs() == 1
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert (job.status, job.loaded_rows) == ("done", 3)


def test_a_second_ctrl_c_while_the_file_is_counted_leaves_no_job(app_ctx, tmp_path, monkeypatch, terminal_ctrl_c):  # noqa: F811
    from app.registry import importers

    path = _nedb_file(tmp_path, 3)
    real = importers.count_rows

    def counted_while_pressed(file, known=None):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # the second press: at once
        return real(file, known)

    monkeypatch.setattr(importers, "count_rows", counted_while_pressed)
    ran = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert ran.exit_code != 0 and "Aborted!" in ran.output, ran.output  # click's own word for Ctrl-C
    db.session.rollback()
    assert db.session.scalars(select(RegistryImport)).all() == [], "no job left queued for ever"


def test_a_ctrl_c_while_the_file_is_counted_stops_before_the_import_begins(app_ctx, tmp_path, monkeypatch,
                                                                            terminal_ctrl_c):  # noqa: F811
    from app.registry import importers

    path = _nedb_file(tmp_path, 3)
    real = importers.count_rows

    def counted_while_pressed(file, known=None):
        os.kill(os.getpid(), signal.SIGINT)
        return real(file, known)

    monkeypatch.setattr(importers, "count_rows", counted_while_pressed)
    ran = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert ran.exit_code == 130, ran.output
    assert "■ Stopped on the command line (Ctrl-C) before the import began: nothing was imported." in ran.stderr
    db.session.rollback()
    assert db.session.scalars(select(RegistryImport)).all() == []


def test_a_verify_month_command_that_dies_before_its_claim_does_not_block_the_month(world, app_ctx, monkeypatch):
    acts = _month_acts(_month_acts_period())
    period = f"{acts[0].period:%Y-%m}"

    def dies(*_args, **_kwargs):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr("app.reports.operations.run_month_verification", dies)
        with pytest.raises(Killed):
            app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", period], catch_exceptions=False)
    db.session.rollback()
    run = db.session.scalars(select(VerificationRun)).one()
    assert run.status == "queued" and run.lease_expires_at is not None, "a lease the background pass can find"

    with _after_the_queue_timeout():
        assert jobs.reap_expired_jobs() == 1
    db.session.expire_all()
    assert db.session.get(VerificationRun, run.id).status == "done", "resumed by the background pass"
    again = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", period])
    assert again.exit_code == 0, again.output


def test_a_second_ctrl_c_before_the_run_is_claimed_stops_it(world, app_ctx, monkeypatch):
    """The interruption landing between the run's start and its claim: the run was left "queued"
    (stop_month_verification ended only a run this process had claimed) and the command said "1 act(s) …", exit 0."""
    acts = _month_acts(_month_acts_period())

    def pressed_twice(*_args, **_kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("app.reports.operations.run_month_verification", pressed_twice)
        ran = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", f"{acts[0].period:%Y-%m}"])
    assert ran.exit_code == 130, ran.output
    assert "■ Stopped on the command line (Ctrl-C) after 0 of" in ran.stderr
    db.session.rollback()
    run = db.session.scalars(select(VerificationRun)).one()
    assert (run.status, run.lease_expires_at) == ("stopped", None)
    with _after_the_queue_timeout():
        assert jobs.reap_expired_jobs() == 0, "nothing for the background pass to resume"
