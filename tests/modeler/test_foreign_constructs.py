"""Diagrams of other tools with constructs beyond the basic shapes (tests/data/bpmn_corpus, tapsyrys-*): those the
engine runs do what their author drew — a terminate end ends its subprocess only, a loop stops where its condition
says, a default flow is taken when no condition holds, a timer event subprocess starts while the main flow waits —
and those it cannot run are refused on the element, with the line, in the owner's language.
"""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.engine import runtime
from app.engine.models import HumanTask
from app.engine.publishing import publish_draft, set_lane_role
from app.engine.specs import validate_files
from app.extensions import db
from app.modeler.operations import import_zip
from app.processes.trials import start_trial
from tests.helpers import user
from tests.modeler.test_bpmn_corpus import run_to_the_end
from tests.operations.conftest import START

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"


def _published(name: str):
    owner = user("owner")
    draft, _problems = import_zip((CORPUS / name).read_bytes(), owner, filename=name, lane_role="starter")
    assert set_lane_role(draft, "starter", owner) == []
    publish_draft(draft, owner)
    db.session.commit()
    return draft.process_model, owner


def _run(name: str):
    model, owner = _published(name)
    with clock.FrozenClock(START) as now:
        instance = run_to_the_end(model, owner, now=now)
    assert instance.status == "completed"
    wf = runtime._load(instance)
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                               .order_by(HumanTask.id)).all()
    return wf.last_task.data, [(t.spec_name, t.status) for t in tasks]


def test_a_terminate_end_inside_a_subprocess_ends_the_subprocess_and_the_process_goes_on(world):
    _data, tasks = _run("tapsyrys-terminate-inside-subprocess.bpmn")
    assert ("after", "completed") in tasks, tasks
    assert ("inner", "open") not in tasks, tasks


def test_a_terminate_end_in_a_called_process_leaves_the_callers_other_branch_to_go_on(world):
    _data, tasks = _run("tapsyrys-terminate-inside-called-process.bpmn")
    assert tasks == [("other", "completed")], tasks


def test_loops_stop_where_their_condition_and_maximum_say(world):
    assert _run("tapsyrys-standard-loop-maximum.bpmn")[0]["n"] == 3  # n < 3 tested after each round
    assert _run("tapsyrys-standard-loop-test-before.bpmn")[0]["n"] == 5  # false before the first round: none
    data, _tasks = _run("tapsyrys-multi-instance-sequential-completion.bpmn")
    assert data["doubled"] == [2, 4], "the completion condition held at the second item"


def test_a_parallel_multi_instance_step_met_by_its_completion_condition_cancels_the_other_instances(world):
    _data, tasks = _run("tapsyrys-multi-instance-parallel-completion.bpmn")
    assert sorted(status for _name, status in tasks) == ["cancelled", "cancelled", "completed"], tasks


def test_an_inclusive_split_takes_its_default_flow_only_when_no_condition_holds(world):
    _data, tasks = _run("tapsyrys-inclusive-default-flow.bpmn")
    assert tasks == [("d", "completed")], tasks


def test_an_error_thrown_in_a_called_process_is_caught_on_the_call_activity(world):
    _data, tasks = _run("tapsyrys-call-activity-error-boundary.bpmn")
    assert tasks == [("fix", "completed")], tasks


def test_a_non_interrupting_timer_event_subprocess_starts_while_the_main_flow_waits(world):
    model, owner = _published("tapsyrys-event-subprocess-timer-non-interrupting.bpmn")
    with clock.FrozenClock(START) as now:
        instance = start_trial(model, owner)
        db.session.commit()
        now.advance(hours=2)
        runtime.fire_due_timers()
        db.session.commit()
        db.session.refresh(instance)
        assert runtime._load(instance).last_task.data.get("reminded") is True
        work = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        assert work.status == "open", "non-interrupting: the waiting step stays"
        assert runtime.complete_task(work.id, owner, data={}).status == "completed"


def test_lanes_in_a_child_lane_set_give_their_own_names_to_the_steps(world):
    _data, _tasks = _run("tapsyrys-nested-child-lane-sets.bpmn")
    lanes = db.session.scalars(select(HumanTask.lane).where(HumanTask.spec_name.in_(["u", "v"]))
                               .order_by(HumanTask.id)).all()
    assert lanes == ["Official", "Head"]


# ---- cancel end events: the engine ended the transaction as if it had succeeded ------------------------------

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"')


def _cancel_model(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" targetNamespace="http://x">\n'
            f'<bpmn:process id="p" isExecutable="true">\n<bpmn:startEvent id="s" />\n{body}\n'
            '<bpmn:userTask id="after" name="After" />\n<bpmn:endEvent id="e" />\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tx" />\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="after" />\n'
            '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e" />\n</bpmn:process>\n</bpmn:definitions>\n')


def test_a_cancel_end_event_nothing_catches_is_refused_in_the_owners_language(app_ctx):
    """Published, the transaction ended at the cancel end event as if it had succeeded and the step after it ran."""
    xml = _cancel_model('<bpmn:transaction id="tx" name="Pay the act"><bpmn:startEvent id="ts" />\n'
                        '<bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>\n'
                        '<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="cancel" /></bpmn:transaction>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    found = [p for p in problems if p.element_id == "cancel"]
    assert len(found) == 1 and found[0].line == 6 and "'Pay the act'" in found[0].message, [str(p) for p in problems]
    with_boundary = xml.replace('<bpmn:userTask id="after"', '<bpmn:boundaryEvent id="b" attachedToRef="tx">'
                                '<bpmn:cancelEventDefinition /></bpmn:boundaryEvent>\n<bpmn:endEvent id="e2" />\n'
                                '<bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="e2" />\n<bpmn:userTask id="after"')
    _parsed, problems = validate_files({"m.bpmn": with_boundary})
    assert not [p for p in problems if p.element_id == "cancel"], [str(p) for p in problems]


def test_a_cancel_end_event_outside_a_transaction_is_refused(app_ctx):
    xml = _cancel_model('<bpmn:subProcess id="tx"><bpmn:startEvent id="ts" />\n'
                        '<bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>\n'
                        '<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="cancel" /></bpmn:subProcess>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    assert any(p.element_id == "cancel" and p.line == 6 and "directly inside a transaction" in p.message
               for p in problems), [str(p) for p in problems]


# ---- files that are not BPMN 2.0: one sentence, not one line per element ------------------------------------

def _beta() -> bytes:
    """As Eclipse BPMN2 Modeler 0.x wrote it: the ``bpmn2:`` prefix bound to the beta's namespace."""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<bpmn2:definitions xmlns:bpmn2="http://schema.omg.org/spec/BPMN/2.0" id="Defs" '
            b'targetNamespace="http://www.jboss.org/drools">\n'
            b'<bpmn2:process id="p" name="Old" isExecutable="true"><bpmn2:startEvent id="s" />'
            b'<bpmn2:userTask id="u" name="Do" /><bpmn2:endEvent id="e" />'
            b'<bpmn2:sequenceFlow id="f1" sourceRef="s" targetRef="u" />'
            b'<bpmn2:sequenceFlow id="f2" sourceRef="u" targetRef="e" /></bpmn2:process>\n'
            b'</bpmn2:definitions>\n')


def test_a_bpmn_beta_file_is_refused_in_one_sentence_naming_the_namespace(world, browser):
    """The BPMN 2.0 beta's namespace (Eclipse BPMN Modeler, early jBPM 5): every element of the file was listed as
    "not allowed here; other tools' elements are kept only inside extensionElements"."""
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(_beta()), "old.bpmn"), "lane_role": "starter"},
                          content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "draft of BPMN 2.0" in page and "http://schema.omg.org/spec/BPMN/2.0" in page, page[:3000]
    assert "extensionElements" not in page
    assert "old.bpmn, line 2" in page


def test_a_diagram_without_a_namespace_is_said_to_be_no_bpmn(world, browser):
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions id="d" targetNamespace="http://x">\n'
            '<process id="p" isExecutable="true"><startEvent id="s" /></process>\n</definitions>\n')
    owner = browser("owner")
    page = owner.post("/modeler/import", {"archive": (io.BytesIO(text.encode()), "plain.bpmn"),
                                          "lane_role": "starter"},
                      content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "not a BPMN 2.0 diagram" in page and "has no namespace" in page, page[:3000]
    assert "extensionElements" not in page



# ---- a timer date without an offset: read in the server's own time zone ---------------------------------------

def _timer_model(kind: str, value: str, event: str = "intermediateCatchEvent") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" targetNamespace="http://x">\n'
            '<bpmn:process id="p" isExecutable="true">\n<bpmn:startEvent id="s" />\n'
            f'<bpmn:{event} id="t" name="Wait"><bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}>'
            f'</bpmn:timerEventDefinition></bpmn:{event}>\n<bpmn:endEvent id="e" />\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />\n</bpmn:process>\n</bpmn:definitions>\n')


def test_a_timer_date_without_an_offset_is_refused_with_the_offset_to_write(app_ctx):
    """SpiffWorkflow reads "2026-12-01T10:00:00" in the server's local zone: 10:00 in Astana on a server set to Astana's
    time, 15:00 on one set to UTC — the owner could not know which."""
    for kind, value, example in (
            ("timeDate", '"2026-12-01T10:00:00"', '"2026-12-01T10:00:00+05:00"'),
            ("timeDate", '"2026-12-01"', '"2026-12-01T00:00:00+05:00"'),
            ("timeCycle", '"R3/2026-01-01T09:00:00/P1D"', '"R3/2026-01-01T09:00:00+05:00/P1D"')):
        event = "startEvent" if kind == "timeCycle" else "intermediateCatchEvent"
        xml = _timer_model(kind, value, event)
        _parsed, problems = validate_files({"m.bpmn": xml})
        found = [p for p in problems if p.element_id == "t" and "offset" in p.message]
        assert len(found) == 1 and found[0].line == 5 and example in found[0].message, [str(p) for p in problems]
    for kind, value in (("timeDate", '"2026-12-01T10:00:00+05:00"'), ("timeDate", '"2026-12-01T05:00:00Z"'),
                        ("timeCycle", '"R3/2026-01-01T00:00:00Z/P1D"'), ("timeDuration", '"P1M"')):
        event = "startEvent" if kind == "timeCycle" else "intermediateCatchEvent"
        _parsed, problems = validate_files({"m.bpmn": _timer_model(kind, value, event)})
        assert not [p for p in problems if "offset" in p.message], (value, [str(p) for p in problems])


def test_a_timer_start_event_with_a_cycle_is_refused_and_an_event_subprocess_cycle_is_not(app_ctx):
    """Published, "R/P1D" on the process's start event ran the whole flow again each day inside the one instance,
    which never ended; BPMN starts a new instance each round. In an event subprocess a cycle repeats as drawn."""
    cycle = '<bpmn:timerEventDefinition><bpmn:timeCycle>"R/P1D"</bpmn:timeCycle></bpmn:timerEventDefinition>'
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" targetNamespace="http://x">\n'
           '<bpmn:process id="p" isExecutable="true">\n'
           f'<bpmn:startEvent id="daily" name="Every day">{cycle}</bpmn:startEvent>\n'
           '<bpmn:endEvent id="e" />\n<bpmn:sequenceFlow id="f1" sourceRef="daily" targetRef="e" />\n'
           '</bpmn:process>\n</bpmn:definitions>\n')
    _parsed, problems = validate_files({"m.bpmn": xml})
    assert any(p.element_id == "daily" and p.line == 4 and "new instance at each round" in p.message
               for p in problems), [str(p) for p in problems]
    in_event_subprocess = xml.replace(
        f'<bpmn:startEvent id="daily" name="Every day">{cycle}</bpmn:startEvent>\n',
        '<bpmn:startEvent id="daily" />\n<bpmn:subProcess id="remind" triggeredByEvent="true">'
        f'<bpmn:startEvent id="tick" isInterrupting="false">{cycle}</bpmn:startEvent><bpmn:endEvent id="te" />'
        '<bpmn:sequenceFlow id="t1" sourceRef="tick" targetRef="te" /></bpmn:subProcess>\n')
    _parsed, problems = validate_files({"m.bpmn": in_event_subprocess})
    assert not [p for p in problems if "new instance at each round" in p.message], [str(p) for p in problems]


# ---- foreign-model classes, each alone: those that publish do what was drawn -----------------------------------

def _open_steps(instance) -> list[str]:
    return [t.spec_name for t in db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status == "open").order_by(HumanTask.id))]


def test_a_multi_instance_count_written_as_an_expression_runs_that_many_at_once_or_in_turn(world):
    """loopCardinality 'reviewers + 1' over a name a script set: three reviews, all open at once when parallel, one
    after another when sequential."""
    for name, open_at_once in (("tapsyrys-multi-instance-cardinality-expression-parallel.bpmn", 3),
                               ("tapsyrys-multi-instance-cardinality-expression-sequential.bpmn", 1)):
        model, owner = _published(name)
        instance = start_trial(model, owner)
        db.session.commit()
        assert len(_open_steps(instance)) == open_at_once, name
        _data, tasks = _run(name)
        assert [status for spec, status in tasks if spec.startswith("review")] == ["completed"] * 3, (name, tasks)


def test_a_timer_on_a_subprocess_cancels_its_steps_or_runs_beside_them(world):
    model, owner = _published("tapsyrys-timer-boundary-on-subprocess-interrupting.bpmn")
    with clock.FrozenClock(START) as now:
        instance = start_trial(model, owner)
        db.session.commit()
        assert _open_steps(instance) == ["check"]
        now.advance(days=3)
        runtime.fire_due_timers()
        db.session.commit()
        assert _open_steps(instance) == ["escalate"], "the subprocess's step is cancelled, the timer's path taken"
    model, owner = _published("tapsyrys-timer-boundary-on-subprocess-non-interrupting.bpmn")
    with clock.FrozenClock(START) as now:
        instance = start_trial(model, owner)
        db.session.commit()
        now.advance(days=3)
        runtime.fire_due_timers()
        db.session.commit()
        assert _open_steps(instance) == ["check", "escalate"], "the subprocess's step stays beside the timer's path"
        check = next(t for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
                     if t.spec_name == "check")
        runtime.complete_task(check.id, owner, data={})
        db.session.commit()
        assert _open_steps(instance) == ["escalate", "pay"]


def test_a_manual_task_opens_as_a_step_for_a_person(world):
    _data, tasks = _run("tapsyrys-manual-task.bpmn")
    assert tasks == [("sign", "completed"), ("after", "completed")], tasks


def test_a_message_after_an_event_based_gateway_that_nothing_sends_is_only_a_notice(app_ctx):
    """The timer beside it goes on: publishing stays allowed (the receive task alone is refused: test_bpmn_corpus)."""
    from app.engine.specs import model_notices

    name = "tapsyrys-event-based-gateway-message-timer.bpmn"
    text = (CORPUS / name).read_text(encoding="utf-8")
    assert validate_files({name: text}, lane_role="starter")[1] == []
    assert [n.element_id for n in model_notices({name: text}) if "nothing in this model sends" in n.message] == [
        "Replied"]


def test_a_catch_event_without_a_message_or_signal_is_refused_unless_something_sends_its_name(world):
    """bpmn.io and Camunda Modeler draw a message or signal catch event with an empty definition. The engine then
    waits for a message (signal) called as the event itself: 'Payment received' and an unnamed signal catch were
    published and every instance waited there for good with no incident. Refused, on the element with its line;
    a bare throw and a bare catch of the same name do meet, and that model still runs to the end."""
    name = "tapsyrys-bpmnio-bare-catch-events.bpmn"
    text = (CORPUS / name).read_text(encoding="utf-8")
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    shown = [str(p) for p in problems]
    paid = [p for p in problems if p.element_id == "Event_paid"]
    assert paid and paid[0].line == 9 and "names no message" in paid[0].message, shown
    assert "'Payment received'" in paid[0].message, shown
    go = [p for p in problems if p.element_id == "Event_go"]
    assert go and go[0].line == 12 and "names no signal" in go[0].message, shown
    _data, tasks = _run("tapsyrys-bpmnio-bare-message-same-name.bpmn")
    assert [t for t, _status in tasks] == ["Activity_check", "Activity_pay"], tasks


def test_a_process_id_longer_than_its_column_imports_and_is_refused_on_its_line(world, browser):
    """Flowable's test model of a 302-character process id: its import failed with a server error on PostgreSQL
    (the draft's process id column holds 200); now it is a draft whose problem names the id's length and line."""
    from app.engine.models import ProcessModelVersion
    from app.engine.publishing import version_problems

    name = "flowable-activiti-process-with-long-id.bpmn"
    response = browser("owner").post("/modeler/import", {"archive": (io.BytesIO((CORPUS / name).read_bytes()), name),
                                                         "lane_role": "starter"}, content_type="multipart/form-data")
    assert response.status_code == 302 and "/modeler/versions/" in response.headers["Location"]
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert draft.process_id is None
    problems = version_problems(draft, learn=True)
    db.session.flush()
    assert draft.process_id is None
    assert any("longer than 200 characters" in p.message and p.line == 8 for p in problems), [str(p) for p in problems]


def test_a_number_of_instances_that_is_not_python_is_refused_on_its_step(app_ctx):
    """Flowable's ``<loopCardinality>${nrOfLoops}</loopCardinality>`` published and the step failed as it began
    ("syntax error … '${nrOfLoops}'"); a Python syntax error there was not checked either."""
    name = "flowable-multi-instance-sequential-juel-cardinality.bpmn"
    text = (CORPUS / name).read_text(encoding="utf-8")
    for written, words in (("nrOfLoops +", "syntax error"), ("=nrOfLoops", "written in FEEL")):
        _parsed, problems = validate_files({name: text.replace("${nrOfLoops}", written)}, lane_role="starter")
        assert any(p.element_id == "seqTasks" and p.line and words in p.message for p in problems), (
            written, [str(p) for p in problems])



def test_an_instance_ending_without_its_output_data_item_is_said_in_the_owners_words(world):
    """A multi-instance user task whose form has no field of its output data item: the step failed with
    SpiffWorkflow's "Expected an output item", in English, naming nothing."""
    import pytest

    from app.engine.errors import StepFailed
    from app.engine.publishing import publish_version
    from tests.helpers import school
    from tests.modeler.factory import chain_model, user_task

    loop = ('<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>schools</bpmn:loopDataInputRef>'
            '<bpmn:loopDataOutputRef>visits</bpmn:loopDataOutputRef><bpmn:inputDataItem id="school" name="school" />'
            '<bpmn:outputDataItem id="visit_item" name="visit" /></bpmn:multiInstanceLoopCharacteristics>')
    files = chain_model("visits", [
        ("list", "School accountant", '<bpmn:scriptTask id="list" name="List the schools"><bpmn:script>'
                                      'schools = ["Bilim", "Nur"]</bpmn:script></bpmn:scriptTask>'),
        ("visit", "School accountant", user_task("visit", "Visit the school", extra=loop))])
    publish_version(files)
    owner = user("accountant")
    bilim = school("Bilim Innovation School")
    instance = runtime.start_instance("visits", title="visits", actor=owner, region_id=bilim.region_id,
                                      organisation_id=bilim.id)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open").order_by(HumanTask.id)).first()
    with pytest.raises(StepFailed) as failed:
        runtime.complete_task(task.id, owner, data={"comment": "seen"})
    assert "Visit the school" in str(failed.value) and "'visit_item'" in str(failed.value)
    assert "output data item" in str(failed.value) and "Expected an output item" not in str(failed.value)
