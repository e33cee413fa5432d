"""Announcements and SLA notices: one task that cannot be notified does not hold up the others."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.engine import runtime
from app.engine.incidents import Incident, retry_incident
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.notifications import announce
from app.notifications import operations as notifications
from app.notifications.models import Notification
from tests.helpers import user
from tests.operations.conftest import START


def _notes(task_id: int) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.task_id == task_id)) or 0


def test_a_task_that_cannot_be_announced_does_not_hold_up_the_others(app_ctx, poison_model, monkeypatch):
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("poison", title="fine", actor=user("owner"), data={"kind": "fine"})
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        check = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        # other people's new tasks wait in the same queue (the demo's open tasks, as if just created)
        others = db.session.scalars(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.role != "operator")
                                    .order_by(HumanTask.id).limit(5)).all()
        db.session.execute(HumanTask.__table__.update().where(HumanTask.id.in_(others)).values(announced_at=None))
        db.session.commit()
        before = {task_id: _notes(task_id) for task_id in others}
        assert len(others) == 5
        real = announce.recipients_for

        def directory_down_for_operators(role, *args, **kwargs):
            if role == "operator":
                raise RuntimeError("directory unavailable")
            return real(role, *args, **kwargs)

        monkeypatch.setattr(announce, "recipients_for", directory_down_for_operators)
        announce.announce_backlog()
        monkeypatch.undo()

        db.session.expire_all()
        assert all(_notes(task_id) > before[task_id] for task_id in others), "everyone else's tasks were announced"
        assert _notes(check.id) == 0
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance.id)).one()
        assert (incident.kind, incident.element_id, incident.status) == ("announcement", "check", "open")
        assert db.session.get(ProcessInstance, instance.id).status == "running", "the process itself goes on"

        # the directory is back: the operator's retry puts the task back in the queue, the next pass announces it
        assert retry_incident(incident, user("operator")) is True
        announce.announce_backlog()
    db.session.expire_all()
    assert _notes(check.id) >= 1


def test_one_failing_sla_notice_does_not_stop_the_scan(app_ctx, world, monkeypatch):
    now = clock.now()
    tasks = db.session.scalars(select(HumanTask).where(HumanTask.status == "open").order_by(HumanTask.id)
                               .limit(2)).all()
    for task in tasks:
        task.due_at, task.sla_state = now - timedelta(hours=1), None
    db.session.commit()
    broken_id, fine_id = tasks[0].id, tasks[1].id
    real = notifications.recipients

    def recipients(task):
        if task.id == broken_id:
            raise RuntimeError("mail directory unavailable")
        return real(task)

    monkeypatch.setattr(notifications, "recipients", recipients)
    counts = notifications.scan_sla(now)
    db.session.commit()
    assert counts["overdue"] >= 1
    db.session.expire_all()
    assert db.session.get(HumanTask, fine_id).sla_state == "overdue"
    assert db.session.get(HumanTask, broken_id).sla_state is None, "tried again by the next pass"


def test_a_connection_broken_under_the_announcements_leaves_the_tasks_for_the_next_pass(app_ctx, world, caplog):
    """PostgreSQL drops the pass's connection (pg_terminate_backend from a second connection, as a restart does) as it
    claims new tasks, and again as it claims the first of them alone: the tasks stay unannounced and the next pass
    announces them, with no incident. The failed batch had fallen back to one by one, and the task whose connection
    broke there was taken out of the queue with an "announcement" incident — its people never told unless an operator
    retried it — and the pass had logged a traceback for a database's moment."""
    import logging

    import pytest
    from sqlalchemy import event, text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL (DATABASE_URL)")
    waiting = db.session.scalars(select(HumanTask.id).where(HumanTask.status == "open").order_by(HumanTask.id)
                                 .limit(3)).all()
    assert len(waiting) == 3
    db.session.execute(HumanTask.__table__.update().where(HumanTask.id.in_(waiting)).values(announced_at=None))
    db.session.commit()
    before = {task_id: _notes(task_id) for task_id in waiting}
    incidents = db.session.scalar(select(func.count(Incident.id)).where(Incident.kind == "announcement"))
    kills = []

    def kill_at_the_claim(conn, _cursor, statement, *_args):
        if len(kills) < 2 and statement.startswith("UPDATE human_task") and "announced_at" in statement:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with db.engine.connect() as other:  # a second connection does it, as an administrator or a restart would
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            kills.append(pid)

    event.listen(db.engine, "before_cursor_execute", kill_at_the_claim)
    try:
        with caplog.at_level(logging.WARNING, logger="app.notifications"):
            notifications.tick()
    finally:
        event.remove(db.engine, "before_cursor_execute", kill_at_the_claim)
    assert kills, "the pass's connection was killed"
    said = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name.startswith("app.notifications")]
    assert len(said) == 1 and said[0][1] is None and "announce failed: " in said[0][0], said
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.kind == "announcement")) == incidents
    assert db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.id.in_(waiting),
                                                                     HumanTask.announced_at.is_(None))) == 3

    notifications.tick()  # the database answers again
    db.session.expire_all()
    assert all(_notes(task_id) > before[task_id] for task_id in waiting), "every task announced once it could be"
    assert db.session.scalar(select(func.count(Incident.id)).where(Incident.kind == "announcement")) == incidents
