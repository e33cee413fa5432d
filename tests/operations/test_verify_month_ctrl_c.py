"""``flask verify-month`` stopped with Ctrl-C. The interruption had landed wherever the command was (in the middle of a
chunk's write, in the driver's own code) and the run stayed "running": once its lease ran out the background pass
resumed it, minutes later, in another process — a verification the operator believed stopped went on and finished.

Now the first Ctrl-C stops the run once the chunk being verified is saved, a second at once (that chunk rolled back);
either way the run ends "stopped" — a state of its own, not "failed": the operator chose it, and every list of runs had
shown it as a failure — with the reason "stopped on the command line", lets go of its lease (nothing for the
background pass to resume), and the command says how far it got and exits 130. The month's acts stay whole: each is
verified by the run or keeps its last check, so nothing is owed — running the command again verifies the month."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

from sqlalchemy import select

from app import clock, jobs
from app.acts.models import Act
from app.extensions import db
from app.reports import operations as reports
from app.reports.models import VerificationRun
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period


def _ctrl_c_during_chunk(monkeypatch, chunk: int, presses: int) -> None:
    """The operator presses Ctrl-C ``presses`` times while chunk ``chunk`` (one act) is being written (verified, its
    commit not yet): the signal this process gets from the terminal, handled by the command's own handler."""
    assert threading.current_thread() is threading.main_thread(), "signal handlers run in the main thread"
    real, seen = jobs.heartbeat, {"chunks": 0}

    def heartbeat(job, **kwargs):
        seen["chunks"] += 1
        if seen["chunks"] == chunk:
            for _ in range(presses):
                os.kill(os.getpid(), signal.SIGINT)
        return real(job, **kwargs)

    monkeypatch.setattr(jobs, "heartbeat", heartbeat)
    monkeypatch.setattr(reports, "CHUNK_ACTS", 1, raising=False)


def _stopped_run(app_ctx) -> tuple:
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status, act.verified_at = "submitted", None
    db.session.commit()
    assert len(acts) >= 3
    before = signal.getsignal(signal.SIGINT)
    ran = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", f"{acts[0].period:%Y-%m}"])
    assert signal.getsignal(signal.SIGINT) is before, "the command gives Ctrl-C back as it found it"
    db.session.rollback()
    return ran, db.session.scalars(select(VerificationRun)).one(), [act.id for act in acts]


def _verified(act_ids: list[int]) -> list[int]:
    db.session.expire_all()
    return [act_id for act_id in act_ids if db.session.get(Act, act_id).verified_at is not None]


def _nothing_left_to_resume() -> None:
    with clock.FrozenClock(clock.now() + timedelta(hours=1)):
        assert jobs.reap_expired_jobs() == 0, "nothing for the background pass to resume"


def test_a_ctrl_c_stops_verify_month_once_the_chunk_under_way_is_saved(world, app_ctx, monkeypatch):
    _ctrl_c_during_chunk(monkeypatch, chunk=1, presses=1)

    ran, run, act_ids = _stopped_run(app_ctx)

    assert ran.exit_code == 130, ran.output
    assert "Stopping once the chunk of acts being verified is saved (Ctrl-C again to stop at once)" in ran.stderr
    assert (f"■ Stopped on the command line (Ctrl-C) after 1 of {len(act_ids)} act(s): those acts are verified, the "
            "others keep their last check. Run `flask verify-month --period") in ran.stderr
    assert (run.status, run.message) == ("stopped", f"interrupted:after 1 of {len(act_ids)} act(s)")
    assert run.lease_expires_at is None and run.finished_at is not None
    assert _verified(act_ids) == act_ids[:1], "the chunk under way saved, none after it"
    _nothing_left_to_resume()


def test_a_second_ctrl_c_stops_verify_month_at_once_and_undoes_the_chunk_under_way(world, app_ctx, monkeypatch):
    _ctrl_c_during_chunk(monkeypatch, chunk=2, presses=2)

    ran, run, act_ids = _stopped_run(app_ctx)

    assert ran.exit_code == 130, ran.output
    assert f"■ Stopped on the command line (Ctrl-C) after 1 of {len(act_ids)} act(s)" in ran.stderr
    assert (run.status, run.message) == ("stopped", f"interrupted:after 1 of {len(act_ids)} act(s)")
    assert run.lease_expires_at is None
    assert _verified(act_ids) == act_ids[:1], "chunk 2 undone, chunk 1 kept"
    _nothing_left_to_resume()


def test_the_run_stopped_on_the_command_line_says_so_on_its_page(world, app_ctx, monkeypatch, browser):
    _ctrl_c_during_chunk(monkeypatch, chunk=1, presses=1)
    _ran, run, _act_ids = _stopped_run(app_ctx)

    operator = browser("operator")
    page = operator.get(f"/reports/verification/{run.id}").get_data(as_text=True)
    assert "it was stopped on the command line (Ctrl-C) before its end" in page
    assert 'id="run-stopped"' in page and "nothing failed" in page
    assert 'id="run-failed"' not in page and "The verification failed" not in page
    assert 'class="badge job-status-stopped bg-warning text-dark">stopped</span>' in page
    listed = operator.get("/reports/verification").get_data(as_text=True)
    assert "job-status-stopped" in listed and "job-status-failed" not in listed and ">failed<" not in listed
    progress = operator.get(f"/reports/verification/{run.id}/progress").get_data(as_text=True)
    assert "Status: stopped." in progress and "The verification failed" not in progress


def test_a_stopped_run_is_recorded_as_stopped_counted_apart_and_the_month_can_be_verified_again(
        world, app_ctx, monkeypatch, browser):
    """Stopped is final as failed is — not resumed — and the operator starts the month again as after a failure; the
    audit trail and /metrics say "stopped", not "failed"."""
    from app.audit.models import AuditEvent

    _ctrl_c_during_chunk(monkeypatch, chunk=1, presses=1)
    _ran, run, act_ids = _stopped_run(app_ctx)
    monkeypatch.undo()

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "verification_run",
                                                          AuditEvent.action != "verification.started"))
    assert (event.action, event.details["by"]) == ("verification.stopped", "command line")
    monkeypatch.setitem(app_ctx.config, "METRICS_TOKEN", "t")
    metrics = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    assert 'tapsyrys_background_jobs{kind="verification_run",state="stopped"} 1.0' in metrics
    assert 'tapsyrys_background_jobs{kind="verification_run",state="failed"} 0.0' in metrics
    _nothing_left_to_resume()
    assert reports.run_month_verification(run.id).status == "stopped", "never claimed again"

    again = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", f"{run.period:%Y-%m}"])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(select(VerificationRun).order_by(VerificationRun.id))] == [
        "stopped", "done"]
    assert _verified(act_ids) == act_ids
