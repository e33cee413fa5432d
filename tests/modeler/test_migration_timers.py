"""A waiting timer keeps its due time when its instance moves to a new version.

Reported by a process owner's session: the migration reset every waiting timer, which the library then armed again
from the moment of the migration — an act waiting ten days for acceptance, migrated on day 3 to fix a typo, was
escalated on day 13; every fix of a model postponed every escalation and payment deadline. The time the timer was
armed counts: the same timer keeps its due time; a changed duration counts from the arming time
(:func:`app.engine.timers.keep_timer_dues`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.engine import migration, runtime
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import school, user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, timer


def _acceptance(escalate_after: str = "P10D", accept_name: str = "Accept act") -> dict[str, str]:
    """*Accept act* [department] with an interrupting boundary timer "escalate after …" that takes the act to
    *Decide late act*."""
    files = chain_model("sla", [("accept", "Department official", user_task("accept", accept_name))], extra_nodes=(
        '<bpmn:boundaryEvent id="escalate" name="Escalate" attachedToRef="accept"><bpmn:timerEventDefinition>'
        f'<bpmn:timeDuration>"{escalate_after}"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        + user_task("late", "Decide late act") + '<bpmn:endEvent id="late_end" />'),
        extra_flows='<bpmn:sequenceFlow id="f_escalate" sourceRef="escalate" targetRef="late" />'
                    '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="late_end" />')
    files["sla.bpmn"] = files["sla.bpmn"].replace("<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>", "".join(
        f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in ("accept", "escalate", "late", "late_end")))
    return files


def _payment_wait(check_name: str = "Check") -> dict[str, str]:
    """*Fill in* → an intermediate timer (ten days) → *Check*."""
    return chain_model("pay", [("fill", "Operator", user_task("fill", "Fill in")),
                               ("wait", "Operator", timer("wait", "P10D")),
                               ("check", "Operator", user_task("check", check_name))])


def _publish(files):
    version, _created = publish_version(files)
    db.session.commit()
    return version


def _start(identifier: str) -> int:
    bilim = school("Bilim Innovation School")
    instance_id = runtime.start_instance(identifier, title="Act for October", actor=user("owner"),
                                         region_id=bilim.region_id, organisation_id=bilim.id).id
    db.session.commit()
    return instance_id


def _due(instance_id: int):
    due = db.session.get(ProcessInstance, instance_id).next_timer_at
    return due.replace(tzinfo=None) if due is not None else None


def _open_steps(instance_id: int) -> list[str]:
    return sorted(db.session.scalars(select(HumanTask.spec_name).where(HumanTask.instance_id == instance_id,
                                                                       HumanTask.status == "open")))


def _tick() -> None:
    """The ticker's pass (the demo world's own instances have timers too: the tests look at their instance)."""
    runtime.fire_due_timers()
    db.session.commit()


def _migrate(instance_id: int, target) -> None:
    migration.migrate(db.session.get(ProcessInstance, instance_id), target, user("owner"))
    db.session.commit()
    assert db.session.get(ProcessInstance, instance_id).model_version_id == target.id


def _arm_payment_wait() -> int:
    _publish(_payment_wait())
    instance_id = _start("pay")
    (fill,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
    runtime.complete_task(fill.id, user("operator"), data={"comment": "ok"})
    db.session.commit()
    return instance_id


def _arm_acceptance() -> int:
    _publish(_acceptance())
    return _start("sla")


@pytest.mark.parametrize(("arm", "fixed", "after"), [
    (_arm_acceptance, lambda: _acceptance(accept_name="Accept the act"), "late"),
    (_arm_payment_wait, lambda: _payment_wait(check_name="Check the payment"), "check")],
    ids=["boundary-timer", "intermediate-timer"])
def test_the_same_timer_keeps_the_due_time_it_was_armed_with(world, arm, fixed, after):
    """A typo fixed on day 3 of a ten-day wait: the timer still fires on day 10, not on day 13."""
    with clock.FrozenClock(START) as now:
        instance_id = arm()
        assert _due(instance_id) == (START + timedelta(days=10)).replace(tzinfo=None)
        now.advance(days=3)
        _migrate(instance_id, _publish(fixed()))
        assert _due(instance_id) == (START + timedelta(days=10)).replace(tzinfo=None), \
            "the ten days count from when the timer was armed, not from the migration"
        now.advance(days=7, minutes=-1)
        _tick()
        assert after not in _open_steps(instance_id)
        now.advance(minutes=2)
        _tick()
    assert _open_steps(instance_id) == [after]


@pytest.mark.parametrize(("before", "after", "migrated_after", "due"), [
    ("P10D", "P5D", timedelta(days=3), START + timedelta(days=5)),
    ("P10D", "P20D", timedelta(days=3), START + timedelta(days=20)),
    ("P10D", "P5D", timedelta(days=7), START + timedelta(days=5)),  # already past: fires on the next pass
    ("P1M", "P2M", timedelta(days=3), START.replace(year=2027, month=1)),  # calendar months from 5 November
], ids=["shortened", "lengthened", "shortened-into-the-past", "months"])
def test_a_changed_duration_counts_from_when_the_timer_was_armed(world, before, after, migrated_after, due):
    """The process owner shortens "escalate after 10 days" to 5: an act that has waited 3 days is escalated on
    day 5, as if the model had said 5 days when it arrived; one that has already waited 7 days is escalated now."""
    with clock.FrozenClock(START) as now:
        _publish(_acceptance(before))
        instance_id = _start("sla")
        now.advance(seconds=migrated_after.total_seconds())
        target = _publish(_acceptance(after))
        assert migration.dry_run(db.session.get(ProcessInstance, instance_id), target).changed_active == ["Escalate"]
        _migrate(instance_id, target)
        assert _due(instance_id) == due.replace(tzinfo=None)
        if due > now.at:
            now.at = due - timedelta(minutes=1)
            _tick()
            assert _open_steps(instance_id) == ["accept"]
            now.advance(minutes=2)
        _tick()
    assert _open_steps(instance_id) == ["late"]


def _wait_in_subprocess(check_name: str = "Check") -> dict[str, str]:
    """*Fill in* → a subprocess that waits ten days → *Check*."""
    inner = ('<bpmn:subProcess id="hold" name="Hold the payment"><bpmn:startEvent id="hold_start" />'
             + timer("wait", "P10D") + '<bpmn:endEvent id="hold_end" />'
             '<bpmn:sequenceFlow id="h1" sourceRef="hold_start" targetRef="wait" />'
             '<bpmn:sequenceFlow id="h2" sourceRef="wait" targetRef="hold_end" /></bpmn:subProcess>')
    return chain_model("held", [("fill", "Operator", user_task("fill", "Fill in")), ("hold", "Operator", inner),
                                ("check", "Operator", user_task("check", check_name))])


def test_a_timer_inside_a_subprocess_keeps_its_due_time(world):
    with clock.FrozenClock(START) as now:
        _publish(_wait_in_subprocess())
        instance_id = _start("held")
        (fill,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
        runtime.complete_task(fill.id, user("operator"), data={"comment": "ok"})
        db.session.commit()
        now.advance(days=3)
        _migrate(instance_id, _publish(_wait_in_subprocess(check_name="Check the payment")))
        assert _due(instance_id) == (START + timedelta(days=10)).replace(tzinfo=None)
        now.advance(days=7, minutes=1)
        _tick()
    assert _open_steps(instance_id) == ["check"]


def test_an_act_accepted_in_time_after_the_migration_is_not_escalated(world):
    """The kept due time belongs to the same boundary timer: accepting the act on day 9 still cancels it."""
    with clock.FrozenClock(START) as now:
        instance_id = _arm_acceptance()
        now.advance(days=3)
        _migrate(instance_id, _publish(_acceptance(accept_name="Accept the act")))
        assert _due(instance_id) == (START + timedelta(days=10)).replace(tzinfo=None)
        now.advance(days=6)
        (accept,) = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.status == "open")).all()
        runtime.complete_task(accept.id, user("official"), data={"comment": "accepted"})
        db.session.commit()
        now.advance(days=30)
        _tick()
    instance = db.session.get(ProcessInstance, instance_id)
    assert (instance.status, instance.next_timer_at, _open_steps(instance_id)) == ("completed", None, [])


def _reminding(accept_name: str = "Accept act") -> dict[str, str]:
    """*Accept act* [department] with a NON-interrupting boundary cycle timer that opens *Chase the act* every
    two days while the act waits."""
    files = chain_model("chase", [("accept", "Department official", user_task("accept", accept_name))], extra_nodes=(
        '<bpmn:boundaryEvent id="remind" name="Remind" attachedToRef="accept" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeCycle>"R3/P2D"</bpmn:timeCycle></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent>' + user_task("chase_up", "Chase the act") + '<bpmn:endEvent id="chase_end" />'),
        extra_flows='<bpmn:sequenceFlow id="f_remind" sourceRef="remind" targetRef="chase_up" />'
                    '<bpmn:sequenceFlow id="f_chase" sourceRef="chase_up" targetRef="chase_end" />')
    files["chase.bpmn"] = files["chase.bpmn"].replace("<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>", "".join(
        f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in ("accept", "remind", "chase_up", "chase_end")))
    return files


def test_a_reminder_a_cycle_timer_opened_survives_the_migration(world):
    """A non-interrupting cycle timer on a waiting step opened its reminder on day 2; the model's typo was fixed on
    day 3. The reminder the official had in the inbox was dropped by the migration (the timer's count and next due
    time were restored, the step it had opened was not)."""
    with clock.FrozenClock(START) as now:
        _publish(_reminding())
        instance_id = _start("chase")
        now.advance(days=2, minutes=1)
        _tick()
        assert _open_steps(instance_id) == ["accept", "chase_up"]
        now.advance(days=1)
        _migrate(instance_id, _publish(_reminding(accept_name="Accept the act")))
        assert _open_steps(instance_id) == ["accept", "chase_up"], "the reminder already opened stays open"
        now.advance(days=1, minutes=1)  # day 4: the cycle's second reminder
        _tick()
        assert _open_steps(instance_id) == ["accept", "chase_up", "chase_up"]
        for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.status == "open")
                                       .order_by(HumanTask.spec_name.desc())).all():
            runtime.complete_task(task.id, user("official"), data={"comment": "done"})
            db.session.commit()
        now.advance(days=30)
        _tick()
    instance = db.session.get(ProcessInstance, instance_id)
    assert (instance.status, instance.next_timer_at, _open_steps(instance_id)) == ("completed", None, [])
