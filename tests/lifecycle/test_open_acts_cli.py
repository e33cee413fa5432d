"""`flask open-acts` opens the acts of a month that has ended, and only such a month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.acts.models import Act
from app.extensions import db


def _acts_of(month: date) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Act).where(Act.period == month))


def test_open_acts_refuses_a_month_not_yet_ended_and_a_malformed_month(frozen, app):
    runner = app.test_cli_runner()
    frozen.at = datetime(2027, 9, 20, 6, 0, tzinfo=UTC)
    early = runner.invoke(args=["open-acts", "--period", "2027-09"])
    assert early.exit_code == 1 and "has not ended yet" in early.output and "2027-10-01" in early.output
    assert _acts_of(date(2027, 9, 1)) == 0
    bad = runner.invoke(args=["open-acts", "--period", "2027-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output

    frozen.at = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)  # 11:00 in Astana: September has ended
    done = runner.invoke(args=["open-acts", "--period", "2027-09"])
    assert done.exit_code == 0 and _acts_of(date(2027, 9, 1)) > 0


def test_open_acts_opens_no_act_for_a_school_in_the_state_order_without_a_signed_contract(frozen, app, browser):
    """A school that applied to the state order covering the month is funded only under its signed contract. With
    the contract still awaiting signatures, or the application rejected, ``flask open-acts`` had opened the school's
    act with no contract at all: verified at the year's default norms with no places per level and no cap, and paid
    — before the contract was signed, or to a school the department had refused. A school that never took part in
    a state order (the pilot's) opens as before."""
    from app.registry.models import Licence
    from tests.helpers import school
    from tests.lifecycle.flow import allocate, apply, open_task_of, place_order

    official = browser("official")
    order = place_order(official)  # 2027/2028: September 2027 to May 2028
    bilim, nur = school("Bilim Innovation School"), school("Nur Private School")
    contract = allocate(official, apply(browser("accountant"), order, bilim, "KZ15LAA00001234"))
    assert contract.status == "awaiting_director"
    refused = apply(browser("accountant2"), order, nur,
                    db.session.scalars(select(Licence.number).where(Licence.bin == nur.bin)).first())
    task = open_task_of(refused.instance_id, "review_application")
    assert official.post(f"/tasks/{task.id}", {"decision": "reject", "places_primary": "0", "places_basic": "0",
                                               "places_secondary": "0", "comment": "Budget exhausted"}
                         ).status_code == 302

    frozen.at = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)
    done = app.test_cli_runner().invoke(args=["open-acts", "--period", "2027-09"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    september = date(2027, 9, 1)
    opened = set(db.session.scalars(select(Act.school_id).where(Act.period == september)))
    assert bilim.id not in opened, "the contract is not signed yet: no act, nothing to pay"
    assert nur.id not in opened, "the school's application was rejected: it is not funded this year"
    assert school("Alatau Lyceum").id in opened, "a school never in a state order opens as before"

    # July 2028: no order covers the summer. The refused school had opened a pilot-style act for it, paid at the
    # default norms with no contract behind it.
    frozen.at = datetime(2028, 8, 1, 6, 0, tzinfo=UTC)
    summer = app.test_cli_runner().invoke(args=["open-acts", "--period", "2028-07"])
    assert summer.exit_code == 0, summer.output
    db.session.expire_all()
    july = set(db.session.scalars(select(Act.school_id).where(Act.period == date(2028, 7, 1))))
    assert nur.id not in july and bilim.id not in july, "in the state order: no contract for July, no act"
    assert school("Alatau Lyceum").id in july


def test_one_school_whose_act_fails_to_open_does_not_stop_the_others(frozen, app, monkeypatch):
    """The contract's timer opening a school's act at the moment ``flask open-acts`` does gave the command a
    unique-constraint error: it ended with a traceback, and every school after that one was left without its act."""
    from sqlalchemy.exc import IntegrityError

    import app.acts.operations as act_operations
    from tests.helpers import school

    unlucky = school("Bilim Innovation School").id
    real = act_operations.open_monthly_act

    def racing(organisation, period, *args, **kwargs):
        if organisation.id == unlucky:
            raise IntegrityError("INSERT INTO act", {}, Exception("UNIQUE constraint failed: act.school_id"))
        return real(organisation, period, *args, **kwargs)

    monkeypatch.setattr(act_operations, "open_monthly_act", racing)
    frozen.at = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)
    done = app.test_cli_runner().invoke(args=["open-acts", "--period", "2027-09"])
    assert done.exit_code == 1 and "Bilim Innovation School: IntegrityError" in done.output, done.output
    opened = set(db.session.scalars(select(Act.school_id).where(Act.period == date(2027, 9, 1))))
    assert unlucky not in opened
    assert {school("Nur Private School").id, school("Alatau Lyceum").id} <= opened
