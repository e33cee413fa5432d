"""PostgreSQL restarting under a month-wide verification (the connection lost in the middle of a chunk) is the
database's failure, not the acts': the run keeps its lease and checkpoint and is resumed after its last chunk when
the lease expires, each act verified once. The chunk used to be checked again act by act while the server was still
away: each act failed "alone", became a "could not be checked" incident for an operator, and the run ended done."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app import clock, jobs
from app.background import tick
from app.engine.incidents import Incident
from app.extensions import db
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.operations.test_job_leases import NOW, _month, _verified_events
from tests.registry.conftest import OCTOBER


def _server_away_for(monkeypatch, calls: set[int]) -> None:
    """The verification's ``calls``-th chunks (1-based) meet a dropped connection, as SQLAlchemy reports it."""
    real, seen = reports.verify_acts, {"n": 0}

    def verify(acts, **kwargs):
        seen["n"] += 1
        if seen["n"] in calls:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                                   connection_invalidated=True)
        return real(acts, **kwargs)

    monkeypatch.setattr(reports, "verify_acts", verify)


def test_a_connection_lost_mid_run_resumes_the_run_without_incidents(app_ctx, country, monkeypatch):
    acts = _month(country)
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        run_id = run.id
        _server_away_for(monkeypatch, {2, 3})  # the second chunk, and the first act of it checked alone
        with pytest.raises(OperationalError):
            reports.run_month_verification(run_id, chunk_acts=1)
        monkeypatch.undo()

        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        assert (run.status, run.processed_acts, run.checkpoint) == ("running", 1, {"after_act_id": acts[0].id})
        assert db.session.scalar(select(func.count(Incident.id))) == 0, "no act is to blame"

        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(app_ctx)  # the reaper resumes the run after its last chunk

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.message is None and run.processed_acts == 4
    assert _verified_events(run_id) == {act.id: 1 for act in acts}, "every act verified once"
    assert db.session.scalar(select(func.count(Incident.id))) == 0


def _sqlite_locked(tmp_path) -> Exception:
    """SQLite's own "database is locked": a second writer of a scratch file meets the first's lock with no time to
    wait (the app waits ``busy_timeout``, 10 s, and then gets this)."""
    import sqlite3

    path = tmp_path / "locked.sqlite"
    holder, writer = sqlite3.connect(path, isolation_level=None), sqlite3.connect(path, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        writer.execute("CREATE TABLE t (x)")
    except sqlite3.OperationalError as err:
        return err
    finally:
        holder.close()
        writer.close()
    raise AssertionError("the scratch file was not locked")


def _sqlite_disk_io_error(_tmp_path) -> Exception:
    """SQLite's "disk I/O error" (a failing disk or network file system), carrying its result code as sqlite3 does."""
    import sqlite3

    err = sqlite3.OperationalError("disk I/O error")
    err.sqlite_errorcode, err.sqlite_errorname = 4874, "SQLITE_IOERR_SHORT_READ"
    return err


@pytest.mark.parametrize("condition", [_sqlite_locked, _sqlite_disk_io_error], ids=["locked", "disk_io"])
def test_a_locked_or_failing_sqlite_file_mid_run_resumes_the_run_without_incidents(app_ctx, country, monkeypatch,
                                                                                    tmp_path, condition):
    """SQLite's file locked by another writer past the busy timeout, or failing with a disk I/O error, under a chunk
    is the database's condition, not the acts': the chunk's acts were checked again one by one — meeting the same
    locked or failing file — and each became a "could not be checked" incident for an operator to retry, the run
    "done". An operator expects what a lost connection gets: the run keeps its checkpoint and the background pass
    resumes it after its last chunk, each act verified once, no incident."""
    driver = condition(tmp_path)
    acts = _month(country)
    real, seen = reports.verify_acts, {"n": 0}

    def verify(chunk, **kwargs):
        seen["n"] += 1
        if seen["n"] in (2, 3):  # the second chunk, and the first act of it checked alone
            raise OperationalError("UPDATE act ...", {}, driver) from driver
        return real(chunk, **kwargs)

    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        run_id = run.id
        with monkeypatch.context() as away:
            away.setattr(reports, "verify_acts", verify)
            with pytest.raises(OperationalError):
                reports.run_month_verification(run_id, chunk_acts=1)

        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        assert (run.status, run.processed_acts, run.checkpoint) == ("running", 1, {"after_act_id": acts[0].id})
        assert db.session.scalar(select(func.count(Incident.id))) == 0, "no act is to blame"

        frozen.advance(seconds=jobs.lease_seconds() + 1)
        tick(app_ctx)

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.message is None and run.processed_acts == 4
    assert _verified_events(run_id) == {act.id: 1 for act in acts}, "every act verified once"
    assert db.session.scalar(select(func.count(Incident.id))) == 0

