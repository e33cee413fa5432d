"""Demo history: the Astana schools' earlier months of the year, submitted, accepted and paid through the real
workflow as each role would — so the public portal, reports and reconciliation have decided figures to show."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.operations import open_monthly_act, prefill_lines
from app.demo.lifecycle import _open_task, _user
from app.engine.runtime import complete_task
from app.extensions import db

SCHOOLS = (("school_a", "accountant"), ("school_b", "accountant2"))


def seed_paid_history(orgs: dict, year_start: date, before: date) -> int:
    """Acts of every month from ``year_start`` up to (not including) ``before``; returns how many were paid.

    Each month is lived on its own days, as it would have been: the act opens on the 3rd of the following month,
    the school submits on the 5th, the department accepts on the 7th and the operator pays on the 10th (so the
    audit trail, deadlines and analytics read like a real year, not like one busy afternoon)."""
    official, operator = _user("official"), _user("operator")
    paid = 0
    month = year_start
    while month < before:
        following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        for key, accountant in SCHOOLS:
            with clock.FrozenClock(datetime(following.year, following.month, 3, 4, 0, tzinfo=UTC)) as day:
                act = open_monthly_act(orgs[key], month)
                db.session.commit()
                day.advance(days=2)
                complete_task(_open_task(act.instance_id, "submit_act").id, _user(accountant),
                              data={"lines": prefill_lines(act), "note": ""})
                db.session.commit()
                day.advance(days=2)
                complete_task(_open_task(act.instance_id, "accept_act").id, official, data={"decision": "accept"})
                db.session.commit()
                day.advance(days=3)
                complete_task(_open_task(act.instance_id, "pay_act").id, operator,
                              data={"order_number": f"PP-{act.id:05d}", "paid_on": f"{day.at.date()}"})
                db.session.commit()
            paid += 1
        month = following
    return paid
