"""A process owner imports a diagram whose timers are written as Camunda, Flowable, Zeebe and bpmn.io write them: the
bare ISO 8601 value (PT5M, 2026-12-01T10:00:00Z, R3/PT10M). It imports without a problem, publishes and runs, each
timer firing when the application's clock reaches it (app.engine.timer_literals). The stored file stays as the tool
wrote it. Other engines' expression languages in a timer are refused on the event, with its line and what to write.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.engine import runtime
from app.engine.models import HumanTask, ProcessInstance, ProcessModelVersion
from app.engine.publishing import publish_draft
from app.engine.specs import validate_files
from app.extensions import db
from app.modeler.operations import import_zip
from app.processes.trials import start_trial
from tests.helpers import user

#: the namespaces and attributes Camunda Modeler 5 writes (Camunda 7 platform)
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
         'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
         'exporterVersion="5.17.0">\n'
         '  <bpmn:process id="Process_wait" name="Wait and review" isExecutable="true" '
         'camunda:historyTimeToLive="180">\n')
_TAIL = '  </bpmn:process>\n</bpmn:definitions>\n'


def _catch_timer(kind: str, value: str) -> str:
    """start → intermediate timer (``kind``: timeDuration or timeDate, written bare) → user task → end."""
    return (_HEAD +
            '    <bpmn:startEvent id="StartEvent_1" />\n'
            '    <bpmn:intermediateCatchEvent id="Event_wait" name="Wait">\n'
            f'      <bpmn:timerEventDefinition id="TimerEventDefinition_1">\n'
            f'        <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{value}</bpmn:{kind}>\n'
            '      </bpmn:timerEventDefinition>\n'
            '    </bpmn:intermediateCatchEvent>\n'
            '    <bpmn:userTask id="Activity_review" name="Review the act" />\n'
            '    <bpmn:endEvent id="Event_end" />\n'
            '    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_wait" />\n'
            '    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_wait" targetRef="Activity_review" />\n'
            '    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_review" targetRef="Event_end" />\n'
            + _TAIL)


def _reminder_cycle(value: str) -> str:
    """A user task with a non-interrupting boundary timer whose cycle (written bare) opens a reminder each round."""
    return (_HEAD +
            '    <bpmn:startEvent id="StartEvent_1" />\n'
            '    <bpmn:userTask id="Activity_review" name="Review the act" />\n'
            '    <bpmn:boundaryEvent id="Event_remind" name="Every ten minutes" cancelActivity="false" '
            'attachedToRef="Activity_review">\n'
            '      <bpmn:timerEventDefinition id="TimerEventDefinition_1">\n'
            f'        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{value}</bpmn:timeCycle>\n'
            '      </bpmn:timerEventDefinition>\n'
            '    </bpmn:boundaryEvent>\n'
            '    <bpmn:userTask id="Activity_remind" name="Remind the official" />\n'
            '    <bpmn:endEvent id="Event_end" />\n'
            '    <bpmn:endEvent id="Event_reminded" />\n'
            '    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_review" />\n'
            '    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_review" targetRef="Event_end" />\n'
            '    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_remind" targetRef="Activity_remind" />\n'
            '    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_remind" targetRef="Event_reminded" />\n'
            + _TAIL)


def _import_and_publish(browser, xml: str, name: str):
    """Through the import page, as the owner does; then published as it came."""
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(xml.encode()), name), "lane_role": "starter"},
                          content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert xml in draft.files.values(), "the diagram is stored as its tool wrote it (no quotes added)"
    publish_draft(draft, user("owner"))  # refused (ModelChangeRefused) while the timer is a problem
    db.session.commit()
    return draft.process_model


def _open_tasks(instance, spec_name: str) -> int:
    return db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.spec_name == spec_name, HumanTask.status == "open"))


def _tick(now: clock.FrozenClock, **moved) -> None:
    now.advance(**moved)
    runtime.fire_due_timers()
    db.session.commit()
    db.session.expire_all()


def test_a_bare_duration_waits_that_long(world, browser):
    """Camunda's PT5M: five minutes on the application's clock (was refused: "must be quoted")."""
    model = _import_and_publish(browser, _catch_timer("timeDuration", "PT5M"), "wait.bpmn")
    with clock.FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) as now:
        instance = start_trial(model, user("owner"))
        db.session.commit()
        assert instance.next_timer_at is not None and _open_tasks(instance, "Activity_review") == 0
        _tick(now, minutes=4)  # 09:04: not yet
        assert _open_tasks(instance, "Activity_review") == 0
        _tick(now, minutes=2)  # 09:06: five minutes have passed
        assert _open_tasks(instance, "Activity_review") == 1


def test_a_bare_date_fires_at_that_moment(world, browser):
    """Zeebe's and Flowable's timeDate 2026-12-01T10:00:00Z: 15:00 in Astana on 1 December."""
    model = _import_and_publish(browser, _catch_timer("timeDate", "2026-12-01T10:00:00Z"), "date.bpmn")
    with clock.FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) as now:
        instance = start_trial(model, user("owner"))
        db.session.commit()
        due = db.session.get(ProcessInstance, instance.id).next_timer_at
        assert (due if due.tzinfo else due.replace(tzinfo=UTC)) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        _tick(now, days=1, minutes=59)  # 1 December 09:59 UTC
        assert _open_tasks(instance, "Activity_review") == 0
        _tick(now, minutes=2)  # 10:01 UTC
        assert _open_tasks(instance, "Activity_review") == 1


def test_a_bare_cycle_fires_its_rounds_and_stops(world, browser):
    """Camunda's R3/PT10M on a non-interrupting boundary timer: a reminder at 10, 20 and 30 minutes, none after."""
    model = _import_and_publish(browser, _reminder_cycle("R3/PT10M"), "remind.bpmn")
    with clock.FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) as now:
        instance = start_trial(model, user("owner"))
        db.session.commit()
        assert _open_tasks(instance, "Activity_remind") == 0
        reminders = []
        for _round in range(5):  # 09:11, 09:22, 09:33, 09:44, 09:55
            _tick(now, minutes=11)
            reminders.append(_open_tasks(instance, "Activity_remind"))
        assert reminders == [1, 2, 3, 3, 3]
        assert _open_tasks(instance, "Activity_review") == 1, "the reviewed task stays open (non-interrupting)"


@pytest.mark.parametrize(("kind", "value"), [
    ("timeDuration", '"PT5M"'),  # SpiffArena's quoted form
    ("timeDuration", "timedelta(minutes=5)"),  # a Python expression
])
def test_the_python_forms_still_import_clean_guard(app_ctx, kind, value):
    """Guard: what Spiff evaluates kept working."""
    _parsed, problems = validate_files({"w.bpmn": _catch_timer(kind, value)}, lane_role="starter")
    assert problems == [], [str(p) for p in problems]


@pytest.mark.parametrize(("kind", "value", "words"), [
    ("timeDuration", "${reminderDelay}", "written in JUEL (${...}): write it without ${ } (reminderDelay), or the "
                                         "ISO 8601 value itself (P5D)"),
    ("timeDuration", '=duration("PT5M")', 'written in FEEL (=duration("PT5M")): write the value itself, PT5M.'),
    ("timeDate", '=date and time("2026-12-01T10:00:00Z")', "write the value itself, 2026-12-01T10:00:00Z."),
    ("timeDuration", "=reminderDelay", "written in FEEL (Zeebe's =...): write the ISO 8601 value itself (PT5M)"),
    ("timeDuration", "2026-12-01", "is a date, but this timer waits for a duration"),
    ("timeDate", "2026-12-01T10:00:00", "has no time zone offset"),
])
def test_other_engines_expressions_are_refused_on_the_event_with_what_to_write(app_ctx, kind, value, words):
    xml = _catch_timer(kind, value)
    _parsed, problems = validate_files({"w.bpmn": xml}, lane_role="starter")
    line = next(n for n, text in enumerate(xml.splitlines(), 1) if 'id="Event_wait"' in text)
    assert [(p.element_id, p.line) for p in problems] == [("Event_wait", line)], [str(p) for p in problems]
    assert words in problems[0].message, problems[0].message
    assert "cannot be read as Python" not in problems[0].message


def test_a_cron_cycle_is_refused_with_the_iso_way_to_write_it(app_ctx):
    """Camunda 7 and Zeebe take cron cycles (0 0/5 * * * ?): said as that, not as Python that cannot be read."""
    _parsed, problems = validate_files({"w.bpmn": _reminder_cycle("0 0/5 * * * ?")}, lane_role="starter")
    assert [p.element_id for p in problems] == ["Event_remind"], [str(p) for p in problems]
    assert "is a cron expression" in problems[0].message and "R/PT5M" in problems[0].message
    assert problems[0].line


def test_the_stored_file_round_trips_unchanged(world):
    """Import and export keep the bare value as written (Camunda's modeler reads it back)."""
    from app.modeler.operations import export_zip

    xml = _catch_timer("timeDuration", "PT5M")
    draft, problems = import_zip(xml.encode(), user("owner"), filename="wait.bpmn", lane_role="starter")
    assert problems == []
    again, _problems = import_zip(export_zip(draft), user("owner"))
    assert xml in again.files.values()


def test_a_cron_cycle_marked_as_cron_gets_the_same_words(app_ctx):
    """jBPM writes <timeCycle language="cron">0/1 * * * * ?</timeCycle> (its BPMN2-BoundaryTimerCycleCron test model):
    it was said as "written in cron", with nothing to write instead."""
    xml = _reminder_cycle("0/1 * * * * ?").replace('xsi:type="bpmn:tFormalExpression">0/1',
                                                     'xsi:type="bpmn:tFormalExpression" language="cron">0/1')
    _parsed, problems = validate_files({"w.bpmn": xml}, lane_role="starter")
    assert [p.element_id for p in problems] == ["Event_remind"], [str(p) for p in problems]
    assert "is a cron expression" in problems[0].message and "R/PT5M" in problems[0].message
