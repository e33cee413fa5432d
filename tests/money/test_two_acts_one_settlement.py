"""Two open acts of one school verified in one pass — a registry import re-verifies every open act that lists a
changed student, so a school's October resubmitted after a return and its November are settled together — settle a
correction of a decided month once, on one of them: what the first settles is settled for the second."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.adjustments import settle_adjustments
from app.acts.models import Act, ActAdjustment
from app.extensions import db
from tests.registry.conftest import iin

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
AMOUNT = 3_850_000


def _open(country, school, period: date, student: str) -> Act:
    act = country.act(school, [(student, 3)], period=period, status="verified")
    act.amount_tiyn = 10 * AMOUNT
    db.session.flush()
    return act


def test_a_withdrawal_found_while_two_acts_of_the_school_are_verified_together_is_clawed_back_once(country):
    school = country.school()
    gone, stays = iin(901), iin(902)
    row = country.enrol(gone, school.bin, grade=3)
    country.enrol(stays, school.bin, grade=3)
    september = country.act(school, [(gone, 3)], period=SEPTEMBER, status="paid")
    (line,) = september.lines
    line.outcome, line.amount_tiyn, line.paid_days = "accepted", AMOUNT, 30
    september.amount_tiyn = AMOUNT
    october, november = _open(country, school, OCTOBER, stays), _open(country, school, NOVEMBER, stays)
    row.withdrawn_on = date(2026, 8, 20)  # NEDB: gone before September
    db.session.flush()

    settle_adjustments([october, november])
    db.session.expire_all()
    settled = db.session.execute(select(ActAdjustment.act_id, ActAdjustment.amount_tiyn)
                                 .where(ActAdjustment.original_line_id == line.id)).all()
    assert sum(amount for _, amount in settled) == -AMOUNT, settled
    assert len(settled) == 1
