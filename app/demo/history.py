"""Demo history: the Astana schools' earlier months of the year, submitted, accepted and paid through the real
workflow as each role would — so the public portal, reports and reconciliation have decided figures to show."""

from __future__ import annotations

from datetime import date

from app.acts.operations import open_monthly_act, prefill_lines
from app.demo.lifecycle import _open_task, _user
from app.engine.runtime import complete_task
from app.extensions import db

SCHOOLS = (("school_a", "accountant"), ("school_b", "accountant2"))


def seed_paid_history(orgs: dict, year_start: date, before: date) -> int:
    """Acts of every month from ``year_start`` up to (not including) ``before``; returns how many were paid."""
    official, operator = _user("official"), _user("operator")
    paid = 0
    month = year_start
    while month < before:
        for key, accountant in SCHOOLS:
            act = open_monthly_act(orgs[key], month)
            db.session.commit()
            complete_task(_open_task(act.instance_id, "submit_act").id, _user(accountant),
                          data={"lines": prefill_lines(act), "note": f"{month:%Y-%m}"})
            db.session.commit()
            complete_task(_open_task(act.instance_id, "accept_act").id, official, data={"decision": "accept"})
            db.session.commit()
            complete_task(_open_task(act.instance_id, "pay_act").id, operator,
                          data={"order_number": f"PP-{act.id:05d}", "paid_on": f"{month.replace(day=28)}"})
            db.session.commit()
            paid += 1
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return paid
