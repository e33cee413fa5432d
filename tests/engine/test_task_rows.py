"""The human-task rows mirror the workflow after every step (``runtime._sync``): a task the workflow no longer
waits for is closed as cancelled, whichever path removed it.

Issue 17: the mutation run of ``app/engine/runtime.py`` showed that a completion could leave open the row of a
parallel task the process had just terminated (the row stayed in the inbox of a finished instance) without a test
noticing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine import runtime, signals
from app.engine.errors import ModelInvalid
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import NS, chain_model, user_task

AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _rows(instance_id: int) -> dict[str, tuple]:
    db.session.expire_all()
    return {t.spec_name: (t.status, t.completed_at is not None) for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id))}


def _complete(instance_id: int, spec_name: str) -> None:
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == spec_name)).one()
    runtime.complete_task(task.id, user("operator"), data={"comment": "ok"})
    db.session.commit()


def test_completing_one_branch_that_terminates_the_process_cancels_the_other_branchs_task(world):
    """start → *Prepare* → fork → *Approve* → terminate end; fork → *Comment* → end. Approving ends the whole
    process: the *Comment* row, still open a moment ago, is closed as cancelled in the same step; the row of
    *Prepare*, completed earlier, stays completed."""
    model = chain_model("fork_terminate", [
        ("prepare", "Operator", user_task("prepare", "Prepare")),
        ("fork", "Operator", '<bpmn:parallelGateway id="fork" />'),
        ("approve", "Operator", user_task("approve", "Approve")),
        ("stop", "Operator", '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent>')],
        end=False,
        extra_nodes=user_task("comment", "Comment") + '<bpmn:endEvent id="comment_end" />',
        extra_flows=('<bpmn:sequenceFlow id="f_fork_comment" sourceRef="fork" targetRef="comment" />'
                     '<bpmn:sequenceFlow id="f_comment_end" sourceRef="comment" targetRef="comment_end" />'))
    name = "fork_terminate.bpmn"  # the second branch drawn in the same lane
    model[name] = model[name].replace("<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>",
                                      "<bpmn:flowNodeRef>approve</bpmn:flowNodeRef><bpmn:flowNodeRef>comment"
                                      "</bpmn:flowNodeRef><bpmn:flowNodeRef>comment_end</bpmn:flowNodeRef>")
    publish_version(model)
    db.session.commit()
    completed_tasks, completed_instances = [], []

    def on_task(task, **_kwargs):
        completed_tasks.append(getattr(task, "spec_name", None))

    def on_instance(instance, **_kwargs):
        completed_instances.append(getattr(instance, "id", None))

    signals.task_completed.connect(on_task)
    signals.instance_completed.connect(on_instance)
    steps = REGISTRY.get_sample_value("tapsyrys_engine_steps_total", {"kind": "task", "outcome": "ok"}) or 0.0
    try:
        with clock.FrozenClock(AT):
            instance = runtime.start_instance("fork_terminate", title="fork", actor=user("owner"))
            db.session.commit()
            _complete(instance.id, "prepare")
            assert _rows(instance.id) == {"prepare": ("completed", True), "approve": ("open", False),
                                          "comment": ("open", False)}
            _complete(instance.id, "approve")
    finally:
        signals.task_completed.disconnect(on_task)
        signals.instance_completed.disconnect(on_instance)
    assert (completed_tasks, completed_instances) == (["prepare", "approve"], [instance.id])
    assert REGISTRY.get_sample_value("tapsyrys_engine_steps_total", {"kind": "task", "outcome": "ok"}) == steps + 2
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance.id}",
                                                        AuditEvent.action == "instance.completed")).one()
    assert (event.object_type, event.object_id, event.actor_id) == ("process_instance", instance.id,
                                                                    user("operator").id)
    assert _rows(instance.id) == {"prepare": ("completed", True), "approve": ("completed", True),
                                  "comment": ("cancelled", True)}
    finished = db.session.get(ProcessInstance, instance.id)
    assert finished.status == "completed"
    assert (finished.completed_at if finished.completed_at.tzinfo else finished.completed_at.replace(tzinfo=UTC)) == AT


def test_a_new_task_opens_beside_a_parallel_task_that_is_still_open(world):
    """start → fork → *Approve* → *Sign* → join; fork → *Comment* → *Answer* → join → end. Each completion
    opens the next task of its branch while the other branch's task stays open, whichever comes first in the
    workflow's list of ready tasks."""
    model = chain_model("two_branches", [
        ("fork", "Operator", '<bpmn:parallelGateway id="fork" />'),
        ("approve", "Operator", user_task("approve", "Approve")),
        ("sign", "Operator", user_task("sign", "Sign")),
        ("join", "Operator", '<bpmn:parallelGateway id="join" />')],
        extra_nodes=user_task("comment", "Comment") + user_task("answer", "Answer"),
        extra_flows=('<bpmn:sequenceFlow id="f_fork_comment" sourceRef="fork" targetRef="comment" />'
                     '<bpmn:sequenceFlow id="f_comment_answer" sourceRef="comment" targetRef="answer" />'
                     '<bpmn:sequenceFlow id="f_answer_join" sourceRef="answer" targetRef="join" />'))
    name = "two_branches.bpmn"
    model[name] = model[name].replace("<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>",
                                      "<bpmn:flowNodeRef>approve</bpmn:flowNodeRef><bpmn:flowNodeRef>comment"
                                      "</bpmn:flowNodeRef><bpmn:flowNodeRef>answer</bpmn:flowNodeRef>")
    publish_version(model)
    db.session.commit()
    with clock.FrozenClock(AT):
        instance = runtime.start_instance("two_branches", title="two branches", actor=user("owner"))
        db.session.commit()
        assert _rows(instance.id) == {"approve": ("open", False), "comment": ("open", False)}
        _complete(instance.id, "approve")
        assert _rows(instance.id) == {"approve": ("completed", True), "comment": ("open", False),
                                      "sign": ("open", False)}
        _complete(instance.id, "comment")
        assert _rows(instance.id) == {"approve": ("completed", True), "comment": ("completed", True),
                                      "sign": ("open", False), "answer": ("open", False)}
        _complete(instance.id, "answer")
        _complete(instance.id, "sign")
    assert db.session.get(ProcessInstance, instance.id).status == "completed"


def _start_drawn(start: str, before_review: str = "", tail: str = "</bpmn:definitions>") -> ProcessInstance:
    """start (as given) → [before_review] → *Review*, published and started with some data (``tail``: what ends
    the file, another process before it)."""
    steps = [("review", "Operator", user_task("review", "Review"))]
    model = chain_model("requested", [*([("before", "Operator", before_review)] if before_review else []), *steps])
    model["requested.bpmn"] = model["requested.bpmn"].replace('<bpmn:startEvent id="start" />', start).replace(
        '<bpmn:process id=', '<bpmn:message id="m_req" name="request received" />'
                             '<bpmn:signal id="s_req" name="request received" /><bpmn:process id=', 1).replace(
        "</bpmn:definitions>", tail)
    publish_version(model)
    db.session.commit()
    instance = runtime.start_instance("requested", title="Request", actor=user("owner"), data={"number": "R-1"})
    db.session.commit()
    return instance


def _published_and_started(files: dict[str, str], pid: str, title: str) -> ProcessInstance:
    publish_version(files)
    db.session.commit()
    instance = runtime.start_instance(pid, title=title, actor=user("owner"))
    db.session.commit()
    return instance


def _opened(instance: ProcessInstance) -> list[tuple[str, str]]:
    return [(t.spec_name, t.status) for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id))]


@pytest.mark.parametrize("definition", [
    '<bpmn:messageEventDefinition messageRef="m_req" />',
    '<bpmn:signalEventDefinition signalRef="s_req" />',
])
def test_a_process_drawn_to_start_on_a_message_or_signal_starts_with_the_start_data(world, definition):
    """Other tools draw the "request received" start as a message or signal start event: starting the instance
    delivers that message or signal, so the first task opens, with the start data."""
    instance = _start_drawn(f'<bpmn:startEvent id="start" name="Request received">{definition}</bpmn:startEvent>')
    assert _opened(instance) == [("review", "open")]
    review = next(t for t in runtime._load(instance).get_tasks() if t.task_spec.name == "review")
    assert review.data["number"] == "R-1"


@pytest.mark.parametrize("other", [
    '<bpmn:startEvent id="walk_in" name="Walked in" />',
    '<bpmn:startEvent id="walk_in" name="Every morning"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
    '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>',
    '<bpmn:startEvent id="walk_in" name="Letter received"><bpmn:messageEventDefinition messageRef="m_req" />'
    '</bpmn:startEvent>'], ids=["plain", "timer", "message"])
def test_a_message_start_beside_another_start_event_is_refused(app_ctx, other):
    """Starting an instance delivers the message to one start event: beside a plain start the message start was
    never taken (the plain one ran at once), beside a timer start the timer was never taken, and of two message
    starts every instance began at the first drawn."""
    from app.engine.specs import validate_files

    model = chain_model("requested", [("review", "Operator", user_task("review", "Review"))])
    model["requested.bpmn"] = model["requested.bpmn"].replace(
        '<bpmn:startEvent id="start" />',
        '<bpmn:startEvent id="start" name="Request received"><bpmn:signalEventDefinition signalRef="s_req" />'
        f'</bpmn:startEvent>{other}').replace(
        '<bpmn:sequenceFlow id="f_start_review"',
        '<bpmn:sequenceFlow id="f_walk_in" sourceRef="walk_in" targetRef="review" /><bpmn:sequenceFlow '
        'id="f_start_review"').replace(
        '<bpmn:process id=', '<bpmn:message id="m_req" name="request received" />'
                             '<bpmn:signal id="s_req" name="request received" /><bpmn:process id=', 1)
    _parsed, problems = validate_files(model)
    refused = [p for p in problems if "start events and this one waits for a message or signal" in p.message]
    expected = ["start", "walk_in"] if "message" in other else ["start"]
    assert sorted(p.element_id for p in refused) == expected, [str(p) for p in problems]
    assert all(p.line and p.message.startswith("The process has 2 start events") for p in refused)


def test_a_timer_start_keeps_waiting_as_drawn(world):
    instance = _start_drawn('<bpmn:startEvent id="start" name="Every hour"><bpmn:timerEventDefinition>'
                            '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                            '</bpmn:startEvent>')
    assert _opened(instance) == [] and instance.status == "running" and instance.next_timer_at is not None


def test_starting_never_delivers_the_message_a_later_step_waits_for(world):
    """Only a start event is started by the start: a message the process waits for after its start is the
    sender's to deliver (a model where nothing sends it is refused: test_foreign_model_problems.py)."""
    catch = ('<bpmn:intermediateCatchEvent id="before" name="Approval received">'
             '<bpmn:messageEventDefinition messageRef="m_req" /></bpmn:intermediateCatchEvent>')
    with pytest.raises(ModelInvalid, match="nothing in this model sends"):
        _start_drawn('<bpmn:startEvent id="start" />', before_review=catch)
    db.session.rollback()
    sender = ('<bpmn:process id="approver" isExecutable="true"><bpmn:startEvent id="as" /><bpmn:endEvent id="ae">'
              '<bpmn:messageEventDefinition messageRef="m_req" /></bpmn:endEvent>'
              '<bpmn:sequenceFlow id="af" sourceRef="as" targetRef="ae" /></bpmn:process></bpmn:definitions>')
    instance = _start_drawn('<bpmn:startEvent id="start" />', before_review=catch, tail=sender)
    assert _opened(instance) == [] and instance.status == "running"


def test_a_message_sent_before_its_catcher_waits_is_kept_once_and_dropped_when_delivered(world):
    """Two pools run as one instance: the customer sends at once, the supplier catches only after an hour. The
    message waits in the saved state exactly once; when the supplier reaches its catch event it is delivered
    and nothing is left over to be delivered again."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="D" targetNamespace="t">'
           '<bpmn:collaboration id="late_order" name="Late order">'
           '<bpmn:participant id="p-a" name="Customer" processRef="customer" />'
           '<bpmn:participant id="p-b" name="Supplier" processRef="supplier" />'
           '<bpmn:messageFlow id="mf" sourceRef="send" targetRef="wait" /></bpmn:collaboration>'
           '<bpmn:message id="m1" name="order placed" />'
           '<bpmn:process id="customer" isExecutable="true"><bpmn:startEvent id="a0" />'
           '<bpmn:intermediateThrowEvent id="send" name="Place order"><bpmn:messageEventDefinition messageRef="m1" />'
           '</bpmn:intermediateThrowEvent><bpmn:endEvent id="a1" />'
           '<bpmn:sequenceFlow id="fa0" sourceRef="a0" targetRef="send" />'
           '<bpmn:sequenceFlow id="fa1" sourceRef="send" targetRef="a1" /></bpmn:process>'
           '<bpmn:process id="supplier" isExecutable="true"><bpmn:startEvent id="b0" />'
           '<bpmn:intermediateCatchEvent id="later" name="An hour later"><bpmn:timerEventDefinition>'
           '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
           '<bpmn:intermediateCatchEvent id="wait" name="Order received">'
           '<bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateCatchEvent><bpmn:endEvent id="b1" />'
           '<bpmn:sequenceFlow id="fb0" sourceRef="b0" targetRef="later" />'
           '<bpmn:sequenceFlow id="fb1" sourceRef="later" targetRef="wait" />'
           '<bpmn:sequenceFlow id="fb2" sourceRef="wait" targetRef="b1" /></bpmn:process></bpmn:definitions>')
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) as frozen:
        instance = _published_and_started({"order.bpmn": xml}, "late_order", "Order")
        assert instance.status == "running"
        assert [e.event_definition.name for e in runtime._load(instance).bpmn_events] == ["order placed"]
        frozen.advance(hours=2)
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "completed", "the supplier got the message that waited for it"
    assert runtime._load(instance).bpmn_events == []


def test_a_timer_behind_an_event_based_gateway_is_scheduled_fires_and_shows_in_the_cockpit(world, browser):
    """"The reply, or a day without one": an event-based gateway with a message catch and a timer catch. The
    timer's due time is the gateway's, which ``waiting_events()`` does not give: the instance was never scheduled,
    waited for good with no waiting timer shown, and the timeout never came."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="D" targetNamespace="t">'
           '<bpmn:message id="m1" name="reply" />'
           '<bpmn:process id="reply_or_timeout" name="Reply or timeout" isExecutable="true"><bpmn:startEvent id="s" />'
           '<bpmn:eventBasedGateway id="gw" name="Reply or timeout" />'
           '<bpmn:intermediateCatchEvent id="reply" name="Reply received"><bpmn:messageEventDefinition '
           'messageRef="m1" /></bpmn:intermediateCatchEvent>'
           '<bpmn:intermediateCatchEvent id="timeout" name="A day without a reply"><bpmn:timerEventDefinition>'
           '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
           '<bpmn:endEvent id="answered" /><bpmn:endEvent id="timed_out" />'
           '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw" />'
           '<bpmn:sequenceFlow id="f1" sourceRef="gw" targetRef="reply" />'
           '<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="timeout" />'
           '<bpmn:sequenceFlow id="f3" sourceRef="reply" targetRef="answered" />'
           '<bpmn:sequenceFlow id="f4" sourceRef="timeout" targetRef="timed_out" /></bpmn:process>'
           '</bpmn:definitions>')
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) as frozen:
        instance = _published_and_started({"reply.bpmn": xml}, "reply_or_timeout", "Reply")
        due = instance.next_timer_at if instance.next_timer_at.tzinfo else instance.next_timer_at.replace(tzinfo=UTC)
        assert due == datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
        page = browser("admin").get(f"/instances/{instance.id}").get_data(as_text=True)
        assert 'data-element="gw"' in page, "the cockpit lists the waiting timer, and may fire it"
        frozen.advance(hours=25)
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "completed" and instance.next_timer_at is None
    finished = {t.task_spec.name for t in runtime._load(instance).get_tasks() if t.state == 64}  # COMPLETED
    assert "timed_out" in finished and "answered" not in finished


def test_a_step_that_reads_a_value_nobody_set_names_the_step_and_says_what_is_missing(world):
    """A foreign model's unnamed script task read start data the trial did not give: the owner read only
    "name 'input_data' is not defined", with no step named."""
    from app.engine.errors import StepFailed

    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="D" targetNamespace="t">'
           '<bpmn:process id="needs_input" isExecutable="true"><bpmn:startEvent id="s" />'
           '<bpmn:scriptTask id="double_it"><bpmn:script>result = input_data * 2</bpmn:script></bpmn:scriptTask>'
           '<bpmn:endEvent id="e" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="double_it" />'
           '<bpmn:sequenceFlow id="f1" sourceRef="double_it" targetRef="e" /></bpmn:process></bpmn:definitions>')
    publish_version({"needs.bpmn": xml})
    db.session.commit()
    with pytest.raises(StepFailed) as failed:
        runtime.start_instance("needs_input", title="Trial", actor=user("owner"))
    db.session.rollback()
    assert str(failed.value).startswith("double_it: 'input_data' is not defined: no earlier step sets it")
    instance = runtime.start_instance("needs_input", title="With data", actor=user("owner"), data={"input_data": 2})
    assert instance.status == "completed"


def test_a_step_without_a_form_takes_no_data_and_no_step_takes_the_storages_reserved_key(world, browser):
    """Through the API a formless step set any variable, of any stored type (``{"typename": "timedelta", …}``)."""
    from tests.modeler.factory import chain_model

    publish_version(chain_model("formless", [("look", "Operator", user_task("look", "Look", form=None, ui=None)),
                                             ("fill", "Operator", user_task("fill", "Fill in"))]))
    db.session.commit()
    instance = runtime.start_instance("formless", title="No form", actor=user("operator"), data={"a": 1})
    db.session.commit()
    operator = browser("operator")
    look = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.spec_name == "look")).one()
    smuggled = operator.post_json(f"/api/v1/tasks/{look.id}/complete",
                                  {"data": {"a": 999, "inj": {"typename": "timedelta", "days": 5}}})
    assert smuggled.status_code == 422 and "takes no data" in smuggled.get_json()["message"]
    assert operator.post_json(f"/api/v1/tasks/{look.id}/complete", {"data": {}}).status_code == 200
    fill = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.spec_name == "fill")).one()
    wf = runtime._load(db.session.get(ProcessInstance, instance.id))
    assert next(t for t in wf.get_tasks() if t.task_spec.name == "fill").data["a"] == 1
    assert fill.status == "open"
    with pytest.raises(Exception, match="typename"):
        runtime.start_instance("formless", title="Smuggled", actor=user("operator"),
                               data={"x": {"typename": "Decimal", "value": "1E-50000000"}})
    db.session.rollback()


def test_a_timer_start_beside_a_plain_start_is_refused(app_ctx):
    """A plain start beside a timer start: the plain start runs at once and the timer start is cancelled with it,
    so the timer's way in was never taken (the model published with no problem)."""
    from app.engine.specs import validate_files

    model = chain_model("morning", [("review", "Operator", user_task("review", "Review"))])
    model["morning.bpmn"] = model["morning.bpmn"].replace(
        '<bpmn:startEvent id="start" />',
        '<bpmn:startEvent id="start" /><bpmn:startEvent id="tick" name="Every morning"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>').replace(
        '<bpmn:sequenceFlow id="f_start_review"',
        '<bpmn:sequenceFlow id="f_tick" sourceRef="tick" targetRef="review" /><bpmn:sequenceFlow '
        'id="f_start_review"')
    _parsed, problems = validate_files(model)
    refused = [p for p in problems if "this one waits for a timer" in p.message]
    assert [p.element_id for p in refused] == ["tick"] and refused[0].line, [str(p) for p in problems]

    alone = chain_model("morning_alone", [("review", "Operator", user_task("review", "Review"))])
    alone["morning_alone.bpmn"] = alone["morning_alone.bpmn"].replace(
        '<bpmn:startEvent id="start" />',
        '<bpmn:startEvent id="start" name="Every morning"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
        '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>')
    _parsed, problems = validate_files(alone)
    assert not [p for p in problems if "start events and this one" in p.message]


def _hot_model(step: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="D" targetNamespace="t">'
            '<bpmn:message id="m" name="heat" /><bpmn:process id="hot" isExecutable="true"><bpmn:laneSet id="ls">'
            '<bpmn:lane id="L" name="Operator"><bpmn:flowNodeRef>hot_task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>'
            '<bpmn:dataObject id="iteration_count" />'
            '<bpmn:dataObjectReference id="ref" dataObjectRef="iteration_count" />'
            f'{step}<bpmn:endEvent id="e" /><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="hot_task" />'
            '<bpmn:sequenceFlow id="f1" sourceRef="hot_task" targetRef="e" /></bpmn:process></bpmn:definitions>')


def test_a_message_payload_without_a_key_a_step_reads_names_the_key_and_the_step(world):
    """A process started by a message whose payload lacked a key: the owner read only "hot manual task:
    'iteration_count'"."""
    from app.engine.errors import StepFailed

    publish_version({"hot.bpmn": _hot_model(
        '<bpmn:manualTask id="hot_task" name="hot manual task"><bpmn:extensionElements><spiffworkflow:preScript>'
        'n = payload["iteration_count"] + 1</spiffworkflow:preScript></bpmn:extensionElements></bpmn:manualTask>')})
    db.session.commit()
    with pytest.raises(StepFailed) as failed:
        runtime.start_instance("hot", title="Trial", actor=user("owner"), data={"payload": {"other": 1}})
    db.session.rollback()
    said = str(failed.value)
    assert said.startswith("hot manual task: line 1: this step reads the key 'iteration_count'"), said
    assert ".get('iteration_count')" in said


def test_a_step_writing_a_data_object_its_data_lacks_names_the_data_object(world):
    """The same with the manual task writing the data object the message should have brought: SpiffWorkflow's
    "A data object could not be set; 'iteration_count' not exist in the task.." """
    from app.engine.errors import StepFailed

    instance = _published_and_started({"hot.bpmn": _hot_model(
        '<bpmn:manualTask id="hot_task" name="hot manual task"><bpmn:dataOutputAssociation id="a">'
        '<bpmn:targetRef>ref</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:manualTask>')}, "hot", "Trial")
    row = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    with pytest.raises(StepFailed) as failed:
        runtime.complete_task(row.id, user("operator"), data={})
    db.session.rollback()
    assert str(failed.value).startswith(
        "hot manual task: this step writes the data object 'iteration_count', and its data has no 'iteration_count'"
    ), str(failed.value)
