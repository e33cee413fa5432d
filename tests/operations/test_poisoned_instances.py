"""One failure stays one failure: poisoned instances become incidents, the healthy ones go on in the same pass."""

from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.background import tick
from app.engine import runtime
from app.engine.incidents import Incident, resolve_incident, retry_incident, user_message
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.notifications.models import Notification
from app.observability import BackgroundPass, _aware
from tests.helpers import user
from tests.operations.conftest import SERVICE, START


def _start(kind: str) -> int:
    instance = runtime.start_instance("poison", title=f"poison {kind}", actor=user("owner"), data={"kind": kind})
    db.session.commit()
    return instance.id


def _open_check_task(instance_id: int) -> HumanTask | None:
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == "check")).first()


def test_poisoned_instances_do_not_stop_the_healthy_ones(app_ctx, poison_model, small_script_budget):
    with clock.FrozenClock(START) as frozen:
        # the poisoned ones are due first, so the pass meets them before the healthy ones
        poisoned = {kind: _start(kind) for kind in ("raise", "huge", "loop")}
        frozen.advance(minutes=1)
        healthy = [_start("fine"), _start("fine")]
        frozen.advance(hours=2)
        tick(app_ctx)

    db.session.expire_all()
    for instance_id in healthy:
        task = _open_check_task(instance_id)
        assert task is not None and task.status == "open", "the healthy instance's timer fired"
        assert task.announced_at is not None, "and its new task was announced in the same pass"
        assert db.session.scalar(select(func.count(Notification.id)).where(Notification.task_id == task.id)) >= 1
        assert db.session.get(ProcessInstance, instance_id).status == "running"

    kinds = {}
    for kind, instance_id in poisoned.items():
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.status == "error", kind
        assert _open_check_task(instance_id) is None, "nothing of the failed step was written"
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
        assert incident.status == "open" and incident.attempts == 1 and incident.detail
        kinds[kind] = (incident.kind, incident.element_id)
    assert kinds == {"raise": ("script", "compute"), "huge": ("serialization", "compute"),
                     "loop": ("budget", "compute")}
    assert db.session.get(BackgroundPass, "tick").failed_parts is None

    # the next pass leaves the halted instances alone: no second incident, no second attempt
    with clock.FrozenClock(START) as frozen:
        frozen.advance(hours=3)
        tick(app_ctx)
    assert db.session.scalar(select(func.sum(Incident.attempts))) == 3


def test_every_incident_message_has_its_kazakh_and_russian_translation(app_ctx, poison_model):
    """Every kind's message is in the Kazakh and Russian catalogues, with its element placeholder."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    from app.engine.incidents import _MESSAGES, KINDS

    root = Path(__file__).parents[2] / "translations"
    catalogues = {}
    for language in ("kk", "ru"):
        with (root / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalogues[language] = read_po(fh, locale=language)
    with clock.FrozenClock(START) as frozen:
        instance_id = _start("raise")
        frozen.advance(hours=2)
        runtime.fire_due_timers()
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
    with app_ctx.test_request_context():
        assert user_message(incident) == "A script of step “compute” failed."
    for kind in KINDS:
        msgid = _MESSAGES[kind]._args[0]
        for language, catalogue in catalogues.items():
            entry = catalogue.get(msgid)
            text = entry.string if entry is not None else None
            assert text, (kind, language)
            assert "%(element)s" in text, (kind, language)


def test_retrying_an_incident_re_runs_the_failed_element(app_ctx, service_model):
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)
        tick(app_ctx)
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
        # a service failure is retried automatically with the operator's backoff: 60 s, then 600 s
        assert (incident.kind, incident.element_id, incident.status, incident.attempts) == \
            ("service", "lookup", "retrying", 1)
        assert (_aware(incident.next_retry_at) - clock.now()).total_seconds() == 60
        frozen.advance(seconds=30)
        tick(app_ctx)
        assert SERVICE["calls"] == 1, "not before its time"
        frozen.advance(seconds=31)
        tick(app_ctx)
        db.session.expire_all()
        incident = db.session.get(Incident, incident.id)
        assert (SERVICE["calls"], incident.attempts, incident.status) == (2, 2, "retrying")
        frozen.advance(seconds=601)
        tick(app_ctx)
        db.session.expire_all()
        incident = db.session.get(Incident, incident.id)
        # attempts are used up: now it waits for an operator
        assert (SERVICE["calls"], incident.attempts, incident.status, incident.next_retry_at) == (3, 3, "open", None)
        frozen.advance(hours=5)
        tick(app_ctx)
        assert SERVICE["calls"] == 3

        # the operator retries after the registry is back: the failed element runs again, the process goes on
        SERVICE["fail"] = False
        assert retry_incident(incident, user("operator")) is True
    db.session.expire_all()
    incident = db.session.get(Incident, incident.id)
    assert incident.status == "resolved" and incident.resolved_by_id == user("operator").id
    assert db.session.get(ProcessInstance, instance_id).status == "running"
    assert _open_check_task(instance_id).status == "open"
    assert SERVICE["calls"] == 4


def test_a_failed_retry_counts_an_attempt_and_resolving_needs_a_reason(app_ctx, poison_model):
    import pytest

    from app.engine.incidents import IncidentRefused

    with clock.FrozenClock(START) as frozen:
        instance_id = _start("raise")
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
        assert retry_incident(incident, user("operator")) is False
        db.session.expire_all()
        incident = db.session.get(Incident, incident.id)
        assert (incident.attempts, incident.status) == (2, "open")
        assert db.session.get(ProcessInstance, instance_id).status == "error"
        with pytest.raises(IncidentRefused):
            resolve_incident(incident, user("operator"), "  ")
        resolve_incident(incident, user("operator"), "model fixed in version 2; instance migrated")
        db.session.commit()
    assert db.session.get(Incident, incident.id).status == "resolved"
    assert db.session.get(ProcessInstance, instance_id).status == "running"


def test_a_step_that_breaks_a_database_constraint_becomes_an_incident(app_ctx, world):
    """Not a race (nobody else wrote the instance): the same step would fail on every pass, so it is halted."""
    from app.engine.operators import operator
    from app.engine.publishing import publish_version
    from app.people.models import Region
    from tests.modeler.factory import chain_model, user_task
    from tests.operations.conftest import service_task, timer

    @operator("tests/duplicate_region", {}, "Writes a row that breaks a unique key at the step's flush (tests).")
    def _duplicate_region(ctx):
        db.session.add_all([Region(code="DUP", name_kk="x", name_ru="x", name_en="x") for _ in range(2)])
        return {}

    publish_version(chain_model("dup", [("wait", "Operator", timer()),
                                        ("write", "Operator", service_task("write", "tests/duplicate_region")),
                                        ("check", "Operator", user_task("check", "Check"))]))
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("dup", title="dup", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
    db.session.expire_all()
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance.id)).one()
    assert incident.kind == "database" and db.session.get(ProcessInstance, instance.id).status == "error"


def test_a_retry_that_fails_further_on_supersedes_the_incident(app_ctx, world):
    from app.engine.publishing import publish_version
    from tests.modeler.factory import chain_model, user_task
    from tests.operations.conftest import script_task, service_task, timer

    SERVICE.update(fail=True, calls=0)
    publish_version(chain_model("two_faults", [
        ("wait", "Operator", timer()), ("lookup", "Operator", service_task("lookup", "tests/registry_lookup")),
        ("compute", "Operator", script_task("compute", "ratio = 1 / 0")),
        ("check", "Operator", user_task("check", "Check"))]))
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("two_faults", title="two faults", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        first = db.session.scalars(select(Incident).where(Incident.instance_id == instance.id)).one()
        assert (first.kind, first.element_id) == ("service", "lookup")
        SERVICE["fail"] = False
        assert retry_incident(first, user("operator")) is False
    db.session.expire_all()
    incidents = db.session.scalars(select(Incident).where(Incident.instance_id == instance.id)
                                   .order_by(Incident.id)).all()
    assert [(i.kind, i.element_id, i.status) for i in incidents] == [
        ("service", "lookup", "resolved"), ("script", "compute", "open")]
    assert incidents[0].resolution == "superseded: script at compute"
    assert db.session.get(ProcessInstance, instance.id).status == "error"


def test_a_failed_steps_message_names_the_step_as_drawn_then_the_cause():
    """What the cockpit and the instance page show for a failed automatic step (runtime._step_message)."""
    from types import SimpleNamespace

    from app.engine.runtime import _step_message

    def failure(task, cause: Exception | None = None, text: str = "wrapper") -> Exception:
        err = RuntimeError(text)
        err.task = task
        err.__cause__ = cause
        return err

    named = SimpleNamespace(task_spec=SimpleNamespace(bpmn_name="Compute the amount"))
    unnamed = SimpleNamespace(task_spec=SimpleNamespace(bpmn_name=None))
    assert _step_message(failure(named, ZeroDivisionError("division by zero"))) == \
        "Compute the amount: division by zero"
    assert _step_message(failure(named)) == "Compute the amount: wrapper", "no cause: the error itself"
    assert _step_message(failure(unnamed, ValueError("bad value"))) == "bad value", "no name: no leading colon"
    assert _step_message(failure(None, ValueError("XX: bad :"))) == "XX: bad", "only the edges are trimmed"
    assert _step_message(ValueError("plain")) == "plain"


def test_the_failed_element_is_the_task_the_engine_names_then_the_one_left_in_error():
    """Which element an incident names (runtime.failed_element): the element the failure carries, else the task
    its cause names (SpiffWorkflow's own errors carry it), else the task the failed run left in ERROR state."""
    from types import SimpleNamespace

    from app.engine.runtime import failed_element

    def task(bpmn_id: str):
        return SimpleNamespace(task_spec=SimpleNamespace(bpmn_id=bpmn_id))

    def failure(cause_task=None, element_id=None) -> Exception:
        err = RuntimeError("step failed")
        err.element_id = element_id
        cause = ValueError("the engine's error")
        if cause_task:
            cause.task = cause_task
        err.__cause__ = cause
        return err

    errored = SimpleNamespace(get_tasks=lambda state: [task("left_in_error")])
    assert failed_element(failure(task("named"), element_id="carried"), errored) == "carried"
    assert failed_element(failure(task("named"))) == "named", "no workflow needed when the cause names it"
    assert failed_element(failure(task("named")), errored) == "named", "the cause's task before the ERROR one"
    assert failed_element(failure(), errored) == "left_in_error"
    assert failed_element(failure()) is None
    assert failed_element(failure(), SimpleNamespace(get_tasks=lambda state: [])) is None


def test_a_failed_step_is_logged_for_debugging_only_and_its_caller_says_what_became_of_it(app_ctx, caplog):
    """The engine's own line of a failed step is for debugging (DEBUG): an engine error (a script, a gateway) with its
    cause, anything else with its traceback. The caller says what became of it in one line — the incident's, a
    refusal — without the error's words, which carry the instance's data (test_background_logs); the incident keeps
    them and the traceback. Either way the step fails as ``StepFailed`` and the operator context of the step is gone
    afterwards."""
    import logging
    from types import SimpleNamespace

    import pytest
    from SpiffWorkflow.exceptions import WorkflowException

    from app.engine.errors import StepFailed

    instance = SimpleNamespace(id=4711, audit_chain="instance:4711")  # the run holds its chain first

    def engine_error():
        raise WorkflowException("no outgoing flow matched")

    def bug():
        raise ValueError("unexpected")

    with caplog.at_level(logging.DEBUG, logger="app.engine.runtime"):
        for step in (engine_error, bug):
            with pytest.raises(StepFailed):
                runtime._run_engine(instance, None, step)
    assert [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        (logging.DEBUG, f"instance 4711: step failed: {WorkflowException('no outgoing flow matched')}", False),
        (logging.DEBUG, "instance 4711: step failed", True)]
    assert caplog.records[1].exc_info[0] is ValueError
    assert runtime._run.get(None) is None


def test_data_that_cannot_be_saved_fails_the_step_with_its_reason_cut_to_300_characters(app_ctx, monkeypatch):
    from types import SimpleNamespace

    import pytest

    def refuse(wf):
        raise ValueError("x" * 299 + "yz")

    monkeypatch.setattr(runtime, "dump_state", refuse)
    with pytest.raises(runtime.StateNotSerializable) as caught:
        runtime._dump(SimpleNamespace(tasks={}))
    assert str(caught.value) == "The process data cannot be saved: " + "x" * 299 + "y"
    assert caught.value.element_id is None and isinstance(caught.value.__cause__, ValueError)
    assert caught.value.incident_kind == "serialization"


def test_a_retry_scheduled_by_a_clock_that_ran_ahead_is_due_once_the_clock_is_put_right(app_ctx, service_model):
    """The host's clock ran a year ahead when the service step failed, and was put right since (NTP): its automatic
    retry, scheduled 60 s after that wrong moment, waited a year — the incident read "retrying", the instance stood
    still, nobody was told. A retry scheduled further ahead than any retry policy's longest delay is due now."""
    from datetime import timedelta

    with clock.FrozenClock(START):
        instance = runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        instance_id = instance.id
    with clock.FrozenClock(START + timedelta(days=365, hours=2)):  # the pass that runs the step: a year ahead
        tick(app_ctx)
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
    assert (incident.status, SERVICE["calls"]) == ("retrying", 1)

    SERVICE["fail"] = False
    with clock.FrozenClock(START + timedelta(hours=2, minutes=5)):  # the clock put right
        tick(app_ctx)
    db.session.expire_all()
    assert SERVICE["calls"] == 2, "retried at the next pass, not a year later"
    assert db.session.get(Incident, incident.id).status == "resolved"
    assert _open_check_task(instance_id).status == "open"


def test_a_retry_within_its_policys_delay_still_waits_for_its_time(app_ctx, service_model):
    """The bound is no excuse to retry early: a retry 600 s ahead (the policy's longest delay) waits for it."""
    with clock.FrozenClock(START) as frozen:
        runtime.start_instance("registry_check", title="registry check", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        tick(app_ctx)
        frozen.advance(seconds=61)
        tick(app_ctx)  # the second attempt fails: the third waits 600 s
        assert SERVICE["calls"] == 2
        frozen.advance(seconds=599)
        tick(app_ctx)
        assert SERVICE["calls"] == 2, "not before its time"
        frozen.advance(seconds=2)
        tick(app_ctx)
        assert SERVICE["calls"] == 3
