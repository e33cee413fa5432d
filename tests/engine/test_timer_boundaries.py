"""A timer boundary event on a subprocess or a call activity ("escalate if the checks take more than ten days"):
supported as drawn. Interrupting, it cancels every open step inside and goes on from the boundary event;
non-interrupting, the steps inside stay open and the boundary path opens beside them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.engine import runtime
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START

_INNER = ('<bpmn:startEvent id="checks_start" />' + user_task("inner", "Check the documents")
          + '<bpmn:endEvent id="checks_end" />'
          '<bpmn:sequenceFlow id="i1" sourceRef="checks_start" targetRef="inner" />'
          '<bpmn:sequenceFlow id="i2" sourceRef="inner" targetRef="checks_end" />')


def _checks_with_deadline(kind: str, interrupting: bool) -> dict[str, str]:
    """*Checks* (a subprocess, or a call activity of the process ``checks``) with a ten-day timer boundary event
    to *Decide late checks*; after the checks, *Sign*."""
    if kind == "subProcess":
        activity = f'<bpmn:subProcess id="checks" name="Checks">{_INNER}</bpmn:subProcess>'
    else:
        activity = '<bpmn:callActivity id="checks" name="Checks" calledElement="documents" />'
    cancel = "true" if interrupting else "false"
    files = chain_model("deadline", [("checks", "Operator", activity), ("sign", "Operator", user_task("sign", "Sign"))],
                        extra_nodes=(
        f'<bpmn:boundaryEvent id="late" name="Ten days" attachedToRef="checks" cancelActivity="{cancel}">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"P10D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent>' + user_task("decide", "Decide late checks") + '<bpmn:endEvent id="decide_end" />'),
        extra_flows='<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="decide" />'
                    '<bpmn:sequenceFlow id="f_decide" sourceRef="decide" targetRef="decide_end" />')
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in ("late", "decide", "decide_end", "inner"))
    bpmn = files["deadline.bpmn"].replace("<bpmn:flowNodeRef>checks</bpmn:flowNodeRef>",
                                          f"<bpmn:flowNodeRef>checks</bpmn:flowNodeRef>{refs}")
    if kind == "callActivity":
        bpmn = bpmn.replace("</bpmn:definitions>",
                            '<bpmn:process id="documents" isExecutable="true"><bpmn:laneSet id="dls">'
                            '<bpmn:lane id="dl" name="Operator"><bpmn:flowNodeRef>inner</bpmn:flowNodeRef></bpmn:lane>'
                            f'</bpmn:laneSet>{_INNER}</bpmn:process></bpmn:definitions>')
    files["deadline.bpmn"] = bpmn
    return files


def _open_steps(instance_id: int) -> list[str]:
    return sorted(db.session.scalars(select(HumanTask.spec_name).where(HumanTask.instance_id == instance_id,
                                                                       HumanTask.status == "open")))


@pytest.mark.parametrize("kind", ["subProcess", "callActivity"])
@pytest.mark.parametrize(("interrupting", "after_ten_days"), [(True, ["decide"]), (False, ["decide", "inner"])],
                         ids=["interrupting", "non-interrupting"])
def test_a_timer_on_a_subprocess_or_call_activity_fires_as_drawn(world, kind, interrupting, after_ten_days):
    with clock.FrozenClock(START) as now:
        version, _created = publish_version(_checks_with_deadline(kind, interrupting))
        db.session.commit()
        instance_id = runtime.start_instance("deadline", title="Checks of Bilim", actor=user("owner")).id
        db.session.commit()
        assert _open_steps(instance_id) == ["inner"]
        assert db.session.get(ProcessInstance, instance_id).next_timer_at.replace(tzinfo=None) == \
            (START + timedelta(days=10)).replace(tzinfo=None)
        now.advance(days=10, minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
        assert _open_steps(instance_id) == after_ten_days
        for step in after_ten_days:
            (row,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                HumanTask.spec_name == step,
                                                                HumanTask.status == "open")).all()
            runtime.complete_task(row.id, user("operator"), data={"comment": "done"})
            db.session.commit()
    # interrupting: the checks were cancelled, the late path ended the instance; non-interrupting: the checks ended
    # normally and the flow went on to *Sign*
    assert _open_steps(instance_id) == ([] if interrupting else ["sign"])
    cancelled = db.session.scalars(select(HumanTask.spec_name).where(HumanTask.instance_id == instance_id,
                                                                     HumanTask.status == "cancelled")).all()
    assert cancelled == (["inner"] if interrupting else [])


def _with_reminder(timer: str) -> dict[str, str]:
    """*Sign* (the operator), and a non-interrupting timer event subprocess *Remind* that opens *Chase the
    signature* when ``timer`` is due — the way a Camunda or bpmn.io model says "remind them after five days"."""
    reminder = ('<bpmn:subProcess id="remind" name="Remind" triggeredByEvent="true">'
                '<bpmn:startEvent id="remind_start" isInterrupting="false"><bpmn:timerEventDefinition>'
                f'{timer}</bpmn:timerEventDefinition></bpmn:startEvent>' + user_task("chase", "Chase the signature")
                + '<bpmn:endEvent id="remind_end" />'
                '<bpmn:sequenceFlow id="r1" sourceRef="remind_start" targetRef="chase" />'
                '<bpmn:sequenceFlow id="r2" sourceRef="chase" targetRef="remind_end" /></bpmn:subProcess>')
    files = chain_model("reminder", [("sign", "Operator", user_task("sign", "Sign"))], extra_nodes=reminder)
    files["reminder.bpmn"] = files["reminder.bpmn"].replace(
        "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>chase</bpmn:flowNodeRef>")
    return files


@pytest.mark.parametrize("timer", ['<bpmn:timeDuration>"P5D"</bpmn:timeDuration>',
                                   '<bpmn:timeCycle>"R/P5D"</bpmn:timeCycle>'], ids=["duration", "cycle"])
def test_a_reminder_event_subprocess_ends_with_the_process(world, timer):
    """Probe (SpiffWorkflow 3.2): the process's end waited for the reminder's timer — an instance whose work was done
    stayed "running" until the timer was due, then opened *Chase the signature* for a signed contract (and with a
    cycle, never ended). In BPMN an event subprocess can start only while its process runs; ending the process ends
    the wait."""
    with clock.FrozenClock(START) as now:
        publish_version(_with_reminder(timer))
        db.session.commit()
        instance_id = runtime.start_instance("reminder", title="Contract of Bilim", actor=user("owner")).id
        db.session.commit()
        (sign,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
        runtime.complete_task(sign.id, user("operator"), data={"comment": "signed"})
        db.session.commit()
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.status == "completed" and instance.next_timer_at is None
        now.advance(days=6)
        runtime.fire_due_timers()
        db.session.commit()
        assert _open_steps(instance_id) == []


@pytest.mark.parametrize("timer", ['<bpmn:timeDuration>"P5D"</bpmn:timeDuration>',
                                   '<bpmn:timeCycle>"R/P5D"</bpmn:timeCycle>'], ids=["duration", "cycle"])
def test_a_reminder_that_came_keeps_the_process_until_it_is_done(world, timer):
    """The reminder fired while *Sign* was open: the process ends when both are done, as before — a cycle's too,
    though its timer waits again for the next round."""
    with clock.FrozenClock(START) as now:
        publish_version(_with_reminder(timer))
        db.session.commit()
        instance_id = runtime.start_instance("reminder", title="Contract of Bilim", actor=user("owner")).id
        db.session.commit()
        now.advance(days=5, minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
        assert _open_steps(instance_id) == ["chase", "sign"]
        for step in ("sign", "chase"):
            (row,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                HumanTask.spec_name == step,
                                                                HumanTask.status == "open")).all()
            assert db.session.get(ProcessInstance, instance_id).status == "running"
            runtime.complete_task(row.id, user("operator"), data={"comment": "done"})
            db.session.commit()
        assert db.session.get(ProcessInstance, instance_id).status == "completed"
