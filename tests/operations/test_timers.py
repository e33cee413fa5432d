"""The timer pass (``runtime.fire_due_timers``): which instances it fires, in which order, how many per pass, what
each fired step leaves behind, and what it leaves alone.

Issue 17: the mutation run of ``app/engine/runtime.py`` showed that the pass could fire instances that are not
due, skip the ones due at this very moment, fire a halted instance, stop at the first halted one, ignore its
limit, fire the latest first or misreport how many it fired, and no test noticed. Writing these tests found that
the pass took an instance at the very moment its timer was due, which the engine does not fire until after that
moment: the instance was recorded as fired and nothing moved. The pass now takes only timers due before now."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from app import clock
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.incidents import Incident
from app.engine.models import HumanTask, ProcessInstance
from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from app.people.models import Region
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, service_task, timer

HOUR = timedelta(hours=1)


def _start(at) -> int:
    """A "fine" instance of the poison model started at ``at``: it waits on its one-hour timer."""
    with clock.FrozenClock(at):
        instance = runtime.start_instance("poison", title=f"timer {at:%H:%M}", actor=user("owner"),
                                          data={"kind": "fine"})
        db.session.commit()
    assert instance.status == "running" and instance.next_timer_at is not None
    return instance.id


def _fired(instance_id: int) -> bool:
    """The timer fired: its step ran, the *Check* task is open and the instance's chain says so."""
    db.session.expire_all()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == "check")).first()
    events = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.chain == f"instance:{instance_id}", AuditEvent.action == "timer.fired"))
    assert (task is not None) == (events == 1), "a fired timer leaves both its task and its event"
    return task is not None


def _others_due(at, mine: list[int]) -> int:
    return db.session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.status == "running", ProcessInstance.next_timer_at < at, ProcessInstance.id.not_in(mine)))


def _fire(at, **kwargs) -> int:
    with clock.FrozenClock(at):
        return runtime.fire_due_timers(**kwargs)


def _started(pid: str, steps: list[tuple[str, str, str]], **start) -> int:
    """Publish the chain ``steps`` as model ``pid`` and start one instance of it at START (the owner starts it)."""
    publish_version(chain_model(pid, steps))
    db.session.commit()
    with clock.FrozenClock(START):
        instance_id = runtime.start_instance(pid, title=pid, actor=user("owner"), **start).id
        db.session.commit()
    return instance_id


def _incident(instance_id: int) -> Incident:
    return db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()


def test_the_earliest_due_fire_first_up_to_the_limit_and_the_pass_counts_them(poison_model):
    late = _start(START + timedelta(minutes=10))    # due 10:10
    first = _start(START)                           # due 10:00
    second = _start(START + timedelta(minutes=5))   # due 10:05
    not_yet = _start(START + timedelta(minutes=30))  # due 10:30
    at = START + HOUR + timedelta(minutes=10)  # exactly when `late` is due
    assert _others_due(at + timedelta(seconds=1), [late, first, second, not_yet]) == 0

    assert _fire(at, limit=2) == 2
    assert [_fired(i) for i in (first, second, late, not_yet)] == [True, True, False, False]
    # The engine fires a timer strictly after its time (SpiffWorkflow: due < now); the pass takes the same view,
    # or it would record a timer as fired that did not move.
    assert _fire(at) == 0
    assert not _fired(late)
    assert _fire(at + timedelta(microseconds=1)) == 1
    assert [_fired(i) for i in (late, not_yet)] == [True, False]
    assert _fire(at + timedelta(minutes=5)) == 0, "nothing fires twice, nothing fires early"
    assert not _fired(not_yet)


def test_a_fired_timer_is_recorded_on_its_instances_chain_without_an_actor(poison_model):
    instance_id = _start(START)
    assert _fire(START + HOUR + timedelta(seconds=1)) == 1
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance_id}",
                                                        AuditEvent.action == "timer.fired")).one()
    assert (event.object_type, event.object_id, event.actor_id) == ("process_instance", instance_id, None)


def test_a_halted_instance_is_not_fired_nor_takes_a_place_in_the_pass(poison_model):
    halted = _start(START)  # due first, but halted (an incident, an operator's stop) before the pass
    waiting = _start(START + timedelta(minutes=1))
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == halted).values(status="error"))
    db.session.commit()
    assert _fire(START + 2 * HOUR, limit=1) == 1
    assert (_fired(halted), _fired(waiting)) == (False, True)
    assert db.session.get(ProcessInstance, halted).status == "error"


def test_an_instance_halted_after_the_pass_listed_it_is_skipped_and_the_pass_goes_on(poison_model, monkeypatch):
    """Another worker halts the first instance between the pass's query and its turn: that one is left as it is,
    the next one still fires."""
    halted = _start(START)
    waiting = _start(START + timedelta(minutes=1))
    db.session.expire_all()
    real_get = db.session.get

    def get_after_another_worker(cls, ident, *args, **kwargs):
        if cls is ProcessInstance and ident == halted:
            db.session.execute(update(ProcessInstance).where(ProcessInstance.id == halted).values(status="error"))
            db.session.expire_all()
        return real_get(cls, ident, *args, **kwargs)

    monkeypatch.setattr(db.session, "get", get_after_another_worker)
    assert _fire(START + 2 * HOUR) == 1
    monkeypatch.undo()
    assert (_fired(halted), _fired(waiting)) == (False, True)
    assert db.session.get(ProcessInstance, halted).status == "error"


@pytest.mark.parametrize(("limit", "passes"), [(1, [1, 1, 1, 0]), (2, [2, 1, 0, 0]), (3, [3, 0, 0, 0])])
def test_the_limit_bounds_one_pass_and_the_next_passes_take_the_rest(poison_model, limit, passes):
    ids = [_start(START + timedelta(minutes=n)) for n in range(3)]
    at = START + 2 * HOUR
    assert [_fire(at, limit=limit) for _ in passes] == passes
    assert all(_fired(i) for i in ids)


# --- when a timer's step fails ------------------------------------------------------------------------------

@operator("tests/timer_duplicate_region", {}, "Writes a row that breaks a unique key at the step's flush (tests).")
def _duplicate_region(ctx):
    db.session.add_all([Region(code="DUPT", name_kk="x", name_ru="x", name_en="x") for _ in range(2)])
    return {}


@pytest.fixture()
def constraint_model(world):
    """timer → a service task whose rows break a unique key when the step is flushed → *Check*."""
    write = service_task("write", "tests/timer_duplicate_region")
    publish_version(chain_model("dup_timer", [("wait", "Operator", timer()), ("write", "Operator", write),
                                              ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    return "dup_timer"


def _steps(outcome: str) -> float:
    return REGISTRY.get_sample_value("tapsyrys_engine_steps_total", {"kind": "timer", "outcome": outcome}) or 0.0


def test_each_fired_timer_and_each_failed_one_is_counted_in_the_metrics(poison_model):
    fine = [_start(START), _start(START)]
    with clock.FrozenClock(START):
        broken = runtime.start_instance("poison", title="raises", actor=user("owner"), data={"kind": "raise"}).id
        db.session.commit()
    ok, failed = _steps("ok"), _steps("failed")
    assert _fire(START + 2 * HOUR) == 2
    assert (_steps("ok") - ok, _steps("failed") - failed) == (2, 1)
    assert all(_fired(i) for i in fine) and not _fired(broken)


def test_a_failed_timer_step_is_logged_with_its_instance_and_cause(poison_model, caplog):
    with clock.FrozenClock(START):
        broken = runtime.start_instance("poison", title="raises", actor=user("owner"), data={"kind": "raise"}).id
        db.session.commit()
    with caplog.at_level(logging.WARNING):
        assert _fire(START + 2 * HOUR) == 0
    # one line, the incident's: the error's kind, its words kept in the incident (they may carry the instance's data:
    # tests/operations/test_background_logs.py)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("app.")]
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == broken)).one()
    assert messages == [f"incident {incident.id} on instance {broken} (script, element compute, attempt 1): "
                        "ZeroDivisionError"], messages
    assert "division by zero" in incident.message


def test_a_step_that_breaks_a_constraint_while_another_writer_moved_the_instance_is_a_race_not_an_incident(
        constraint_model, monkeypatch, caplog):
    """The step hit a unique key and someone else wrote the instance meanwhile (on PostgreSQL the loser of a race
    may meet the winner's key first): a conflict, logged; no incident, the instance stays running and the next
    pass decides. When nobody else wrote it, the same failure is the step's own and becomes an incident."""
    with clock.FrozenClock(START):
        instance_id = runtime.start_instance("dup_timer", title="dup", actor=user("owner")).id
        db.session.commit()
    written = db.session.get(ProcessInstance, instance_id).lock_version
    monkeypatch.setattr(runtime, "_lock_version", lambda _id: written + 1)  # another worker's write
    with caplog.at_level(logging.WARNING, logger=runtime.log.name):
        assert _fire(START + 2 * HOUR) == 0
    [record] = [r for r in caplog.records if r.name == runtime.log.name]
    assert record.getMessage() == f"timer on instance {instance_id} not fired: {runtime._conflict_message()}"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.instance_id == instance_id)) == 0
    assert db.session.get(ProcessInstance, instance_id).status == "running"

    assert record.getMessage().endswith("not fired: Someone else has just completed this step. Nothing of your "
                                        "submission was saved; reload to see the current state.")
    monkeypatch.undo()
    # Nobody else wrote it this time: the version read back is this instance's own (7), not another's.
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(lock_version=7))
    db.session.commit()
    assert _fire(START + 3 * HOUR) == 0
    db.session.expire_all()
    incident = _incident(instance_id)
    assert incident.kind == "database" and db.session.get(ProcessInstance, instance_id).status == "error"


# --- retried by an operator -----------------------------------------------------------------------------------

SEEN = {"fail": True, "actors": []}


@operator("tests/timer_sees_actor", {}, "Records who runs the step; fails while told to (tests only).")
def _sees_actor(ctx):
    SEEN["actors"].append(getattr(ctx.actor, "username", None))
    if SEEN["fail"]:
        raise ConnectionError("registry unavailable")
    return {}


def test_a_retried_step_runs_as_the_operator_who_retried_it(world):
    """The timer's own run has no actor; the operator's retry runs the service as that operator (what an
    operator's audit and permissions see)."""
    from app.engine.incidents import retry_incident

    SEEN.update(fail=True, actors=[])
    instance_id = _started("sees_actor", [("wait", "Operator", timer()),
                                          ("lookup", "Operator", service_task("lookup", "tests/timer_sees_actor")),
                                          ("check", "Operator", user_task("check", "Check"))])
    assert _fire(START + 2 * HOUR) == 0
    incident = _incident(instance_id)
    SEEN["fail"] = False
    with clock.FrozenClock(START + 3 * HOUR):
        assert retry_incident(incident, user("operator")) is True
    assert SEEN["actors"] == [None, "operator"]


def test_data_that_cannot_be_saved_is_blamed_on_the_step_that_made_it_not_on_an_earlier_date(world):
    """A date in the data is saved as it is; the number over Python's digit limit, made one step later, is
    what cannot be saved, and the incident names that step."""
    from tests.operations.conftest import script_task

    instance_id = _started("stamp_then_huge", [
        ("wait", "Operator", timer()),
        ("stamp", "Operator", script_task("stamp", "when = date(2026, 1, 1)")),
        ("compute", "Operator", script_task("compute", "big = 10 ** 5000")),
        ("check", "Operator", user_task("check", "Check"))])
    assert _fire(START + 2 * HOUR) == 0
    incident = _incident(instance_id)
    assert (incident.kind, incident.element_id) == ("serialization", "compute")


FLAKY = {"fail": True}


@operator("tests/timer_flaky", {}, "Fails while told to; retried automatically (tests only).",
          retry_attempts=3, retry_delays=(60, 600))
def _flaky(ctx):
    if FLAKY["fail"]:
        raise ConnectionError("registry unavailable")
    return {}


def test_the_background_retry_that_finishes_the_process_is_recorded_without_an_actor_and_announced(world):
    """timer → a flaky service (retried after 60 s) → end. The background pass's retry succeeds and ends the
    process: retried and completed are on the chain with no actor, the completion is announced with the
    instance itself, and the retry is counted in the metrics."""
    from app.engine import signals
    from app.engine.incidents import retry_due_incidents

    FLAKY["fail"] = True
    instance_id = _started("flaky_end", [("wait", "Operator", timer()),
                                         ("lookup", "Operator", service_task("lookup", "tests/timer_flaky"))])
    assert _fire(START + 2 * HOUR) == 0
    FLAKY["fail"] = False
    announced = []

    def receiver(instance, **_kwargs):
        announced.append(instance)

    signals.instance_completed.connect(receiver)
    retries = REGISTRY.get_sample_value("tapsyrys_engine_steps_total", {"kind": "retry", "outcome": "ok"}) or 0.0
    try:
        with clock.FrozenClock(START + 2 * HOUR + timedelta(seconds=61)):
            assert retry_due_incidents() == 1
    finally:
        signals.instance_completed.disconnect(receiver)
    assert REGISTRY.get_sample_value("tapsyrys_engine_steps_total", {"kind": "retry", "outcome": "ok"}) == retries + 1
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "completed"
    assert [getattr(i, "id", None) for i in announced] == [instance_id]
    events = [(e.action, e.actor_id, e.details) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == f"instance:{instance_id}",
                                 AuditEvent.action.in_(("instance.retried", "instance.completed")))
        .order_by(AuditEvent.seq))]
    assert events == [("instance.retried", None, {"status": "completed"}), ("instance.completed", None, {})]


# --- what a service task's operator is given ---------------------------------------------------------------

CONTEXTS: list[tuple] = []


@operator("tests/records_context", {}, "Records the context it is called with (tests only).")
def _records_context(ctx):
    CONTEXTS.append((ctx.instance.id, getattr(ctx.actor, "username", None), ctx.task_data.get("kind")))
    return {}


def test_an_operator_run_before_the_first_wait_gets_the_new_instances_id_its_starter_and_the_start_data(world):
    """start → service task → *Check*: the service runs inside start_instance, before the instance row was ever
    written; the operator still gets the instance's id (it names records after it), who started it and the
    workflow data; after a timer it gets no actor."""
    CONTEXTS.clear()
    instance_id = _started("records_context", [
        ("lookup", "Operator", service_task("lookup", "tests/records_context")),
        ("wait", "Operator", timer()),
        ("again", "Operator", service_task("again", "tests/records_context")),
        ("check", "Operator", user_task("check", "Check"))], data={"kind": "start data"})
    assert _fire(START + 2 * HOUR) == 1
    assert CONTEXTS == [(instance_id, "owner", "start data"), (instance_id, None, "start data")]


def test_the_diagram_of_an_instance_shows_what_is_done_what_waits_and_what_is_open(poison_model):
    """What the instance page colours (runtime.instance_status): before the timer fires the start is done and
    the timer waits; after it, the script is done and *Check* is open. Nothing is marked failed."""
    instance_id = _start(START)
    status = runtime.instance_status(db.session.get(ProcessInstance, instance_id))
    assert (status.completed, status.active, status.failed, status.waiting) == (["start"], [], [], ["wait"])
    assert _fire(START + 2 * HOUR) == 1
    status = runtime.instance_status(db.session.get(ProcessInstance, instance_id))
    assert (status.completed, status.active, status.failed, status.waiting) == \
        (["compute", "start", "wait"], ["check"], [], [])
