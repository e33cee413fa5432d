"""A step writes its instance row and its task row with guarded UPDATEs: whatever another writer committed
between our read and our write makes the step a conflict that leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, update

from app.acts.handlers import DecideAct
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.database import checkpoint
from app.engine.errors import ConflictError
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task, get_task_for
from app.extensions import db
from tests.helpers import act_of_school, open_task, statements_of, user

SCHOOL_C = "Alatau Lyceum"


def _meanwhile(monkeypatch, statement) -> None:
    """Run ``statement`` in another connection, committed, just before the step's handler writes anything
    (both requests have read the same instance and task by then)."""
    original = DecideAct.submit

    def submit_after_someone_else(self, ctx, data):
        with db.engine.begin() as other:
            other.execute(statement)
        return original(self, ctx, data)

    monkeypatch.setattr(DecideAct, "submit", submit_after_someone_else)


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("what", ["instance row", "task row"])
def test_a_step_over_a_row_someone_else_changed_is_a_conflict_that_writes_nothing(world, monkeypatch, what):
    act = act_of_school(SCHOOL_C)
    task = open_task(act, "accept_act")
    task_id, instance_id, act_id = task.id, task.instance_id, act.id
    official = user("official_almaty")
    events_before = _events()
    db.session.commit()
    if what == "instance row":
        _meanwhile(monkeypatch, update(ProcessInstance).where(ProcessInstance.id == instance_id)
                   .values(lock_version=ProcessInstance.lock_version + 1))
    else:
        _meanwhile(monkeypatch, update(HumanTask).where(HumanTask.id == task_id).values(status="completed"))

    with pytest.raises(ConflictError, match="Someone else has just completed this step"):
        complete_task(task_id, official, data={"decision": "accept"})
    db.session.rollback()

    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "verified"
    assert _events() == events_before
    assert db.session.scalars(select(HumanTask.spec_name).where(
        HumanTask.instance_id == instance_id, HumanTask.spec_name == "pay_act")).all() == []
    assert verify_all_chains()[1] == []


def test_the_step_writes_the_new_lock_version_the_session_then_knows(world):
    act = act_of_school(SCHOOL_C)
    task = open_task(act, "accept_act")
    before = task.instance.lock_version

    instance = complete_task(task.id, user("official_almaty"), data={"decision": "accept"})

    assert instance.lock_version == before + 1 and task.status == "completed"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).lock_version == before + 1
    assert db.session.get(HumanTask, task.id).completed_by_id == user("official_almaty").id


def test_a_task_already_in_the_session_is_not_read_again(world):
    act = act_of_school(SCHOOL_C)
    task_id = open_task(act, "accept_act").id
    official = user("official_almaty")
    first = get_task_for(official, task_id)
    seen: list[str] = []

    def listener(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        again = get_task_for(official, task_id)
        instance = again.instance
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert again is first and instance.id == act.instance_id
    assert seen == [], "the task, its instance and organisation came with the first (joined) load"


def test_the_background_pass_checkpoints_the_sqlite_log(world):
    sent = statements_of(checkpoint)
    if db.engine.dialect.name == "sqlite":
        assert sent == ["PRAGMA wal_checkpoint(PASSIVE)"]
        with db.engine.connect() as conn:
            busy, log_frames, checkpointed = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert busy == 0 and log_frames == checkpointed, "every frame of the log is back in the database file"
    else:
        assert sent == [], "the server checkpoints by itself: the pass sends it nothing"
