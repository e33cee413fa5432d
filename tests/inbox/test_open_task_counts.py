"""The inbox's counts come from an index alone, for the country and for a region (issue 5).

Every page an operator opens shows the nav badge — their open tasks in the whole country, ~36,000 at
1,000,000 tasks — and the inbox page the group tab's count as well. Read from the table, each count visited
~24,000 heap pages (≈70 ms, on every page: benchmarks/README.md, "The operator's counts"); a region's official,
~2,000 (≈8 ms). They must be answered by an index-only scan: the role, the state, the trial flag, the region
and the claim are all in one index.

Plan shape, not timing. The country's queue is loaded in miniature, and on PostgreSQL the planner is told to
leave sequential and bitmap scans aside (with a few thousand rows it may rightly prefer them): the test asks
whether the index path it takes reads the index alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Select, insert, select, text

from app import clock
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.inbox.queries import count_query, count_statement, open_tasks_for, view_query
from tests.helpers import query_plan, user

LANES = (("accept_act", "department_official"), ("submit_act", "school_accountant"), ("pay_act", "operator"))


@pytest.fixture()
def open_tasks(world) -> dict[str, int]:
    """3,000 tasks of all three lanes in the official's region, a quarter open; of the open ones, a few claimed
    by the person of the lane and a few by someone else. Returns how many open tasks the operator's and the
    official's badges and group tabs count."""
    operator, official = user("operator"), user("official")
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.region_id == official.region_id)
                                  .order_by(ProcessInstance.id)).first()
    now = clock.now()
    person = {"operator": operator, "department_official": official}
    counts = {"operator": 0, "operator group": 0, "official": 0, "official group": 0}
    rows = []
    for n in range(3000):
        spec, role = LANES[n % 3]
        status = "open" if n % 4 == 0 else "completed"
        assignee = None
        if status == "open" and role in person and n % 20 == 0:
            assignee = person[role].id if n % 40 == 0 else user("accountant").id
        rows.append({"instance_id": instance.id, "task_guid": f"national-{n}", "spec_name": spec, "title": spec,
                     "subject_title": f"ACT-{n:07d}", "role": role, "region_id": instance.region_id,
                     "organisation_id": instance.organisation_id, "status": status, "assignee_id": assignee,
                     "created_at": now - timedelta(minutes=n)})
        if status == "open" and role in person:
            key = "operator" if role == "operator" else "official"
            counts[f"{key} group"] += 1
            counts[key] += assignee in (None, person[role].id)
    db.session.execute(insert(HumanTask.__table__), rows)
    if db.engine.dialect.name == "postgresql":
        # The suite commits without waiting for the WAL flush, and VACUUM never marks the pages of such a commit
        # all-visible until it is flushed: this one waits, so the pages are as a live system's are.
        db.session.execute(text("SET LOCAL synchronous_commit = on"))
    db.session.commit()
    return counts


def _plan(statement: Select) -> str:
    return query_plan(statement, "human_task")


def _reads_the_index_alone(plan: str) -> bool:
    if db.engine.dialect.name == "postgresql":
        return "Index Only Scan" in plan and "Seq Scan" not in plan
    return "COVERING INDEX" in plan


def test_the_operators_nav_badge_is_counted_from_an_index_alone(open_tasks):
    operator = user("operator")
    assert count_query(open_tasks_for(operator)) == open_tasks["operator"]
    plan = _plan(count_statement(open_tasks_for(operator)))
    assert _reads_the_index_alone(plan), plan


def test_the_operators_group_tab_is_counted_from_an_index_alone(open_tasks):
    operator = user("operator")
    assert count_query(view_query(operator, "group")) == open_tasks["operator group"]
    plan = _plan(count_statement(view_query(operator, "group")))
    assert _reads_the_index_alone(plan), plan


def test_a_regions_nav_badge_and_group_tab_are_counted_from_an_index_alone(open_tasks):
    official = user("official")
    assert count_query(open_tasks_for(official)) == open_tasks["official"]
    assert count_query(view_query(official, "group")) == open_tasks["official group"]
    for query in (open_tasks_for(official), view_query(official, "group")):
        plan = _plan(count_statement(query))
        assert _reads_the_index_alone(plan), plan
