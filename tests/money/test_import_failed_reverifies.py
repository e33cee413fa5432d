"""An import that fails outright after committing some batches keeps them (a file of 4 million rows lands batch by
batch; all-or-nothing would hold the database's writer for the whole run and lose it at the last row). What those
batches changed in the registry must reach the open acts it concerns: the failed import had re-verified no act, and
an act verified on NEDB's old word stayed acceptable at the amount NEDB no longer supports — a withdrawn pupil paid.

Now whatever committed is followed by the re-verification of the acts it touched — a database error in batch N, the
time limit, an import given up after its workers died — and the job's page and the command say what stayed loaded
and which acts were verified again."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app import clock, jobs
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.extensions import db
from app.registry import importers
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import, run_import, stored_path
from tests.money.test_adjustments import _enrolment
from tests.money.test_import_reverifies import BASIC, _nedb_row, _verified_bilim

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _file(path, rows: list[dict]):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _withdrawal_then_more(act: Act, tmp_path):
    """NEDB withdraws one of the act's pupils (first row: the first batch), then rewrites two other pupils as they
    are (batches 2 and 3)."""
    pupils = [ln for ln in act.lines if ln.grade == 9][:1] + [ln for ln in act.lines if ln.grade != 9][:2]
    rows = [_nedb_row(_enrolment(pupils[0].iin), withdrawn_on=act.period)]
    rows += [_nedb_row(_enrolment(p.iin)) for p in pupils[1:]]
    return _file(tmp_path / "nedb.csv", rows), pupils


def _assert_reverified(act: Act, before: int, seen) -> None:
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "verified" and act.lock_version != seen, "the act was verified again"
    assert act.amount_tiyn == before - BASIC, "at the registry the committed batch left: the withdrawn pupil unpaid"


@pytest.fixture()
def refused_iin(app_ctx):
    """The database refuses to store one IIN (a trigger: a real database error in the batch that writes it)."""
    refused = {}
    postgres = db.engine.dialect.name == "postgresql"

    def refuse(value: str) -> None:
        refused["iin"] = value
        if postgres:
            db.session.execute(text(
                "CREATE FUNCTION refuse_iin() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.iin = '{value}' THEN RAISE EXCEPTION 'refused by the database'; END IF; RETURN NEW; END "
                "$$ LANGUAGE plpgsql"))
            db.session.execute(text("CREATE TRIGGER refuse_iin BEFORE INSERT OR UPDATE ON nedb_enrollment "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_iin()"))
        else:
            for event in ("INSERT", "UPDATE"):
                db.session.execute(text(
                    f"CREATE TRIGGER refuse_iin_{event.lower()} BEFORE {event} ON nedb_enrollment "
                    f"WHEN NEW.iin = '{value}' BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"))
        db.session.commit()

    yield refuse
    db.session.rollback()
    if postgres:
        db.session.execute(text("DROP TRIGGER IF EXISTS refuse_iin ON nedb_enrollment"))
        db.session.execute(text("DROP FUNCTION IF EXISTS refuse_iin()"))
    else:
        for event in ("insert", "update"):
            db.session.execute(text(f"DROP TRIGGER IF EXISTS refuse_iin_{event}"))
    db.session.commit()


def test_an_import_failing_on_a_database_error_in_batch_three_reverifies_what_batch_one_changed(
        world, app_ctx, tmp_path, monkeypatch, refused_iin, caplog):
    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    path, pupils = _withdrawal_then_more(act, tmp_path)
    refused_iin(pupils[2].iin)
    monkeypatch.setattr(importers, "BATCH", 1)

    ran = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert ran.exit_code == 1, ran.output
    assert "the import stopped on an unexpected error" in ran.output and "refused by the database" in ran.output
    assert "2 row(s) of the batches finished before it stopped stay loaded" in ran.output
    assert "1 open act(s) concerned by the loaded rows verified again on the new registry data." in ran.output

    job = db.session.scalars(select(RegistryImport)).one()
    assert (job.status, job.loaded_rows) == ("failed", 2)
    # The database's reason, not its statement with the rows' values: the job's message is on the import page and in
    # the audit trail for good, the log goes to whoever reads the logs — the refused child's IIN and name were in all
    refused = _enrolment(pupils[2].iin)
    assert job.message.startswith("error:") and job.message.endswith("Error: refused by the database"), job.message
    for said in (job.message, caplog.text, ran.output):
        assert refused.iin not in said and refused.full_name not in said
    assert db.session.get(NedbEnrollment, _enrolment(pupils[0].iin).id).withdrawn_on == act.period, "batch 1 stays"
    _assert_reverified(act, before, seen)
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.import_failed")).one()
    assert failed.details["reverified_acts"] == {"acts": 1, "decided_meanwhile": 0, "failed": 0}
    assert failed.details["loaded"] == 2
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                           AuditEvent.object_id == act.id)
                                  .order_by(AuditEvent.id.desc())).first()
    assert verified.details["registry_import"] == job.id, "the act's event names the import"


def test_an_import_stopped_at_its_time_limit_reverifies_what_its_finished_batches_changed(
        world, app_ctx, tmp_path, monkeypatch, browser):
    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    path, _pupils = _withdrawal_then_more(act, tmp_path)
    monkeypatch.setattr(importers, "BATCH", 1)
    monkeypatch.setitem(app_ctx.config, "JOB_TIME_LIMIT_SECONDS", 60)
    with clock.FrozenClock(NOW) as frozen:
        job = create_import("nedb", path.name, source=path)
        db.session.commit()
        # each committed batch "takes" 40 s: the third batch's heartbeat is past the limit
        assert run_import(job.id, progress=lambda *_: frozen.advance(seconds=40)) is None

    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status == "failed" and job.message.startswith("time_limit:"), job.message
    assert job.lease_expires_at is None and not stored_path(job).exists()
    assert job.loaded_rows == 2
    _assert_reverified(act, before, seen)

    shown = browser("operator").get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert 'id="import-failed"' in shown
    assert "2 rows of the batches finished before it stopped stay loaded" in shown
    assert "1 open act concerned by the loaded rows was verified again on the new registry data." in shown


def test_an_import_given_up_after_its_workers_died_reverifies_what_they_committed(world, app_ctx, tmp_path,
                                                                                  monkeypatch):
    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    path, _pupils = _withdrawal_then_more(act, tmp_path)
    job_id = _worker_killed_after_its_first_batch(path, monkeypatch)
    db.session.expire_all()
    act_now = db.session.get(Act, act.id)
    assert act_now.lock_version == seen, "the worker died before verifying anything again"

    # Its lease runs out with no attempt left: the reaper gives it up.
    monkeypatch.setitem(app_ctx.config, "JOB_MAX_ATTEMPTS", 1)
    job = db.session.get(RegistryImport, job_id)
    job.lease_expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert jobs.reap_expired_jobs() == 1

    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert job.status == "failed" and job.message.startswith("worker_lost:")
    assert job.checkpoint["reverified"] == {"acts": 1, "decided_meanwhile": 0, "failed": 0}
    assert not stored_path(job).exists()
    _assert_reverified(act, before, seen)


def test_an_import_stopped_with_ctrl_c_ends_there_and_reverifies_what_it_committed(world, app_ctx, tmp_path):
    """``flask import-nedb`` stopped with Ctrl-C after its first batch: the job had stayed "running", its lease ran
    out and the background pass resumed — minutes later, in another process — the import the operator had stopped,
    while the acts its first batch changed waited, verified on the old registry. Now the job ends there, stopped with
    that reason, and the acts are verified again before the command exits."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.registry.conftest import iin

    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    pupil = next(ln for ln in act.lines if ln.grade == 9)
    withdrawal = _nedb_row(_enrolment(pupil.iin), withdrawn_on=act.period)
    filler = [{**withdrawal, "iin": iin(n), "full_name": f"Student {n}", "withdrawn_on": ""}
              for n in range(1, 40_001)]  # 20 batches more: the command is still at work when it is stopped
    path = _file(tmp_path / "nedb.csv", [withdrawal, *filler])
    worktree = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(worktree), "SECRET_KEY": "test-import", "BACKGROUND_MODE": "none",
           "DATABASE_URL": app_ctx.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"], "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")}
    # Ctrl-C as a terminal delivers it, whatever the runner of this suite does with it (a shell starts background
    # commands with SIGINT ignored, and a child keeps that)
    command = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "import-nedb", str(path)],
                               cwd=worktree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        while command.poll() is None:  # until its first batch is committed
            db.session.rollback()
            if db.session.scalar(select(RegistryImport.loaded_rows).where(RegistryImport.filename == path.name)):
                break
            time.sleep(0.05)
        command.send_signal(signal.SIGINT)  # the operator's Ctrl-C
        _out, err = command.communicate(timeout=120)
    finally:
        command.kill()
    assert command.returncode == 130, err
    assert "Stopping once the batch being written is saved (Ctrl-C again to stop at once)" in err
    assert "■ the import was stopped on the command line (Ctrl-C) before its end" in err
    assert "row(s) of the batches finished before it stopped stay loaded" in err
    assert "1 open act(s) concerned by the loaded rows verified again on the new registry data." in err

    db.session.rollback()
    job = db.session.scalars(select(RegistryImport)).one()
    assert (job.status, job.message) == ("stopped", "interrupted:") and 0 < job.loaded_rows < len(filler)
    _assert_reverified(act, before, seen)
    with clock.FrozenClock(clock.now() + timedelta(hours=1)):
        assert jobs.reap_expired_jobs() == 0, "nothing left for the background pass to resume"


@pytest.fixture()
def terminal_ctrl_c():
    """Ctrl-C as a terminal's command has it. A suite run as a background job (a script's ``&``, nohup — the mutation
    runner started that way) starts with SIGINT ignored, which the command rightly keeps ignored: nothing to press."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _ctrl_c_during_batch(monkeypatch, batch: int, presses: int) -> None:
    """The operator presses Ctrl-C ``presses`` times while batch ``batch`` is being written (its rows sent, its commit
    not yet): the signal this process gets from the terminal, handled by the command's own handler."""
    import os
    import signal
    import threading

    assert threading.current_thread() is threading.main_thread(), "signal handlers run in the main thread"
    real, seen = jobs.heartbeat, {"batches": 0}

    def heartbeat(job, **kwargs):
        seen["batches"] += 1
        if seen["batches"] == batch:
            for _ in range(presses):
                os.kill(os.getpid(), signal.SIGINT)
        return real(job, **kwargs)

    monkeypatch.setattr(jobs, "heartbeat", heartbeat)
    monkeypatch.setattr(importers, "BATCH", 1)


def _stopped_import(app_ctx, act, tmp_path) -> tuple:
    """``flask import-nedb`` of a withdrawal of one of the act's pupils then 4 more rows: what it said and its job."""
    import signal

    from tests.registry.conftest import iin

    pupil = next(ln for ln in act.lines if ln.grade == 9)
    withdrawal = _nedb_row(_enrolment(pupil.iin), withdrawn_on=act.period)
    more = [{**withdrawal, "iin": iin(n), "full_name": f"Student {n}", "withdrawn_on": ""} for n in range(1, 5)]
    path = _file(tmp_path / "nedb.csv", [withdrawal, *more])
    before = signal.getsignal(signal.SIGINT)
    ran = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert signal.getsignal(signal.SIGINT) is before, "the command gives Ctrl-C back as it found it"
    db.session.rollback()
    return ran, db.session.scalars(select(RegistryImport)).one()


def test_a_ctrl_c_in_the_middle_of_a_batch_stops_the_import_once_that_batch_is_saved(world, app_ctx, tmp_path,
                                                                                      monkeypatch, terminal_ctrl_c):
    """The interruption had been raised wherever the command was — here, between a batch's rows and its commit:
    the batch was lost, and what was half done in the driver and the pool was left to chance. The command now
    finishes the batch being written, stops there, verifies the acts it changed again and exits 130."""
    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    _ctrl_c_during_batch(monkeypatch, batch=1, presses=1)

    ran, job = _stopped_import(app_ctx, act, tmp_path)

    assert ran.exit_code == 130, ran.stderr
    assert "Stopping once the batch being written is saved (Ctrl-C again to stop at once)" in ran.stderr
    assert "■ the import was stopped on the command line (Ctrl-C) before its end" in ran.stderr
    assert "1 row(s) of the batches finished before it stopped stay loaded" in ran.stderr
    assert (job.status, job.message, job.loaded_rows) == ("stopped", "interrupted:", 1), "the batch under way saved"
    assert job.lease_expires_at is None
    _assert_reverified(act, before, seen)
    with clock.FrozenClock(clock.now() + timedelta(hours=1)):
        assert jobs.reap_expired_jobs() == 0, "nothing left for the background pass to resume"


def test_a_second_ctrl_c_stops_the_import_at_once_and_still_reverifies_what_was_committed(world, app_ctx, tmp_path,
                                                                                          monkeypatch, terminal_ctrl_c):
    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    _ctrl_c_during_batch(monkeypatch, batch=2, presses=2)

    ran, job = _stopped_import(app_ctx, act, tmp_path)

    assert ran.exit_code == 130, ran.stderr
    assert (job.status, job.message, job.loaded_rows) == ("stopped", "interrupted:", 1), "batch 2 undone, 1 kept"
    assert "1 open act(s) concerned by the loaded rows verified again on the new registry data." in ran.stderr
    _assert_reverified(act, before, seen)
    with clock.FrozenClock(clock.now() + timedelta(hours=1)):
        assert jobs.reap_expired_jobs() == 0


def test_an_import_stopped_with_ctrl_c_is_shown_stopped_not_failed(world, app_ctx, tmp_path, monkeypatch,
                                                                     terminal_ctrl_c, browser):
    """The operator's own stop had been listed as "failed" with the red "The file could not be imported" — on the
    registries' page, the import's page and its progress answer: now "stopped", said as a stop, with what stayed
    loaded; the audit trail has ``registry.import_stopped``, and uploading the file again is the way on, as after a
    failure."""
    act = _verified_bilim()
    _ctrl_c_during_batch(monkeypatch, batch=1, presses=1)
    ran, job = _stopped_import(app_ctx, act, tmp_path)
    monkeypatch.undo()
    assert ran.exit_code == 130 and "✗" not in ran.stderr, ran.stderr

    admin = browser("admin")
    page = admin.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert 'id="import-stopped"' in page and "nothing failed" in page
    assert 'id="import-failed"' not in page and "could not be imported" not in page
    assert 'class="badge job-status-stopped bg-warning text-dark">stopped</span>' in page
    assert 'id="import-partly-loaded"' in page
    listed = admin.get("/registry").get_data(as_text=True)
    assert "job-status-stopped" in listed and "job-status-failed" not in listed
    progress = admin.get(f"/registry/imports/{job.id}/progress").get_data(as_text=True)
    assert "Status: stopped. The import was stopped on the command line" in progress
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "registry_import",
                                                          AuditEvent.action != "registry.import_started"))
    assert (event.action, event.details["by"], event.details["reason"]) == (
        "registry.import_stopped", "command line", "interrupted:")

    again = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(tmp_path / "nedb.csv")])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert [j.status for j in db.session.scalars(select(RegistryImport).order_by(RegistryImport.id))] == [
        "stopped", "done"]


def test_an_import_given_up_whose_reverification_failed_is_reverified_by_a_later_pass(world, app_ctx, tmp_path,
                                                                                     monkeypatch, browser):
    """The workers died after a committed batch, and when the reaper gave the import up the database was away: the
    re-verification of the acts that batch changed failed, was logged, and nothing did it again — the acts verified
    on NEDB's old word stayed acceptable. Now the job keeps a mark that it is owed, its page says so, and a later
    background pass does it."""
    from app.reports import operations as reports
    from tests.operations.test_database_connection_lost import _lose_the_connection

    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    path, _pupils = _withdrawal_then_more(act, tmp_path)
    job_id = _worker_killed_after_its_first_batch(path, monkeypatch)
    monkeypatch.setitem(app_ctx.config, "JOB_MAX_ATTEMPTS", 1)
    job = db.session.get(RegistryImport, job_id)
    job.lease_expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()

    def database_away(acts, **kwargs):
        _lose_the_connection()

    with monkeypatch.context() as away:
        away.setattr(reports, "verify_acts", database_away)
        assert jobs.reap_expired_jobs() == 1, "given up, though what it owes could not be done"
    db.session.rollback()
    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert job.status == "failed" and job.message.startswith("worker_lost:")
    assert job.checkpoint["reverify_owed"] is True and "reverified" not in job.checkpoint
    assert not stored_path(job).exists(), "the file goes all the same"
    assert db.session.get(Act, act.id).lock_version == seen, "not verified again yet"
    shown = browser("operator").get(f"/registry/imports/{job_id}").get_data(as_text=True)
    assert 'id="import-reverify-owed"' in shown

    # The database is back; the failed attempt holds the job for a lease's time, then a later pass does it.
    with clock.FrozenClock(clock.now() + timedelta(seconds=jobs.lease_seconds() + 1)):
        assert jobs.reap_expired_jobs() == 1
        assert jobs.reap_expired_jobs() == 0, "done once"
    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert "reverify_owed" not in job.checkpoint
    assert job.checkpoint["reverified"] == {"acts": 1, "decided_meanwhile": 0, "failed": 0}
    assert job.lease_expires_at is None
    _assert_reverified(act, before, seen)
    shown = browser("operator").get(f"/registry/imports/{job_id}").get_data(as_text=True)
    assert 'id="import-reverify-owed"' not in shown
    assert "1 open act concerned by the loaded rows was verified again on the new registry data." in shown


def _worker_killed_after_its_first_batch(path, monkeypatch) -> int:
    """An NEDB import of ``path`` in batches of one row whose worker is stopped right after its first batch
    committed; the job's id."""
    monkeypatch.setattr(importers, "BATCH", 1)
    job = create_import("nedb", path.name, source=path)
    db.session.commit()
    job_id = job.id

    def killed(*_args) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(job_id, progress=killed)
    db.session.rollback()
    return job_id
