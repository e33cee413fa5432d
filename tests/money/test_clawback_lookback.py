"""How far back a claw-back reaches is a stated rule, not the accident of a query's window: an act settles the
claw-backs of its own academic year and of ``CLAWBACK_LOOKBACK_YEARS`` academic years before (default 1: a
correction of August found in September); an older month is not claimed back — and the contract's page says so."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template
from sqlalchemy import select

from app import clock
from app.acts import adjustments
from app.acts.adjustments import cause_title
from app.acts.models import ActAdjustment
from app.extensions import db
from tests.registry.conftest import NORMS, iin

AMOUNT = NORMS["primary"]


def _world(country):
    school = country.school()
    ghost, stays = iin(881), iin(882)
    # September 2026 was paid for ``ghost``; NEDB now says the pupil had left on 1 September 2026.
    country.enrol(ghost, school.bin, grade=3, enrolled=date(2025, 9, 1), withdrawn=date(2026, 9, 1))
    country.enrol(stays, school.bin, grade=3, enrolled=date(2025, 9, 1))
    september = country.act(school, [(ghost, 3), (stays, 3)], period=date(2026, 9, 1), status="paid")
    for line in september.lines:
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", AMOUNT, 30
    september.amount_tiyn = 2 * AMOUNT
    db.session.flush()
    october = country.act(school, [(stays, 3)], period=date(2028, 10, 1), status="verified")
    october.amount_tiyn = AMOUNT
    db.session.flush()
    return ghost, october


def test_a_claw_back_two_years_back_is_settled_only_when_the_setting_reaches_it(app, country, monkeypatch):
    ghost, october = _world(country)
    with clock.FrozenClock(datetime(2028, 11, 2, 6, 0, tzinfo=UTC)):
        assert adjustments.settle_adjustments([october]) == {}, "default: one academic year back"
        monkeypatch.setitem(app.config, "CLAWBACK_LOOKBACK_YEARS", 2)
        adjustments.settle_adjustments([october])
        assert [(a.iin, a.rule_code, a.amount_tiyn) for a in db.session.scalars(select(ActAdjustment))] == [
            (ghost, "withdrawn", -AMOUNT)]


def test_the_contract_page_states_how_far_back_claw_backs_reach(app, country, monkeypatch):
    monkeypatch.setitem(app.config, "CLAWBACK_LOOKBACK_YEARS", 3)
    with app.test_request_context("/"):
        shown = render_template("contracts/_unsettled.html", unsettled=[], adjustment_cause=cause_title)
    assert 'id="clawback-lookback-note"' in shown and "3" in shown


def _paid_month(country, school, period: date, student: str):
    act = country.act(school, [(student, 3)], period=period, status="paid")
    for line in act.lines:
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", AMOUNT, 30
    act.amount_tiyn = AMOUNT
    db.session.flush()
    return act


def test_a_claw_back_beyond_the_look_back_is_listed_as_time_barred_and_counted_not_claimed(app, country):
    """An act of October 2028 claws back from September 2027 (the look-back's first month); August 2027, one month
    beyond, is not claimed back — and is not lost from view: time-barred on the contract's page and in August's
    reconciliation, with its month, student, amount and rule."""
    from app.acts.models import Act
    from app.instruments import SCHOOLS
    from app.reports.reconciliation import reconcile, table

    school = country.school()
    edge, beyond, stays = iin(883), iin(884), iin(885)
    # Both were paid for their month; NEDB now says each had left on 1 August 2027.
    for student in (edge, beyond):
        country.enrol(student, school.bin, grade=3, enrolled=date(2025, 9, 1), withdrawn=date(2027, 8, 1))
    country.enrol(stays, school.bin, grade=3, enrolled=date(2025, 9, 1))
    _paid_month(country, school, date(2027, 8, 1), beyond)
    _paid_month(country, school, date(2027, 9, 1), edge)
    october = country.act(school, [(stays, 3)], period=date(2028, 10, 1), status="verified")
    october.amount_tiyn = AMOUNT
    db.session.flush()
    with clock.FrozenClock(datetime(2028, 11, 2, 6, 0, tzinfo=UTC)):
        listed = adjustments.unsettled_corrections(school)
        assert sorted((u.line.iin, u.original.period, u.correction.rule_code, u.amount_tiyn, u.time_barred)
                      for u in listed) == [(edge, date(2027, 9, 1), "withdrawn", -AMOUNT, False),
                                           (beyond, date(2027, 8, 1), "withdrawn", -AMOUNT, True)]
        assert [u.line.iin for u in adjustments.owed(listed)] == [edge], "time-barred is not owed"
        adjustments.settle_adjustments([october])
        assert [(a.iin, a.amount_tiyn) for a in db.session.scalars(select(ActAdjustment))] == [(edge, -AMOUNT)]

        with app.test_request_context("/"):
            shown = render_template("contracts/_unsettled.html", unsettled=[], adjustment_cause=cause_title,
                                    time_barred=[u for u in listed if u.time_barred])
        assert 'id="time-barred-table"' in shown and "2027" in shown and 'id="time-barred-note"' in shown

        everything = Act.id.is_not(None)  # the operator's scope: every region
        _rows, august = reconcile(date(2027, 8, 1), everything, instrument=SCHOOLS)
        _rows, september = reconcile(date(2027, 9, 1), everything, instrument=SCHOOLS)
        assert (august.time_barred_tiyn, september.time_barred_tiyn) == (-AMOUNT, 0)
        assert august.as_dict()["time_barred_tiyn"] == -AMOUNT
        header, body = table(*reconcile(date(2027, 8, 1), everything), str)
        column = header.index("Claw-backs time-barred, ₸")
        assert body[-1][column] * 100 == -AMOUNT
