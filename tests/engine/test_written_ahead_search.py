"""Every background pass looks for the running instances a clock that ran ahead wrote last
(runtime.recheck_written_ahead; most passes find none). Before migration 0031 PostgreSQL answered it by reading the
whole of the cockpit's (is_trial, updated_at, id) index with the state as a filter — every instance ever started, twice
a minute; SQLite skip-scanned the cockpit's (is_trial, status, updated_at, id) index, which served (so this test fails
on the old schema on PostgreSQL only). The search must be a range of the (status, updated_at) index.

Plan shape, not timing: a few thousand running instances, and on PostgreSQL the planner told to leave sequential and
bitmap scans aside (with so few rows it may rightly prefer them): the test asks which index path it takes.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from app import clock
from app.engine.models import ProcessInstance
from app.engine.runtime import written_ahead_query
from app.extensions import db
from tests.helpers import query_plan


def _running_instances(count: int) -> tuple[int, list[int]]:
    """``count`` running copies of a demo instance written in the past, and two written by a clock ahead."""
    model = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).first()
    now = clock.now()
    columns = {c.key: getattr(model, c.key) for c in ProcessInstance.__table__.c if c.key != "id"}
    rows = [{**columns, "status": "running", "title": f"copy {n}", "updated_at": now - timedelta(minutes=n)}
            for n in range(count)]
    rows += [{**columns, "status": "running", "title": f"ahead {n}", "updated_at": now + timedelta(days=200 + n)}
             for n in range(2)]
    db.session.execute(insert(ProcessInstance.__table__), rows)
    db.session.commit()
    ahead = db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.title.like("ahead %"))
                               .order_by(ProcessInstance.id)).all()
    return len(rows), ahead


def test_the_search_for_instances_written_ahead_is_a_range_of_the_state_and_write_index(world):
    _total, ahead = _running_instances(3000)
    query = written_ahead_query(clock.now())
    assert db.session.scalars(query).all() == ahead
    plan = query_plan(query, "process_instance")
    if db.engine.dialect.name == "postgresql":
        assert "ix_process_instance_status_updated" in plan and "updated_at >" in plan, plan
    else:
        assert "INDEX ix_process_instance_status_updated (status=? AND updated_at>?)" in plan, plan
    db.session.rollback()
