"""The cockpit's retry is the incident's retry (app.engine.incidents.retry_incident): the failed element runs
again; a new failure counts one more attempt on the same incident; success resolves it with the reason."""

from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.engine import runtime
from app.engine.incidents import Incident
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from tests.cockpit.conftest import confirmed
from tests.helpers import user
from tests.operations.conftest import SERVICE, START


def _incident(instance_id: int) -> Incident:
    db.session.expire_all()
    return db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()


def test_the_cockpit_retry_re_runs_the_failed_service_call(service_model, browser):
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        assert (_incident(instance_id).attempts, SERVICE["calls"]) == (1, 1)

        operator = browser("operator")
        page = operator.get(f"/instances/{instance_id}").get_data(as_text=True)
        assert 'id="retry-step"' in page and f'name="incident_id" value="{_incident(instance_id).id}"' in page
        # the registry is still down: the element ran again and failed again, on the same incident
        response = operator.post(f"/instances/{instance_id}/retry", confirmed("try again"))
        assert "The step failed again" in operator.get(response.headers["Location"]).get_data(as_text=True)
        incident = _incident(instance_id)
        assert (SERVICE["calls"], incident.attempts, incident.status) == (2, 2, "open")
        assert db.session.get(ProcessInstance, instance_id).status == "error"

        SERVICE["fail"] = False
        response = operator.post(f"/instances/{instance_id}/retry",
                                 confirmed("registry is back", incident_id=str(incident.id)))
        assert "The step was retried" in operator.get(response.headers["Location"]).get_data(as_text=True)
    incident = _incident(instance_id)
    assert (SERVICE["calls"], incident.status, incident.resolution) == (3, "resolved", "registry is back")
    assert db.session.get(ProcessInstance, instance_id).status == "running"
    assert db.session.scalars(select(HumanTask.status).where(HumanTask.instance_id == instance_id)).one() == "open"


def test_retry_needs_a_role_that_may_and_an_open_incident(service_model, browser):
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
    assert browser("auditor").post(f"/instances/{instance.id}/retry", confirmed()).status_code == 403
    assert browser("accountant").post(f"/instances/{instance.id}/retry", confirmed()).status_code == 404, \
        "an instance outside the accountant's organisation is not shown to them at all"
    operator = browser("operator")
    response = operator.post(f"/instances/{instance.id}/retry", confirmed(incident_id="999999"))
    assert "no open incident" in operator.get(response.headers["Location"]).get_data(as_text=True)
    assert SERVICE["calls"] == 1


def _events(instance_id: int, action: str) -> list:
    from app.audit.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance_id}",
                                                       AuditEvent.action == action)).all()


def test_a_retry_is_audited_with_who_and_the_state_it_left_and_completion_when_it_ends(world):
    """Issue 17 (mutation run of runtime.py): the retry's audit events — object, actor, the status it left — and
    the completion event when the retried step was the last; a retry that fails again carries the workflow,
    so the failed element is named."""
    import pytest

    from app.engine.errors import StepFailed
    from app.engine.publishing import publish_version
    from tests.modeler.factory import chain_model
    from tests.operations.conftest import service_task, timer

    SERVICE.update(fail=True, calls=0)
    publish_version(chain_model("last_call", [("wait", "Operator", timer()),
                                              ("lookup", "Operator", service_task("lookup", "tests/registry_lookup"))]))
    db.session.commit()
    operator = user("operator")
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("last_call", title="last call", actor=user("owner"))
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        instance = db.session.get(ProcessInstance, instance_id)
        assert (instance.status, instance.error_message) == ("error", "registry unavailable")

        with pytest.raises(StepFailed) as again:
            runtime.rerun_failed_step(instance, operator)
        assert again.value.workflow is not None
        assert runtime.failed_element(again.value, again.value.workflow) == "lookup"
        db.session.rollback()

        SERVICE["fail"] = False
        instance = db.session.get(ProcessInstance, instance_id)
        runtime.rerun_failed_step(instance, operator)
        db.session.commit()
    instance = db.session.get(ProcessInstance, instance_id)
    assert (instance.status, instance.error_message) == ("completed", None)
    [retried] = _events(instance_id, "instance.retried")
    assert (retried.object_type, retried.object_id, retried.actor_id, retried.details) == (
        "process_instance", instance_id, operator.id, {"status": "completed"})
    [completed] = _events(instance_id, "instance.completed")
    assert (completed.object_type, completed.object_id, completed.actor_id) == (
        "process_instance", instance_id, operator.id)
    assert completed.seq == retried.seq + 1


def test_a_retry_that_leaves_the_instance_running_is_not_a_completion(service_model):
    operator = user("operator")
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        SERVICE["fail"] = False
        runtime.rerun_failed_step(db.session.get(ProcessInstance, instance.id), operator)
        db.session.commit()
    [retried] = _events(instance.id, "instance.retried")
    assert (retried.actor_id, retried.details) == (operator.id, {"status": "running"})
    assert _events(instance.id, "instance.completed") == []


def test_a_timer_run_whose_instance_another_pass_advanced_meanwhile_records_no_incident(service_model, monkeypatch):
    """Ops probe: two overlapping Celery ticks ran one instance; the first completed it, the second's failure was then
    recorded as an open incident and an 'instance.failed' on the completed instance."""
    from sqlalchemy import text

    from app.engine.incidents import Incident as IncidentRow

    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)

        def other_pass_then_failure(*_args, **_kwargs):
            with db.engine.begin() as other:  # the other worker's transaction, committed while this one runs
                other.execute(text("UPDATE process_instance SET lock_version = lock_version + 1 WHERE id = :id"),
                              {"id": instance_id})
            raise RuntimeError("script budget exceeded under load")

        monkeypatch.setattr(runtime, "_run_engine", other_pass_then_failure)
        assert runtime.fire_due_timers() == 0
    db.session.expire_all()
    assert db.session.scalars(select(IncidentRow).where(IncidentRow.instance_id == instance_id)).first() is None
    assert db.session.get(ProcessInstance, instance_id).status == "running"
