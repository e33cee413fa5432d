"""PostgreSQL restarting under the month-wide verification in the in-process runner (thread mode; the Celery task runs
the same ``run_job``): every backend of the application's database but the killer's is terminated
(``pg_terminate_backend``, what a restart does to them) in the middle of the run. The run keeps its lease and
checkpoint, its runner says so in one line — it had logged the run's warning and then an ERROR with the driver's
traceback, for a database's moment that points at no bug — and once the lease expires the background pass resumes it:
every act verified once, no incident."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, func, select, text

from app import clock, jobs
from app.background import tick
from app.engine.incidents import Incident
from app.extensions import db
from app.registry import jobs as runner
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.operations.test_job_leases import NOW, _month, _verified_events
from tests.registry.conftest import OCTOBER


@pytest.fixture()
def killer(app_ctx, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server's backends to terminate: PostgreSQL (DATABASE_URL); SQLite's moments: "
                    "test_verification_connection_lost")
    engine = create_engine(app_ctx.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")

    def terminate_all() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()

    yield terminate_all
    engine.dispose()


def test_the_server_restarting_mid_run_resumes_it_each_act_once(app_ctx, country, killer, monkeypatch, caplog):
    acts = _month(country)
    real_verify, calls, killed = reports.verify_acts, {"n": 0}, []

    def verify(chunk, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second chunk: the first is committed
            killed.append(killer())
        return real_verify(chunk, **kwargs)

    real_run = reports.run_month_verification
    monkeypatch.setattr(reports, "verify_acts", verify)
    monkeypatch.setattr(reports, "run_month_verification", lambda run_id: real_run(run_id, chunk_acts=1))
    monkeypatch.setitem(app_ctx.config, "BACKGROUND_MODE", "inprocess")
    with clock.FrozenClock(NOW) as frozen:
        run = reports.start_month_verification(OCTOBER, actor=None, dispatch_job=False)
        db.session.commit()
        run_id = run.id
        with caplog.at_level(logging.WARNING):
            runner.dispatch("tapsyrys.reports.verify_month", run_id)
            assert runner.wait_for_inprocess_jobs(120)
        assert killed and killed[0] >= 1
        failures = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("app.")]
        assert len(failures) == 1 and failures[0].exc_info is None, [r.getMessage() for r in failures]
        assert "terminating connection due to administrator command" in failures[0].getMessage()

        db.session.rollback()  # this session's own connection may be one of those terminated
        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        assert (run.status, run.processed_acts, run.checkpoint) == ("running", 1, {"after_act_id": acts[0].id})
        assert db.session.scalar(select(func.count(Incident.id))) == 0, "no act is to blame"

        frozen.advance(seconds=jobs.lease_seconds() + 1)
        assert tick(app_ctx) == 0  # the reaper sends the run again, to a thread of this process
        assert runner.wait_for_inprocess_jobs(120)

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.message is None and run.processed_acts == len(acts)
    assert _verified_events(run_id) == {act.id: 1 for act in acts}, "every act verified once"
    assert db.session.scalar(select(func.count(Incident.id))) == 0
