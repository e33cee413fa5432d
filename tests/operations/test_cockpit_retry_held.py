"""The cockpit's retry of an incident meeting a row another transaction holds (someone saving the act just now, a job, a
transaction left open) past the lock limit. It was counted as the step failing again: one more attempt on the incident,
an ``instance.failed`` event, and "The step failed again: …" with the driver's sentence on the operator's page. It is
the moment's, not the step's: the operator is told the record is held and to try again, nothing of the attempt is kept
and the incident stays exactly as it was; tried again once the transaction has ended, the retry goes through. The
background pass's scheduled retry leaves it due, for its next pass.

The first test has the step meet the lock limit as PostgreSQL's ``lock_timeout`` raises it (SQLSTATE 55P03), on either
database; the others hold the act for real: a second connection's row lock (PostgreSQL), the file's write lock
(SQLite)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.incidents import Incident, record_incident, retry_due_incidents
from app.engine.models import ProcessInstance
from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from tests.cockpit.conftest import confirmed
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations import test_lock_held_elsewhere as held_elsewhere
from tests.operations.conftest import START, service_task, timer
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period
from tests.operations.test_lock_held_elsewhere import _hold, _LockNotAvailable, _while_held

#: a real second connection holding a row (PostgreSQL), the SQLite file's write lock held: that module's fixtures
holder, file_held = held_elsewhere.holder, held_elsewhere.file_held

HELD_SAID = ("Another transaction is holding a record this step needs (someone saving it just now, a job), so nothing "
             "was retried and the incident is unchanged. Try again in a moment.")

LOOKUP = {"mode": "fail"}


@operator("tests/lookup_then_held", {}, "A registry write that fails, then meets a held row (tests only).")
def _lookup_then_held(ctx):
    if LOOKUP["mode"] == "fail":
        raise ConnectionError("registry unavailable")
    if LOOKUP["mode"] == "held":
        raise OperationalError("UPDATE act SET …", {}, _LockNotAvailable("canceling statement due to lock timeout"))
    return {"found": True}


def _state(incident_id: int) -> tuple:
    """What a retry must not change when it met a held row: the incident as it is, and the instance's failure events."""
    db.session.expire_all()
    incident = db.session.get(Incident, incident_id)
    failed = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.chain == f"instance:{incident.instance_id}", AuditEvent.action.in_(("instance.failed",
                                                                                        "incident.retried"))))
    return (incident.status, incident.attempts, incident.message, incident.detail, incident.updated_at,
            incident.next_retry_at, failed)


def _said(page) -> str:
    return page.get_data(as_text=True)


def test_a_cockpit_retry_meeting_a_held_row_counts_nothing_and_says_try_again(world, browser):
    LOOKUP["mode"] = "fail"
    publish_version(chain_model("held_retry", [("wait", "Operator", timer()),
                                               ("lookup", "Operator", service_task("lookup", "tests/lookup_then_held")),
                                               ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    with clock.FrozenClock(START) as frozen:
        instance_id = runtime.start_instance("held_retry", title="held retry", actor=user("owner")).id
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        incident_id = db.session.scalars(select(Incident.id).where(Incident.instance_id == instance_id)).one()
        before = _state(incident_id)
        assert before[:2] == ("open", 1)

        LOOKUP["mode"] = "held"
        frozen.advance(minutes=5)
        operator = browser("operator")
        answer = operator.post(f"/instances/{instance_id}/retry", confirmed("try again", incident_id=str(incident_id)))
        page = _said(operator.get(answer.headers["Location"]))
        assert HELD_SAID in page
        assert "The step failed again" not in page and "lock timeout" not in page
        assert _state(incident_id) == before, "nothing counted, the incident as it was"
        assert db.session.get(ProcessInstance, instance_id).status == "error"

        # the background pass's scheduled retry: left due, for its next pass
        incident = db.session.get(Incident, incident_id)
        incident.status, incident.next_retry_at = "retrying", clock.now() - timedelta(minutes=1)
        db.session.commit()
        scheduled = _state(incident_id)
        assert retry_due_incidents() == 0
        assert _state(incident_id) == scheduled

        LOOKUP["mode"] = "ok"
        answer = operator.post(f"/instances/{instance_id}/retry",
                               confirmed("the save ended", incident_id=str(incident_id)))
        assert "The step was retried" in _said(operator.get(answer.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Incident, incident_id).status == "resolved"


def _verification_incident() -> tuple[Act, int]:
    """An act of the month whose month-wide check failed: a ``verification`` incident on its process."""
    acts = _month_acts(_month_acts_period())
    act = acts[1]
    act.status, act.verified_at = "submitted", None
    incident = record_incident(act.instance_id, RuntimeError("registry unavailable"), element_id="verify_contingent",
                               kind="verification", halt=False)
    db.session.commit()
    return act, incident.id


def _retried_after_the_transaction(operator, act_id: int, instance_id: int, incident_id: int) -> None:
    answer = operator.post(f"/instances/{instance_id}/retry", confirmed("the save ended", incident_id=str(incident_id)))
    assert "The step was retried" in _said(operator.get(answer.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Incident, incident_id).status == "resolved"
    assert db.session.get(Act, act_id).status == "verified"


def test_a_verification_retry_meeting_a_held_act_says_try_again_on_postgresql(world, app_ctx, holder, browser,
                                                                               monkeypatch):
    act, incident_id = _verification_incident()
    act_id, instance_id = act.id, act.instance_id
    before = _state(incident_id)
    operator = browser("operator")
    operator.get(f"/instances/{instance_id}")
    monkeypatch.setitem(app_ctx.config, "REQUEST_LOCK_TIMEOUT_SECONDS", 1)

    jammed, answer = _while_held(app_ctx, _hold(holder, act_id), lambda: operator.post(
        f"/instances/{instance_id}/retry", confirmed("try again", incident_id=str(incident_id))))

    assert not jammed, "the retry waited for the open transaction"
    assert HELD_SAID in _said(operator.get(answer.headers["Location"]))
    assert _state(incident_id) == before, "nothing counted, the incident as it was"
    assert db.session.get(Act, act_id).verified_at is None
    _retried_after_the_transaction(operator, act_id, instance_id, incident_id)


def test_a_verification_retry_meeting_the_database_file_held_says_try_again_on_sqlite(world, app_ctx, file_held,
                                                                                       browser):
    act, incident_id = _verification_incident()
    act_id, instance_id = act.id, act.instance_id
    before = _state(incident_id)
    operator = browser("operator")
    operator.get(f"/instances/{instance_id}")

    file_held.execute("BEGIN IMMEDIATE")
    try:
        answer = operator.post(f"/instances/{instance_id}/retry",
                               confirmed("try again", incident_id=str(incident_id)))
    finally:
        file_held.execute("ROLLBACK")

    assert answer.status_code == 302, _said(answer)
    assert HELD_SAID in _said(operator.get(answer.headers["Location"]))
    assert _state(incident_id) == before, "nothing counted, the incident as it was"
    assert db.session.get(Act, act_id).verified_at is None
    _retried_after_the_transaction(operator, act_id, instance_id, incident_id)
