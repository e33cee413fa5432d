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
