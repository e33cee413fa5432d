"""A top-up of a month of a closed academic year — money owed TO the school after a registry correction of a paid
month — is not paid out of the new year's act (its contract and budget are that year's). It is not dropped either:
once the new year's first act is decided it stays in the unsettled list as *carried* (no act settles it), on the
contract's page, in the year-end report and in the reconciliation, for as long as the registry says it is owed —
however many years later."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts import adjustments
from app.acts.adjustments import ENROLLED_DAYS, unsettled_corrections
from app.acts.models import Act, ActAdjustment
from app.extensions import db
from tests.registry.conftest import Country, iin

AMOUNT = 3_850_000  # primary, a whole month
MAY = date(2027, 5, 1)


def _paid(country: Country, school, period: date, students: list[tuple[str, int, int]]) -> Act:
    """A paid act of ``period``: (student, amount, days paid) per accepted line."""
    act = country.act(school, [(s, 3) for s, _, _ in students], period=period, status="paid")
    for line, (_, amount, days) in zip(sorted(act.lines, key=lambda ln: ln.line_no), students, strict=True):
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", amount, days
    act.amount_tiyn = sum(amount for _, amount, _ in students)
    db.session.flush()
    return act


def _owed(school) -> list[tuple[str, str, int, bool]]:
    return [(u.line.iin, u.correction.rule_code, u.amount_tiyn, u.carried) for u in unsettled_corrections(school)]


def test_a_closed_years_top_up_stays_listed_as_carried_once_the_new_year_begins(country):
    school = country.school()
    late, stays = iin(801), iin(802)
    # May was paid for 10 days of ``late`` (enrolled on the 22nd, NEDB said then); NEDB now says 1 May.
    country.enrol(late, school.bin, grade=3, enrolled=date(2027, 5, 1))
    country.enrol(stays, school.bin, grade=3, enrolled=date(2026, 9, 1))
    _paid(country, school, MAY, [(late, AMOUNT * 10 // 31, 10), (stays, AMOUNT, 31)])
    top_up = AMOUNT - AMOUNT * 10 // 31

    with clock.FrozenClock(datetime(2027, 6, 10, 6, 0, tzinfo=UTC)):
        assert _owed(school) == [(late, ENROLLED_DAYS, top_up, False)], "the year's next act would settle it"

    with clock.FrozenClock(datetime(2027, 9, 2, 6, 0, tzinfo=UTC)):
        # September's act is open: it is the next act, not a June that will not come — carried from now on
        september = country.act(school, [(stays, 3)], period=date(2027, 9, 1), status="awaiting_submission")
        assert _owed(school) == [(late, ENROLLED_DAYS, top_up, True)]
        db.session.delete(september)
        db.session.flush()

    with clock.FrozenClock(datetime(2027, 10, 5, 6, 0, tzinfo=UTC)):
        _paid(country, school, date(2027, 9, 1), [(stays, AMOUNT, 30)])  # the new year's first act is decided
        assert _owed(school) == [(late, ENROLLED_DAYS, top_up, True)], "carried: no act of 2027/28 settles it"

        october = country.act(school, [(stays, 3)], period=date(2027, 10, 1), status="verified")
        october.amount_tiyn = AMOUNT
        db.session.flush()
        assert adjustments.settle_adjustments([october]) == {}, "not paid out of the new year's act"
        assert db.session.scalars(select(ActAdjustment)).all() == []

    with clock.FrozenClock(datetime(2028, 10, 5, 6, 0, tzinfo=UTC)):
        _paid(country, school, date(2028, 9, 1), [(stays, AMOUNT, 30)])  # a year later: still owed, still listed
        assert _owed(school) == [(late, ENROLLED_DAYS, top_up, True)]
