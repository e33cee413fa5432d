"""A simulated academic year of the dormitory-places order for three dormitories: Jastar (clean), Nomad (one line
of every anomaly every month, and its ownership document lapses on 15 May) and Alatau (whose resident Nomad also
claims). Every month each act is opened under its contract, submitted by the dormitory's accountant, verified,
accepted by the department's official and paid by the operator — exactly once. Every line's outcome is compared
with the synthetic ground truth, and the clean dormitory's year with a sum worked out by hand from the dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.verification import month_bounds
from app.audit.operations import verify_all_chains
from app.contracts.operations import open_contract_act
from app.dormitories.demo import submit_month
from app.dormitories.models import DormitoryDocument, DormitoryTerms
from app.dormitories.rules import DORM_RULES
from app.engine.errors import DomainRefused
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from tests.helpers import user
from tests.lifecycle.flow import open_task_of

MONTHS = [date(2027, m, 1) for m in range(9, 13)] + [date(2028, m, 1) for m in range(1, 7)]
ACCOUNTANTS = {"dorm_a": "dorm_accountant", "dorm_b": "dorm_accountant2", "dorm_c": "dorm_accountant3"}
OFFICIALS = {"dorm_a": "official", "dorm_b": "official", "dorm_c": "official_almaty"}
OWNERSHIP_LAPSES = date(2028, 5, 15)  # Nomad's last day of ownership


def _expected_amount(world, period: date, rate: int) -> int:
    """What the clean dormitory is owed for the month, from the residents' dates alone."""
    start, end = month_bounds(period)
    total = 0
    for r in world.residents:
        last = end if r.moved_out is None else min(end, r.moved_out - timedelta(days=1))
        days = (last - max(r.moved_in, start)).days + 1
        total += rate * days // end.day if days > 0 else 0
    return total


def _live_month(seeded: dict, period: date) -> dict[str, Act]:
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    clock.set_clock(clock.FrozenClock(datetime(following.year, following.month, 3, 5, 0, tzinfo=UTC)))
    acts = {key: open_contract_act(contract, period) for key, contract in seeded["contracts"].items()}
    db.session.commit()
    for key in ("dorm_a", "dorm_b", "dorm_c"):  # Nomad before Alatau: the second claim re-verifies the first
        submit_month(seeded["worlds"][key], acts[key], ACCOUNTANTS[key])
        db.session.commit()
    return acts


def _decide_and_pay(acts: dict[str, Act]) -> None:
    for key, act in acts.items():
        complete_task(open_task_of(act.instance_id, "accept_act").id, user(OFFICIALS[key]), data={"decision": "accept"})
        db.session.commit()
        if act.amount_tiyn == 0:  # nothing to pay: closed without a payment order (app.payments.operations)
            assert act.status == "paid"
            continue
        complete_task(open_task_of(act.instance_id, "pay_act").id, user("operator"),
                      data={"order_number": f"DP-{act.id:05d}", "paid_on": f"{clock.today()}"})
        db.session.commit()


def test_a_year_of_three_dormitories_matches_the_ground_truth_line_by_line_and_is_paid_once(dorm_year):
    seeded = dorm_year
    rate = {key: db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                                   .where(DormitoryTerms.contract_id == c.id))
            for key, c in seeded["contracts"].items()}
    assert rate == {"dorm_a": 1_900_000, "dorm_b": 1_900_000, "dorm_c": 1_900_000}, "Astana/Almaty urban rows"
    # Nomad's ownership (lease) ends mid-May: May is paid for the days it covers, June not at all.
    lease = db.session.scalars(select(DormitoryDocument).where(
        DormitoryDocument.dormitory_bin == seeded["orgs"]["dorm_b"].bin, DormitoryDocument.kind == "ownership")).one()
    lease.valid_until = OWNERSHIP_LAPSES
    db.session.commit()

    seen_rules: set[str] = set()
    clean_paid = 0
    for period in MONTHS:
        acts = _live_month(seeded, period)
        for key, act in acts.items():
            db.session.refresh(act)
            assert act.status == "verified", (key, period)
            lines = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)).all()
            truth = seeded["worlds"][key].lines_for(period)
            if key == "dorm_b" and period > OWNERSHIP_LAPSES:
                truth = [(line, "dorm_documents_expired") for line, _ in truth]
            assert [(ln.iin, ln.rule_code) for ln in lines] == [(line["iin"], rule) for line, rule in truth], \
                (key, period)
            seen_rules |= {ln.rule_code for ln in lines if ln.rule_code}
        assert acts["dorm_a"].total_lines == acts["dorm_a"].accepted_lines, "the clean dormitory loses no line"
        assert acts["dorm_a"].amount_tiyn == _expected_amount(seeded["worlds"]["dorm_a"], period, rate["dorm_a"])
        clean_paid += acts["dorm_a"].amount_tiyn
        if period == date(2028, 5, 1):
            paid = {ln.paid_days for ln in db.session.scalars(select(ActLine).where(
                ActLine.act_id == acts["dorm_b"].id, ActLine.outcome == "accepted"))}
            assert paid == {15}, "May pays only the days the lease covers"
        _decide_and_pay(acts)

    # the form refuses bad IINs; dorm_no_documents below; the business register's rules: test_business_register and
    # test_liquidation
    expected = set(DORM_RULES) - {"iin_checksum", "dorm_no_documents", "dorm_no_business_record",
                                  "dorm_business_inactive", "dorm_liquidated"}
    assert seen_rules == expected
    payments = db.session.scalars(select(Payment)).all()
    dorm_acts = db.session.scalars(select(Act).where(Act.instrument == "dormitory")).all()
    assert len(dorm_acts) == 3 * len(MONTHS) and {a.status for a in dorm_acts} == {"paid"}
    # each act with money paid by exactly one order; an act of 0 ₸ (every place excluded) closed without one
    assert sorted(p.act_id for p in payments if p.act_id in {a.id for a in dorm_acts}) == sorted(
        a.id for a in dorm_acts if a.amount_tiyn > 0)
    assert sum(p.amount_tiyn for p in payments if p.act.school_id == seeded["orgs"]["dorm_a"].id) == clean_paid
    with pytest.raises(DomainRefused):
        register_payment(dorm_acts[0], "DP-AGAIN", clock.today(), user("operator"))
    db.session.rollback()
    assert verify_all_chains()[1] == []
