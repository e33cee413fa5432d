"""Jobs never hang: a job whose runner died is found when its lease expires and resumed (or failed), exactly once."""

from __future__ import annotations

import threading
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock, jobs
from app.audit.models import AuditEvent
from app.background import tick
from app.engine.errors import DomainRefused
from app.extensions import db
from app.registry.jobs import run_job
from app.registry.models import RegistryImport
from app.registry.operations import create_import, run_import, stored_path
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.registry.conftest import OCTOBER, bad_iin, iin

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class WorkerKilled(BaseException):
    """Stands for kill -9: not an Exception, so nothing in the job catches it and nothing is cleaned up."""


def _month(country, schools: int = 4):
    """Acts of several schools; a student claimed by two of them and a bad IIN, so cross-act rules matter."""
    made = [country.school() for _ in range(schools)]  # registered: business record and licence
    for n, school in enumerate(made):
        country.enrol(iin(10 + n), school.bin)
    acts = [country.act(school, [(iin(10 + n), 5), (iin(10), 5)] + ([(bad_iin(3), 5)] if n == 2 else []))
            for n, school in enumerate(made)]
    db.session.commit()
    return acts


def _verified_events(run_id: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified")):
        if (event.details or {}).get("run") == run_id:
            counts[event.object_id] = counts.get(event.object_id, 0) + 1
    return counts


def _kill_on_chunk(monkeypatch, chunk: int) -> None:
    real, calls = reports.verify_acts, {"n": 0}

    def dying(acts, **kwargs):
        calls["n"] += 1
        if calls["n"] == chunk:
            raise WorkerKilled
        return real(acts, **kwargs)

    monkeypatch.setattr(reports, "verify_acts", dying)


def _run_in_a_thread_that_dies(app, run_id: int) -> None:
    """The in-process runner (a thread of the web process) running one act per chunk, killed mid-job."""
    def target():
        with app.app_context():
            reports.run_month_verification(run_id, chunk_acts=1)

    thread = threading.Thread(target=target)
    original_hook, threading.excepthook = threading.excepthook, lambda args: None  # the death is expected
    try:
        thread.start()
        thread.join(timeout=60)
    finally:
        threading.excepthook = original_hook
    assert not thread.is_alive()


def test_a_killed_verification_is_resumed_after_its_last_chunk_exactly_once(app_ctx, country, monkeypatch):
    acts = _month(country)
    with clock.FrozenClock(NOW) as frozen:
        reference = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        reports.run_month_verification(reference.id)
        expected = (reference.total_lines, reference.excluded_lines, dict(reference.by_rule))
        assert expected[1] >= 2, "the month has cross-act and checksum exclusions"

        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        run_id = run.id
        _kill_on_chunk(monkeypatch, chunk=3)
        _run_in_a_thread_that_dies(app_ctx, run_id)
        monkeypatch.undo()

        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        assert (run.status, run.processed_acts, run.checkpoint) == ("running", 2, {"after_act_id": acts[1].id})
        with pytest.raises(DomainRefused):  # still alive as far as anyone can tell
            reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.rollback()
        tick(app_ctx)
        assert db.session.get(VerificationRun, run_id).status == "running", "the lease has not expired yet"

        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(app_ctx)  # the reaper finds the expired lease and sends the job again; it resumes

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.attempts == 2 and run.lease_expires_at is None
    assert (run.total_lines, run.excluded_lines, dict(run.by_rule)) == expected
    assert (run.total_acts, run.processed_acts) == (4, 4)
    assert _verified_events(run_id) == {act.id: 1 for act in acts}, "every act verified once by this run"
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "jobs")).all() == ["job.requeued"]


def test_a_job_that_keeps_dying_is_failed_with_its_reason_and_can_be_run_again(app_ctx, country, monkeypatch):
    _month(country, schools=2)
    app_ctx.config["JOB_MAX_ATTEMPTS"] = 1
    try:
        with clock.FrozenClock(NOW) as frozen:
            run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
            db.session.commit()
            run_id = run.id
            _kill_on_chunk(monkeypatch, chunk=1)
            _run_in_a_thread_that_dies(app_ctx, run_id)
            monkeypatch.undo()
            frozen.advance(seconds=jobs.lease_seconds() + 1)
            tick(app_ctx)
            db.session.expire_all()
            run = db.session.get(VerificationRun, run_id)
            assert run.status == "failed" and run.message.startswith("worker_lost:1 run(s)")
            # the operator starts the month again: no longer refused, and this run finishes
            again = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
            reports.run_month_verification(again.id)
            assert again.status == "done"
    finally:
        app_ctx.config["JOB_MAX_ATTEMPTS"] = 3


def test_a_live_lease_is_never_taken_and_a_lost_one_stops_its_old_holder(app_ctx, country):
    _month(country, schools=1)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        assert jobs.claim(run) is True
        assert jobs.claim(run) is False, "running with a live lease"
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        assert run.worker == jobs.worker_id()
        with db.engine.begin() as other_worker:  # took the expired job over, in its own process
            other_worker.execute(VerificationRun.__table__.update().values(worker="another-host:1:1"))
        with pytest.raises(jobs.LeaseLost):
            jobs.heartbeat(run)


def test_a_job_whose_message_was_lost_is_sent_again(app_ctx, country):
    """Dispatched (a lease to be claimed within the queue timeout) but never claimed: a lost message."""
    _month(country, schools=1)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        jobs.mark_dispatched(run)
        db.session.commit()
        frozen.advance(seconds=app_ctx.config["JOB_QUEUE_TIMEOUT_SECONDS"] - 1)
        tick(app_ctx)
        assert db.session.get(VerificationRun, run.id).status == "queued"
        frozen.advance(seconds=2)
        tick(app_ctx)
    db.session.expire_all()
    assert db.session.get(VerificationRun, run.id).status == "done"


def _billion_laughs_workbook(path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["iin", "full_name"])
    wb.save(path)
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    parts["xl/worksheets/sheet1.xml"] = bomb.encode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)


@pytest.mark.parametrize("content", ["corrupt", "bomb"])
def test_a_file_that_fails_before_the_import_starts_fails_the_job_with_its_reason(app_ctx, tmp_path, content,
                                                                                  uploads):
    path = tmp_path / "nedb.xlsx"
    if content == "corrupt":
        path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    else:
        _billion_laughs_workbook(path)
    job = create_import("nedb", "nedb.xlsx", source=path)
    db.session.commit()
    assert run_import(job.id) is None
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status == "failed" and job.message.startswith("unreadable:"), job.message
    assert job.lease_expires_at is None and job.finished_at is not None
    assert not stored_path(job).exists(), "the failed import's copy of the file is deleted"


def test_an_import_given_up_after_its_workers_died_leaves_no_copy_of_the_file(app_ctx, tmp_path, uploads):
    """Three workers killed in turn: the job failed with its reason — and its copy of the file, the students' IINs
    and names, stayed on disk for good."""
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    f"{iin(1)},Student 1,950440001673,private,5,2026-09-01\n")
    app_ctx.config["JOB_MAX_ATTEMPTS"] = 1
    try:
        with clock.FrozenClock(NOW) as frozen:
            job = create_import("nedb", "nedb.csv", source=path)
            db.session.commit()
            assert stored_path(job).exists() and jobs.claim(job)  # a worker took it and died
            frozen.advance(seconds=jobs.lease_seconds() + 1)
            tick(app_ctx)
    finally:
        app_ctx.config["JOB_MAX_ATTEMPTS"] = 3
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status == "failed" and job.message.startswith("worker_lost:")
    assert not stored_path(job).exists()


def test_an_expired_import_is_run_again_and_loads_each_row_once(app_ctx, tmp_path, uploads):
    from app.registry.models import NedbEnrollment

    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    + "".join(f"{iin(n)},Student {n},950440001673,private,5,2026-09-01\n" for n in range(1, 6)))
    with clock.FrozenClock(NOW) as frozen:
        job = create_import("nedb", "nedb.csv", source=path)
        db.session.commit()
        assert jobs.claim(job)  # a worker took it ... and died before its first batch
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(app_ctx)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert (job.status, job.attempts, job.loaded_rows) == ("done", 2, 5)
    assert db.session.scalar(select(db.func.count(NedbEnrollment.id))) == 5
    assert timedelta(0) <= (job.finished_at.replace(tzinfo=UTC) - NOW)


def test_run_job_survives_a_job_that_lost_its_lease(app_ctx, country, monkeypatch):
    _month(country, schools=1)
    run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()

    def lost(run_id):
        raise jobs.LeaseLost("verification_run")

    monkeypatch.setattr("app.registry.jobs._job_functions", lambda: {"tapsyrys.reports.verify_month": lost})
    run_job(app_ctx, "tapsyrys.reports.verify_month", run.id)  # logged, not raised


def test_the_operator_sees_why_a_corrupt_workbook_failed(app_ctx, country, uploads, browser):
    """In the page: the upload of a workbook that cannot even be opened ends ``failed`` with the reason."""
    import io

    from app.people.models import Organisation, User

    operator_org = Organisation(kind="operator", bin="791028302728", name="Operator")
    db.session.add(operator_org)
    db.session.flush()
    person = User(username="op", full_name="Operator", role="operator", organisation_id=operator_org.id,
                  created_at=NOW)
    person.set_password("pw")
    db.session.add(person)
    db.session.commit()
    page = browser("op")
    corrupt = io.BytesIO(b"PK\x03\x04" + b"\x00garbage" * 100)
    assert page.post("/registry/imports", {"kind": "nedb", "file": (corrupt, "nedb.xlsx")},
                     content_type="multipart/form-data").status_code == 303
    job = db.session.scalars(select(RegistryImport)).one()
    assert job.status == "failed"
    shown = page.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "the file cannot be read as CSV (UTF-8 or Windows-1251) or XLSX" in shown and 'id="import-failed"' in shown
    assert "Technical detail" in shown, "the exception text apart, not glued to the sentence"


def test_a_job_whose_worker_stopped_reporting_says_so_on_its_page(world, tmp_path, uploads, browser):
    """A killed worker's import read "running 53%" until a worker came back; the page now says since when no
    worker has reported."""
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    f"{iin(1)},Student 1,950440001673,private,5,2026-09-01\n")
    operator = browser("operator")
    with clock.FrozenClock(NOW) as frozen:
        job = create_import("nedb", "nedb.csv", source=path)
        db.session.commit()
        assert jobs.claim(job)
        db.session.commit()
        alive = operator.get(f"/registry/imports/{job.id}").get_data(as_text=True)
        assert 'id="job-stalled"' not in alive
        frozen.advance(seconds=jobs.lease_seconds() + 1)
        stalled = operator.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert 'id="job-stalled"' in stalled and "No worker has reported on this job since" in stalled


def test_ticker_once_finishes_the_job_it_sends_again_before_it_exits(app_ctx, tmp_path, uploads, monkeypatch):
    """`flask ticker --once` requeued an expired import to a thread of its own process and exited under it: the
    job was claimed (one of its three attempts spent) and left running until its lease expired again."""
    import time

    from app.registry import operations
    from app.registry.models import NedbEnrollment

    real = operations.run_import

    def slow(job_id):  # a file that takes a moment, as a real one does
        time.sleep(1)
        return real(job_id)

    monkeypatch.setattr(operations, "run_import", slow)

    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    + "".join(f"{iin(n)},Student {n},950440001673,private,5,2026-09-01\n" for n in range(1, 4)))
    app_ctx.config["BACKGROUND_MODE"] = "inprocess"
    try:
        with clock.FrozenClock(NOW) as frozen:
            job = create_import("nedb", "nedb.csv", source=path)
            db.session.commit()
            assert jobs.claim(job)  # a worker took it and died
            frozen.advance(seconds=jobs.lease_seconds() + 1)
            result = app_ctx.test_cli_runner().invoke(args=["ticker", "--once"])
    finally:
        app_ctx.config["BACKGROUND_MODE"] = "none"
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert (job.status, job.attempts, job.loaded_rows) == ("done", 2, 3)
    assert db.session.scalar(select(db.func.count(NedbEnrollment.id))) == 3


def test_a_lease_written_by_a_clock_that_ran_ahead_does_not_hold_the_job_for_ever(app_ctx, country, browser):
    """The clock of the worker's host ran a day ahead when it claimed the verification, then it died and the clock
    was put right: its lease lay a day in the future, so the job read "running" and nothing sent it again for a
    day — neither the page nor the metrics said it had stalled. A lease further ahead than any lease is given counts
    as expired: the job is sent again and finishes, and meanwhile it is reported stalled."""
    acts = _month(country, schools=2)
    with clock.FrozenClock(NOW + timedelta(days=1)):
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        assert jobs.claim(run)  # ... and the worker is killed before its first chunk
        run_id = run.id
    with clock.FrozenClock(NOW + timedelta(seconds=jobs.lease_seconds() + 1)):
        db.session.expire_all()
        assert db.session.get(VerificationRun, run_id).stalled_since is not None
        app_ctx.config["METRICS_TOKEN"] = "ops-token"
        try:
            scraped = browser().get("/metrics", headers={"Authorization": "Bearer ops-token"}).get_data(as_text=True)
        finally:
            app_ctx.config.pop("METRICS_TOKEN")
        assert 'tapsyrys_background_jobs{kind="verification_run",state="stalled"} 1.0' in scraped
        tick(app_ctx)  # the reaper sends it again; it resumes and finishes
    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.attempts == 2 and run.lease_expires_at is None
    assert _verified_events(run_id) == {act.id: 1 for act in acts}
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "jobs")).all() == ["job.requeued"]
