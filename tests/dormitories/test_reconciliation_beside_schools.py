"""A dormitory's act beside schools' acts in the same region and month: each funding instrument's reconciliation
explains its own money to the tiyn (``tests/money/reconciliation_checks.py``) — neither counts the other's acts,
lines or payments, and a dormitory line's withheld rate for part of a month is rounded as its act rounds it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act
from app.contracts.models import ContractAct
from app.dormitories.models import DormitoryTerms
from app.extensions import db
from tests.money.reconciliation_checks import assert_explained, assert_views_agree, line_norm
from tests.money.test_reconciliation import _month_of_every_kind

OCTOBER = date(2026, 10, 1)


def test_a_dormitory_and_schools_in_one_region_are_each_explained_to_the_tiyn(dorm_world, browser):
    """Nomad Student House (Astana, as Bilim and Nur) had four places over its capacity excluded for one day each:
    a rate per place × 1 / 31 days is not a whole tiyn. The act withholds each rounded down; the reconciliation summed
    the exact fractions and rounded once (on SQLite in floating point) — "withheld by rule" a tiyn above what the
    act's lines withhold, "withheld: days, cap, contract norms" a tiyn below zero."""
    _month_of_every_kind()
    nomad = db.session.scalars(select(Act).where(Act.instrument == "dormitory", Act.period == OCTOBER,
                                                 Act.status == "verified", Act.withheld_tiyn > 17_000_000)).one()
    over = [ln for ln in nomad.lines if ln.rule_code == "dorm_over_capacity"]
    assert len(over) >= 2 and {ln.days_attended for ln in over} == {1}
    rate = db.session.scalar(
        select(DormitoryTerms.place_rate_tiyn).join(ContractAct, ContractAct.contract_id == DormitoryTerms.contract_id)
        .where(ContractAct.act_id == nomad.id))
    assert rate % 31 and sum(line_norm(nomad, ln) for ln in over) == len(over) * (rate // 31) < len(over) * rate // 31
    schools = {a.region_id for a in db.session.scalars(select(Act).where(
        Act.instrument == "schools", Act.period == OCTOBER, Act.status != "awaiting_submission"))}
    assert nomad.region_id in schools, "the same region has schools' acts this month"

    dorm_rows, _ = assert_explained(OCTOBER, "dormitory")
    school_rows, _ = assert_explained(OCTOBER, "schools")
    assert {r.region_id: r.acts for r in dorm_rows}[nomad.region_id] == db.session.scalar(
        select(db.func.count(Act.id)).where(Act.instrument == "dormitory", Act.period == OCTOBER,
                                            Act.region_id == nomad.region_id, Act.status != "awaiting_submission"))
    assert_views_agree(browser, OCTOBER, "dormitory")
    assert_views_agree(browser, OCTOBER, "schools")
