"""An act is accepted only at a norm: a month of an academic year whose per-student norms nobody has set (no state
order of that year placed yet) priced every line at 0 ₸ — all lines "accepted", the act accepted and paid 0 ₸, the
month closed for good (paid exactly once) with nothing to tell the department or the school why."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act, StudentNorm
from app.acts.operations import open_monthly_act, prefill_lines
from app.engine.errors import DomainRefused
from app.engine.runtime import complete_task
from app.extensions import db
from app.reports.operations import run_month_verification, start_month_verification
from tests.helpers import open_task, school, seen, user

BILIM = "Bilim Innovation School"
SEPTEMBER = date(2027, 9, 1)  # academic year 2027/2028: the demo world set norms for 2026/2027 only


@pytest.fixture()
def next_year(world):
    with clock.FrozenClock(datetime(2027, 10, 5, 6, 0, tzinfo=UTC)) as frozen:
        yield frozen


def _submitted_september() -> Act:
    act = open_monthly_act(school(BILIM), SEPTEMBER)
    db.session.commit()
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Act, act.id)


def test_an_act_priced_without_the_years_norms_is_not_accepted_until_they_are_set(next_year):
    act = _submitted_september()
    assert act.status == "verified" and act.accepted_lines == act.total_lines > 0 and act.amount_tiyn == 0
    task = open_task(act, "accept_act")
    with pytest.raises(DomainRefused, match="2027/2028"):
        complete_task(task.id, user("official"), data={"decision": "accept"}, seen=str(seen(task)))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified", "nothing accepted, nothing to pay"

    # The year's norms are set (the first state order of the year is placed); the month is verified again and
    # the act is accepted at them.
    for level, tiyn in (("primary", 3_900_000), ("basic", 4_300_000), ("secondary", 4_700_000)):
        db.session.add(StudentNorm(academic_year="2027/2028", level=level, monthly_tiyn=tiyn))
    db.session.commit()
    run_month_verification(start_month_verification(SEPTEMBER, actor=None, dispatch_job=False).id)
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.amount_tiyn > 0
    task = open_task(act, "accept_act")
    complete_task(task.id, user("official"), data={"decision": "accept"}, seen=str(seen(task)))
    db.session.commit()
    assert db.session.scalars(select(Act.status).where(Act.id == act.id)).one() == "accepted"
