"""The database connection breaking under a timer's step (PostgreSQL restarted, the backend killed with
pg_terminate_backend) is not the instance's failure: the step is rolled back, the instance stays running with its
timer due, and the next pass fires it. It used to become a halting ``database`` incident: a healthy instance stood
in ``error`` until an operator retried it, for every instance a pass was on when the server restarted."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from app import clock
from app.engine import runtime
from app.engine.incidents import Incident
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from tests.helpers import user
from tests.operations.conftest import START


def _lose_the_connection() -> None:
    """On PostgreSQL the session's own backend is terminated (as a server restart does to it); SQLite has no
    server, so the driver's error for a dropped connection is raised as SQLAlchemy reports it."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        db.session.execute(text("SELECT 1"))  # raises: the server closed the connection
        raise AssertionError("the backend was not terminated")
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                           connection_invalidated=True)


def test_a_connection_lost_under_a_timer_is_tried_again_not_an_incident(app_ctx, poison_model, monkeypatch):
    real_sync, state = runtime._sync, {}

    def sync_once_without_a_connection(*args, **kwargs):
        if state.pop("lose", False):
            _lose_the_connection()
        return real_sync(*args, **kwargs)

    monkeypatch.setattr(runtime, "_sync", sync_once_without_a_connection)
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance("poison", title="fine", actor=user("owner"), data={"kind": "fine"})
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)
        state["lose"] = True

        assert runtime.fire_due_timers() == 0, "the connection broke under the step"
        db.session.expire_all()
        assert db.session.get(ProcessInstance, instance_id).status == "running"
        assert db.session.scalar(select(func.count(Incident.id))) == 0, "the moment's failure, not the instance's"

        assert runtime.fire_due_timers() == 1, "the next pass fires it"
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == "check")).one().status == "open"
