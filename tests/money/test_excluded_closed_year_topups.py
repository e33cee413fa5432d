"""A line May's paid act EXCLUDED on registry evidence (withdrawn, not in NEDB, …), shown later by a registry
correction to have been valid, is money owed to the school. It is carried like any top-up of a closed academic
year, never dropped: neither when the new year's act is the next one, nor once NEDB's grades have moved on to the
new year on 1 September (May's grade can no longer be checked against NEDB then: it is listed with that reason, and
no act pays it by itself)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template
from sqlalchemy import select

from app import clock
from app.acts import adjustments
from app.acts.adjustments import cause_title, unsettled_corrections
from app.acts.models import Act, ActAdjustment
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.extensions import db
from tests.registry.conftest import NORMS, Country, iin

AMOUNT = NORMS["primary"]
MAY = date(2027, 5, 1)


def _paid_may(country: Country, school, wrongly_withdrawn: str, stays: str) -> Act:
    act = country.act(school, [(wrongly_withdrawn, 3), (stays, 3)], period=MAY, status="paid")
    excluded, accepted = sorted(act.lines, key=lambda ln: ln.line_no)
    excluded.outcome, excluded.rule_code, excluded.amount_tiyn, excluded.paid_days = "excluded", "withdrawn", 0, 0
    accepted.outcome, accepted.amount_tiyn, accepted.paid_days = "accepted", AMOUNT, 31
    act.amount_tiyn = AMOUNT
    db.session.flush()
    return act


def _owed(school) -> list[tuple[str, str, int, bool, bool]]:
    return [(u.line.iin, u.correction.rule_code, u.amount_tiyn, u.carried, u.grade_unchecked)
            for u in unsettled_corrections(school)]


def test_a_may_line_excluded_then_corrected_stays_listed_after_the_new_year_begins(app, country):
    school = country.school()
    wrongly, stays = iin(861), iin(862)
    # NEDB said in May that ``wrongly`` had been withdrawn; the withdrawal was entered by mistake and is gone now.
    row = country.enrol(wrongly, school.bin, grade=3, enrolled=date(2026, 9, 1))
    moved_on = country.enrol(stays, school.bin, grade=3, enrolled=date(2026, 9, 1))
    _paid_may(country, school, wrongly, stays)

    with clock.FrozenClock(datetime(2027, 6, 10, 6, 0, tzinfo=UTC)):
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, False, False)], \
            "June's act would top it up"

    with clock.FrozenClock(datetime(2027, 8, 25, 6, 0, tzinfo=UTC)):
        # September's act is open before NEDB moved on: the next act is of the new year, the top-up is carried
        september = country.act(school, [(stays, 4)], period=date(2027, 9, 1), status="awaiting_submission")
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, True, False)]
        db.session.delete(september)
        db.session.flush()

    # 1 September: NEDB moves every pupil on a grade; May's grade 3 is no longer NEDB's
    row.grade = moved_on.grade = 4
    db.session.flush()
    with clock.FrozenClock(datetime(2027, 9, 2, 6, 0, tzinfo=UTC)):
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, True, True)], \
            "still owed to the school, listed with the reason its grade could not be checked"
        with app.test_request_context("/"):
            shown = render_template("contracts/_unsettled.html", unsettled=unsettled_corrections(school),
                                    adjustment_cause=cause_title)
        assert 'id="grade-unchecked-note"' in shown and 'data-grade-unchecked="1"' in shown
        assert 'data-carried="1"' in shown

    with clock.FrozenClock(datetime(2027, 10, 5, 6, 0, tzinfo=UTC)):
        september = country.act(school, [(stays, 4)], period=date(2027, 9, 1), status="paid")
        september.lines[0].outcome, september.lines[0].amount_tiyn, september.lines[0].paid_days = "accepted", 1, 30
        september.amount_tiyn = 1
        db.session.flush()
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, True, True)]
        october = country.act(school, [(stays, 4)], period=date(2027, 10, 1), status="verified")
        october.amount_tiyn = AMOUNT
        db.session.flush()
        assert adjustments.settle_adjustments([october]) == {}, "not paid out of the new year's act"
        assert db.session.scalars(select(ActAdjustment)).all() == []


def test_a_late_june_act_does_not_pay_a_may_top_up_whose_grade_cannot_be_checked(country):
    """June's act verified after 1 September (submitted late) would pay May's top-up within its own year — but
    the grade May claimed can no longer be checked: it is carried, listed, not paid by the act."""
    school = country.school()
    wrongly, stays = iin(871), iin(872)
    country.enrol(wrongly, school.bin, grade=4, enrolled=date(2026, 9, 1))
    country.enrol(stays, school.bin, grade=4, enrolled=date(2026, 9, 1))
    _paid_may(country, school, wrongly, stays)
    with clock.FrozenClock(datetime(2027, 9, 3, 6, 0, tzinfo=UTC)):
        june = country.act(school, [(stays, 3)], period=date(2027, 6, 1), status="verified")
        june.amount_tiyn = AMOUNT
        db.session.flush()
        assert adjustments.settle_adjustments([june]) == {}
        db.session.delete(june)
        db.session.flush()
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, True, True)]


def test_the_months_reconciliation_counts_a_may_top_up_whose_grade_cannot_be_checked(country):
    """June's act is still to come (same academic year as May), but after 1 September it pays no May top-up whose
    grade cannot be checked: the reconciliation of May counts it as unsettled, as the contract's page lists it."""
    from app.instruments import instrument
    from app.reports.unsettled import corrections_by_region

    school = country.school()
    wrongly, stays = iin(891), iin(892)
    country.enrol(wrongly, school.bin, grade=4, enrolled=date(2026, 9, 1))
    country.enrol(stays, school.bin, grade=4, enrolled=date(2026, 9, 1))
    _paid_may(country, school, wrongly, stays)
    country.act(school, [(stays, 3)], period=date(2027, 6, 1), status="awaiting_submission")
    with clock.FrozenClock(datetime(2027, 9, 3, 6, 0, tzinfo=UTC)):
        assert _owed(school) == [(wrongly, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT, True, True)]
        found = corrections_by_region(MAY, [Act.period == MAY], instrument("schools"))
        assert (dict(found.unsettled), dict(found.time_barred)) == ({school.region_id: AMOUNT}, {})


def test_a_line_excluded_for_its_grade_is_not_listed_once_its_grade_cannot_be_checked(country):
    """May's line was excluded as claiming another grade than NEDB's. Once NEDB's grades are of the new year the
    claim cannot be checked — which is no evidence that it was right: nothing is owed, nothing listed."""
    school = country.school()
    claimed_wrong, stays = iin(895), iin(896)
    country.enrol(claimed_wrong, school.bin, grade=4, enrolled=date(2026, 9, 1))
    country.enrol(stays, school.bin, grade=4, enrolled=date(2026, 9, 1))
    act = _paid_may(country, school, claimed_wrong, stays)
    sorted(act.lines, key=lambda ln: ln.line_no)[0].rule_code = "grade_mismatch"
    db.session.flush()
    with clock.FrozenClock(datetime(2027, 9, 3, 6, 0, tzinfo=UTC)):
        assert _owed(school) == []
