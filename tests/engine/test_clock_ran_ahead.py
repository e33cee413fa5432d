"""Timers armed while the server's clock ran ahead (an NTP jump, a virtual machine restored from a snapshot), the clock
corrected back since: a due time further ahead than the timer's own definition allows is recomputed, counting from
now (the latest moment it may have been armed), and said in the instance's audit trail — never waited for silently."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START

AHEAD = timedelta(days=200)  # what the clock said was 200 days later than it was


def _reminder_model(timer: str) -> dict[str, str]:
    """*Sign* with a non-interrupting boundary timer ``timer`` opening *Chase the signature*."""
    files = chain_model("sign_it", [("sign", "Operator", user_task("sign", "Sign"))], extra_nodes=(
        '<bpmn:boundaryEvent id="late" name="Five days" attachedToRef="sign" cancelActivity="false">'
        f'<bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        + user_task("chase", "Chase the signature") + '<bpmn:endEvent id="chase_end" />'),
        extra_flows='<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="chase" />'
                    '<bpmn:sequenceFlow id="f_chase" sourceRef="chase" targetRef="chase_end" />')
    files["sign_it.bpmn"] = files["sign_it.bpmn"].replace(
        "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>late</bpmn:flowNodeRef><bpmn:flowNodeRef>chase</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>chase_end</bpmn:flowNodeRef>")
    return files


def _open_steps(instance_id: int) -> list[str]:
    return sorted(db.session.scalars(select(HumanTask.spec_name).where(HumanTask.instance_id == instance_id,
                                                                       HumanTask.status == "open")))


def _start_with_clock_ahead(timer: str) -> int:
    with clock.FrozenClock(START):
        publish_version(_reminder_model(timer))
        db.session.commit()
    with clock.FrozenClock(START + AHEAD):  # the clock jumped ahead: the instance starts, its timer is armed
        instance_id = runtime.start_instance("sign_it", title="Contract of Bilim", actor=user("owner")).id
        db.session.commit()
    return instance_id


def _due(instance_id: int):
    return db.session.get(ProcessInstance, instance_id).next_timer_at.replace(tzinfo=None)


def test_a_duration_timer_armed_by_a_clock_ahead_fires_after_its_duration_counted_from_the_correction(world):
    instance_id = _start_with_clock_ahead('<bpmn:timeDuration>"P5D"</bpmn:timeDuration>')
    assert _due(instance_id) == (START + AHEAD + timedelta(days=5)).replace(tzinfo=None)
    with clock.FrozenClock(START + timedelta(hours=1)) as now:  # the clock was corrected back
        runtime.fire_due_timers()  # the background pass: the due time is now at most five days ahead
        db.session.commit()
        assert _due(instance_id) == (START + timedelta(hours=1, days=5)).replace(tzinfo=None)
        now.advance(days=5, minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
    assert _open_steps(instance_id) == ["chase", "sign"]
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.due_corrected",
                                                           AuditEvent.object_id == instance_id)).all()
    assert event.details["element"] == "late"
    assert event.details["was"].startswith(str((START + AHEAD + timedelta(days=5)).date()))


def test_a_cycle_timer_armed_by_a_clock_ahead_repeats_from_the_correction(world):
    instance_id = _start_with_clock_ahead('<bpmn:timeCycle>"R3/P5D"</bpmn:timeCycle>')
    with clock.FrozenClock(START + timedelta(hours=1)) as now:
        runtime.fire_due_timers()
        db.session.commit()
        assert _due(instance_id) == (START + timedelta(hours=1, days=5)).replace(tzinfo=None)
        now.advance(days=5, minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
    assert _open_steps(instance_id) == ["chase", "sign"]


def test_a_timer_within_its_definition_is_left_alone(world):
    """A clock seconds off (an ordinary NTP step), a month of 31 days counted from the arming: no correction."""
    instance_id = _start_with_clock_ahead('<bpmn:timeDuration>"P1M"</bpmn:timeDuration>')
    due = _due(instance_id)
    with clock.FrozenClock(START + AHEAD - timedelta(seconds=30)):
        runtime.fire_due_timers()
        db.session.commit()
    assert _due(instance_id) == due
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.due_corrected")).all()


def test_an_acceptance_deadline_set_by_a_clock_ahead_is_recounted_in_working_days_and_escalates(world):
    """The act's acceptance deadline (five working days, computed by a step when the act is submitted) was set by a
    clock 200 days ahead: the inbox showed a deadline in June and the head was never told. Corrected, the task and the
    boundary timer are due five working days from the correction, and the escalation comes then."""
    from app.acts.operations import prefill_lines
    from app.contracts.sla import add_working_days
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Nur Private School")
    with clock.FrozenClock(START + AHEAD):
        runtime.complete_task(open_task(act, "submit_act").id, user("accountant2"), data={"lines": prefill_lines(act)})
        db.session.commit()
    task = open_task(act, "accept_act")
    assert task.due_at.replace(tzinfo=None) > (START + AHEAD).replace(tzinfo=None)
    with clock.FrozenClock(START + timedelta(hours=1)) as now:  # Thursday 5 November 2026, 14:00 in Astana
        runtime.fire_due_timers()
        db.session.commit()
        expected = add_working_days(START + timedelta(hours=1), 5)
        assert open_task(act, "accept_act").due_at.replace(tzinfo=None) == expected.replace(tzinfo=None)
        assert _due(act.instance_id) == expected.replace(tzinfo=None)
        now.at = expected + timedelta(minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
    escalated = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.escalated",
                                                            AuditEvent.object_id == act.id)).all()
    assert len(escalated) == 1
    corrected = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.chain == f"instance:{act.instance_id}", AuditEvent.action.like("%due_corrected"))).all()
    assert sorted(corrected) == ["task.due_corrected", "timer.due_corrected"]


def test_a_cycle_whose_start_is_long_past_fires_once_for_the_rounds_missed(world):
    """"R/2020-01-01T09:00:00+05:00/P1D" (a start in the past, valid ISO 8601): the library fired one round per
    background pass — a reminder every 30 seconds for each day since 2020. The rounds already past fire once."""
    with clock.FrozenClock(START) as now:
        publish_version(_reminder_model('<bpmn:timeCycle>"R/2020-01-01T09:00:00+05:00/P1D"</bpmn:timeCycle>'))
        db.session.commit()
        instance_id = runtime.start_instance("sign_it", title="Contract of Bilim", actor=user("owner")).id
        db.session.commit()
        for _pass in range(3):
            now.advance(seconds=30)
            runtime.fire_due_timers()
            db.session.commit()
        chases = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.spec_name == "chase")).all()
        assert len(chases) == 1
        assert _due(instance_id) == datetime(2026, 11, 6, 4, 0)  # the next round: 09:00 in Astana tomorrow


def test_a_cycle_with_no_time_between_rounds_is_refused_at_publish_on_its_element(app_ctx):
    """"R/PT0S" is valid ISO 8601, and the engine fired it at every background pass, for ever."""
    from app.engine.specs import validate_files

    _parsed, problems = validate_files(_reminder_model('<bpmn:timeCycle>"R/PT0S"</bpmn:timeCycle>'))
    assert [(p.element_id, "no time between its rounds" in p.message) for p in problems] == [("late", True)]
    assert problems[0].line
    _parsed, problems = validate_files(_reminder_model('<bpmn:timeDuration>"PT0S"</bpmn:timeDuration>'))
    assert problems == []  # a duration of zero fires at the next pass, once


def _hold_while_corrected(instance_id: int, hold, release) -> None:
    """The instance is held (an incident halts it, or it is suspended) while the clock ahead is corrected back: the
    background pass takes running instances only and leaves it. Released with the clock right, its timer must still
    be put right — the release wrote ``updated_at`` = now, which was the only mark of the clock ahead, and the timer
    stayed 200 days out."""
    with clock.FrozenClock(START + AHEAD + timedelta(hours=1)):
        hold(db.session.get(ProcessInstance, instance_id))
        db.session.commit()
    with clock.FrozenClock(START + timedelta(hours=1)) as now:
        runtime.fire_due_timers()  # passes it by: it is not running
        db.session.commit()
        release(db.session.get(ProcessInstance, instance_id))
        db.session.commit()
        runtime.fire_due_timers()
        db.session.commit()
        assert _due(instance_id) == (START + timedelta(hours=1, days=5)).replace(tzinfo=None)
        now.advance(days=5, minutes=1)
        runtime.fire_due_timers()
        db.session.commit()
    assert _open_steps(instance_id) == ["chase", "sign"]


def test_a_timer_armed_ahead_is_corrected_after_an_incident_held_the_instance_through_the_correction(world):
    from app.engine.incidents import open_incident_of, record_incident, resolve_incident

    instance_id = _start_with_clock_ahead('<bpmn:timeDuration>"P5D"</bpmn:timeDuration>')
    _hold_while_corrected(
        instance_id, lambda instance: record_incident(instance.id, RuntimeError("registry down"), element_id="sign"),
        lambda instance: resolve_incident(open_incident_of(instance.id), user("admin"), "registry back"))


def test_a_timer_armed_ahead_is_corrected_after_an_incident_failed_again_and_was_retried(world):
    """The retry that fails again records the incident anew (``updated_at`` = now); the retry after it succeeds."""
    from app.engine.incidents import open_incident_of, record_incident, retry_incident

    instance_id = _start_with_clock_ahead('<bpmn:timeDuration>"P5D"</bpmn:timeDuration>')

    def fail_again_then_retry(instance):
        record_incident(instance.id, RuntimeError("registry still down"), element_id="sign")
        db.session.commit()
        assert retry_incident(open_incident_of(instance.id), user("admin"), "registry back")

    _hold_while_corrected(
        instance_id, lambda instance: record_incident(instance.id, RuntimeError("registry down"), element_id="sign"),
        fail_again_then_retry)


def test_a_timer_armed_ahead_is_corrected_after_the_instance_was_suspended_through_the_correction(world):
    from app.processes.operations import resume_instance, suspend_instance

    instance_id = _start_with_clock_ahead('<bpmn:timeDuration>"P5D"</bpmn:timeDuration>')
    _hold_while_corrected(instance_id, lambda instance: suspend_instance(instance, user("admin"), "audit check"),
                          lambda instance: resume_instance(instance, user("admin"), "checked"))
