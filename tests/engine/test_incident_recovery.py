"""Incidents follow the instance: one is resolved (audited, with who and what) when the failed element later goes
through, and an instance that can never go on gets one instead of standing silently at "running".

Process-owner probe (findings 1 and 2): after a condition typo was corrected, published, the instance migrated and
the step completed, the instance page still showed "Incident gw_decision … 'decison' is not defined" and the row
stayed ``open``; an exclusive split into a parallel join left an instance "running" with no step, no timer and no
incident, for good."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine import incidents, migration, runtime
from app.engine.errors import StepFailed
from app.engine.incidents import Incident
from app.engine.models import ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import task_of, user
from tests.modeler.factory import chain_model, user_task

AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _decision_model(condition: str) -> dict[str, str]:
    """start → *Decide* (Operator) → gateway (``condition`` → *Yes*, default → *No*) → end."""
    gateway = '<bpmn:exclusiveGateway id="gw_decision" name="Decision?" default="f_no" />'
    extra_nodes = (user_task("yes", "Yes") + user_task("no", "No")
                   + '<bpmn:endEvent id="end_yes" /><bpmn:endEvent id="end_no" />')
    extra_flows = (f'<bpmn:sequenceFlow id="f_yes" sourceRef="gw_decision" targetRef="yes">'
                   f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>'
                   '<bpmn:sequenceFlow id="f_no" sourceRef="gw_decision" targetRef="no" />'
                   '<bpmn:sequenceFlow id="f_y_end" sourceRef="yes" targetRef="end_yes" />'
                   '<bpmn:sequenceFlow id="f_n_end" sourceRef="no" targetRef="end_no" />')
    return _in_lane(chain_model("decision", [("decide", "Operator", user_task("decide", "Decide")),
                                             ("gw_decision", "Operator", gateway)],
                                extra_nodes=extra_nodes, extra_flows=extra_flows, end=False),
                    "decision", ["yes", "no", "end_yes", "end_no"])


def _in_lane(files: dict[str, str], pid: str, ids: list[str]) -> dict[str, str]:
    """The extra nodes in the (only) Operator lane too."""
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in ids)
    files[f"{pid}.bpmn"] = files[f"{pid}.bpmn"].replace("</bpmn:lane>", refs + "</bpmn:lane>", 1)
    return files


def _publish(files):
    version, _created = publish_version(files)
    db.session.commit()
    return version


def _start(identifier: str) -> ProcessInstance:
    with clock.FrozenClock(AT):
        instance = runtime.start_instance(identifier, title=identifier, actor=user("owner"))
        db.session.commit()
    return instance


def _incidents(instance_id: int) -> list[Incident]:
    db.session.expire_all()
    return list(db.session.scalars(select(Incident).where(Incident.instance_id == instance_id).order_by(Incident.id)))


def test_a_completion_incident_is_resolved_when_its_element_goes_through_after_a_migration(world):
    _publish(_decision_model('decison == "yes"'))  # the typo: a name no step sets
    instance = _start("decision")
    instance_id = instance.id
    operator_user = user("operator")
    with clock.FrozenClock(AT), pytest.raises(StepFailed) as failed:
        runtime.complete_task(task_of(instance, "decide").id, operator_user, data={"comment": "yes"})
    db.session.rollback()
    incidents.record_completion_failure(instance_id, failed.value)  # as the inbox view does
    (incident,) = _incidents(instance_id)
    assert (incident.status, incident.element_id) == ("open", "gw_decision")

    fixed = _publish(_decision_model('comment == "yes"'))
    migration.migrate(db.session.get(ProcessInstance, instance_id), fixed, user("owner"))
    db.session.commit()
    assert _incidents(instance_id)[0].status == "open"  # migrated, but the gateway has not gone through yet

    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(db.session.get(ProcessInstance, instance_id), "decide").id, operator_user,
                              data={"comment": "yes"})
        db.session.commit()
    (incident,) = _incidents(instance_id)
    assert incident.status == "resolved"
    assert incident.resolved_by_id == operator_user.id
    assert "gw_decision" in incident.resolution and "completed a step" in incident.resolution
    assert incidents.open_incident_of(instance_id) is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.resolved",
                                                        AuditEvent.object_id == incident.id)).one()
    assert event.actor_id == operator_user.id and event.details["by"] == "task" and event.details["automatic"]


def _stuck_model(pid: str = "deadlock") -> dict[str, str]:
    """start → *Choose* → exclusive split (a never taken, b default) → script a / script b → parallel join → *After*."""
    extra_nodes = ('<bpmn:scriptTask id="a" name="A"><bpmn:script>pa = 1</bpmn:script></bpmn:scriptTask>'
                   '<bpmn:scriptTask id="b" name="B"><bpmn:script>pb = 1</bpmn:script></bpmn:scriptTask>'
                   '<bpmn:parallelGateway id="join" name="Both done" />' + user_task("after", "After join")
                   + '<bpmn:endEvent id="e" />')
    extra_flows = ('<bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a">'
                   '<bpmn:conditionExpression>1 == 2</bpmn:conditionExpression></bpmn:sequenceFlow>'
                   '<bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b" />'
                   '<bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="join" />'
                   '<bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="join" />'
                   '<bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="after" />'
                   '<bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="e" />')
    return _in_lane(chain_model(pid, [("choose", "Operator", user_task("choose", "Choose")),
                                      ("split", "Operator",
                                       '<bpmn:exclusiveGateway id="split" name="Which?" default="fb" />')],
                                extra_nodes=extra_nodes, extra_flows=extra_flows, end=False),
                    pid, ["a", "b", "join", "after", "e"])


def test_an_instance_that_can_never_go_on_gets_an_incident(world, monkeypatch):
    # A version published before the publish check refused a parallel join of an exclusive split's ways
    # (app.engine.gateway_matching): its instances still meet the join at run time.
    from app.engine import specs

    monkeypatch.setattr(specs, "join_problems", lambda trees: [])
    _publish(_stuck_model())
    instance = _start("deadlock")
    instance_id = instance.id
    assert _incidents(instance_id) == []  # waiting at a person's step is not stuck
    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(instance, "choose").id, user("operator"), data={"comment": "go"})
        db.session.commit()
    (incident,) = _incidents(instance_id)
    assert (incident.kind, incident.element_id, incident.status) == ("stuck", "join", "open")
    assert "Both done" in incident.message and "never taken" in incident.message
    assert db.session.get(ProcessInstance, instance_id).status == "error"  # shown as incident in the cockpit
    with pytest.raises(incidents.IncidentRefused):
        incidents.retry_incident(incident, user("admin"))


def _waiting_model(pid: str, node: str) -> dict[str, str]:
    return chain_model(pid, [("fill", "Operator", user_task("fill", "Fill in")), ("wait", "Operator", node)])


@pytest.mark.parametrize("node", [
    '<bpmn:intermediateCatchEvent id="wait" name="A week"><bpmn:timerEventDefinition><bpmn:timeDuration>"P7D"'
    '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
    '<bpmn:intermediateCatchEvent id="wait" name="Reply"><bpmn:messageEventDefinition messageRef="reply" />'
    '</bpmn:intermediateCatchEvent>',
    '<bpmn:intermediateCatchEvent id="wait" name="Go"><bpmn:signalEventDefinition signalRef="go" />'
    '</bpmn:intermediateCatchEvent>',
], ids=["timer", "message", "signal"])
def test_an_instance_waiting_for_an_event_is_not_stuck(world, node):
    files = _waiting_model("waits", node)
    # the reply and the signal come from another process of the model (a message nothing sends, or a signal nothing
    # throws, is refused: it would wait for good); this instance still waits for them
    files["waits.bpmn"] = files["waits.bpmn"].replace(
        '<bpmn:process ', '<bpmn:message id="reply" name="reply" /><bpmn:signal id="go" name="go" /><bpmn:process ',
        1).replace('</bpmn:definitions>', '<bpmn:process id="replier" isExecutable="true"><bpmn:startEvent id="rs" />'
                   '<bpmn:intermediateThrowEvent id="rg"><bpmn:signalEventDefinition signalRef="go" />'
                   '</bpmn:intermediateThrowEvent>'
                   '<bpmn:endEvent id="re"><bpmn:messageEventDefinition messageRef="reply" /></bpmn:endEvent>'
                   '<bpmn:sequenceFlow id="rf" sourceRef="rs" targetRef="rg" />'
                   '<bpmn:sequenceFlow id="rf2" sourceRef="rg" targetRef="re" /></bpmn:process></bpmn:definitions>')
    _publish(files)
    instance = _start("waits")
    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(instance, "fill").id, user("operator"), data={"comment": "ok"})
        db.session.commit()
    assert _incidents(instance.id) == []
    assert db.session.get(ProcessInstance, instance.id).status == "running"


def _timed_script_model(script: str) -> dict[str, str]:
    """start → *Fill in* → a day's timer → script *Compute* → *Check* → end."""
    timer = ('<bpmn:intermediateCatchEvent id="day" name="A day"><bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"'
             '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    return chain_model("timed", [("fill", "Operator", user_task("fill", "Fill in")), ("day", "Operator", timer),
                                 ("compute", "Operator", f'<bpmn:scriptTask id="compute" name="Compute"><bpmn:script>'
                                                         f'{script}</bpmn:script></bpmn:scriptTask>'),
                                 ("check", "Operator", user_task("check", "Check"))])


def test_a_halting_incident_is_resolved_by_the_timer_pass_that_runs_its_element_after_the_fix(world):
    _publish(_timed_script_model("total = 1 / 0"))
    instance = _start("timed")
    instance_id = instance.id
    with clock.FrozenClock(AT) as now:
        runtime.complete_task(task_of(instance, "fill").id, user("operator"), data={"comment": "ok"})
        db.session.commit()
        now.advance(days=2)
        assert runtime.fire_due_timers() == 0
        (incident,) = _incidents(instance_id)
        assert (incident.element_id, incident.status) == ("compute", "open")
        assert db.session.get(ProcessInstance, instance_id).status == "error"

        fixed = _publish(_timed_script_model("total = 1"))
        migration.migrate(db.session.get(ProcessInstance, instance_id), fixed, user("owner"))
        db.session.commit()
        assert _incidents(instance_id)[0].status == "open"  # the script has not run again yet
        # the migrated instance keeps its timer's due time (a day after it was armed, already past): the next pass
        # fires it again, with no clock moving
        assert runtime.fire_due_timers() == 1
    (incident,) = _incidents(instance_id)
    assert incident.status == "resolved" and incident.resolved_by_id is None  # the background pass
    assert "compute" in incident.resolution and "timer" in incident.resolution
    assert task_of(db.session.get(ProcessInstance, instance_id), "check").status == "open"
