"""The rules of a carried top-up settled outside the acts, function by function (``app.contracts.settlements``): who
may record what, the form's shape at its bounds, the one door's refusals word for word and what it writes, and the
payment order's checks at their edges. Written for the survivors of its mutation run (benchmarks/MUTATION.md, ninth
round); the pages are tested in ``test_outside_settlement.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine, OutsideSettlement
from app.audit.facts import outside_settlement_facts
from app.audit.models import AuditEvent
from app.contracts.operations import _chain, corrections_under
from app.contracts.settlements import OutsideRequest, kinds_for, parse_form, settle_outside
from app.engine.errors import DomainConflict, DomainRefused, FormInvalid
from app.extensions import db
from app.i18n import format_day, format_tenge
from tests.helpers import user
from tests.money.test_outside_settlement import _carried_may
from tests.money.test_reconciliation_unsettled import MAY

OUT_OF_DATE = "The form is out of date: open the contract's page again."
AMOUNT = "Enter the amount in tenge, e.g. 150000000 or 150000000.50."
ORDER = "Enter the payment order's number: Latin letters, digits, / and - (at most 40 characters)."
PAID_ON = "Enter the day the payment order was executed as a date."
REASON = "Give the reason for the write-off (10 to 1000 characters)."
DIRECTION = "Remove the invisible text-direction characters: they make the text read other than it is."
NOT_CARRIED = ("This top-up is no longer carried (the registry has changed, or an act settles it): nothing was "
               "recorded. Open the contract's page again.")


def _person(role: str, region_id: int | None = 7, authenticated: bool = True):
    return SimpleNamespace(is_authenticated=authenticated, role=role, region_id=region_id)


@pytest.mark.parametrize("person, kinds", [
    (_person("operator"), ("paid",)),
    (_person("operator", authenticated=False), ()),
    (_person("department_official"), ("written_off",)),
    (_person("department_head"), ("written_off",)),
    (_person("department_official", authenticated=False), ()),
    (_person("department_official", region_id=8), ()),
    (_person("department_head", region_id=8), ()),
    (_person("auditor"), ()),
    (_person("school_accountant"), ()),
    (_person("admin"), ()),
])
def test_who_may_record_which_settlement(app_ctx, person, kinds):
    assert kinds_for(person, SimpleNamespace(region_id=7)) == kinds


def test_a_department_without_a_region_records_nothing_for_a_contract_without_one(app_ctx):
    assert kinds_for(_person("department_official", region_id=None), SimpleNamespace(region_id=None)) == ()
    assert kinds_for(_person("department_head", region_id=None), SimpleNamespace(region_id=None)) == ()


def test_the_payment_form_is_read_trimmed_and_upper_cased(app_ctx):
    form = {"line_id": "12", "seen": "3", "amount": "1 500.50", "order_number": "  pp-2027/42 ",
            "paid_on": " 2026-11-02 ", "reason": "ignored for a payment"}
    assert parse_form(form, "paid") == OutsideRequest(12, 3, "paid", 150_050, "PP-2027/42", date(2026, 11, 2), None)


def test_the_write_off_form_is_read_trimmed_without_an_order(app_ctx):
    form = {"line_id": "12", "seen": "0", "amount": "0.01", "reason": "  Grade checked with the school.  ",
            "order_number": "PP-1", "paid_on": "2026-11-02"}
    assert parse_form(form, "written_off") == OutsideRequest(12, 0, "written_off", 1, None, None,
                                                             "Grade checked with the school.")


def test_every_problem_of_a_payment_form_is_told_at_once_word_for_word(app_ctx):
    with pytest.raises(FormInvalid) as refused:
        parse_form({}, "paid")
    assert refused.value.errors == {"line_id": OUT_OF_DATE, "amount": AMOUNT, "order_number": ORDER,
                                    "paid_on": PAID_ON}


def test_every_problem_of_a_write_off_form_is_told_at_once_word_for_word(app_ctx):
    with pytest.raises(FormInvalid) as refused:
        parse_form({"line_id": "1", "amount": "0"}, "written_off")
    assert refused.value.errors == {"line_id": OUT_OF_DATE, "amount": AMOUNT, "reason": REASON}


@pytest.mark.parametrize("line_id, seen", [("", "0"), ("1", ""), ("x", "0"), ("1", "-1"), ("1", "1.0")])
def test_a_form_without_its_line_or_what_was_seen_is_out_of_date(app_ctx, line_id, seen):
    form = {"line_id": line_id, "seen": seen, "amount": "10", "reason": "Grade checked with the school."}
    with pytest.raises(FormInvalid) as refused:
        parse_form(form, "written_off")
    assert refused.value.errors == {"line_id": OUT_OF_DATE}


@pytest.mark.parametrize("amount, tiyn", [("0", None), ("0.00", None), ("-5", None), ("0.01", 1), ("1", 100),
                                          ("12,3,4", None), ("", None)])
def test_the_amount_is_more_than_nothing(app_ctx, amount, tiyn):
    form = {"line_id": "1", "seen": "0", "amount": amount, "reason": "Grade checked with the school."}
    if tiyn is None:
        with pytest.raises(FormInvalid) as refused:
            parse_form(form, "written_off")
        assert refused.value.errors == {"amount": AMOUNT}
    else:
        assert parse_form(form, "written_off").amount_tiyn == tiyn


@pytest.mark.parametrize("number, ok", [("A" * 40, True), ("A" * 41, False), ("PP 42", False), ("РР-42", False),
                                        ("=HYPERLINK(1)", False), ("   ", False), ("P", True)])
def test_the_payment_orders_number_is_spelled_as_an_acts(app_ctx, number, ok):
    form = {"line_id": "1", "seen": "0", "amount": "10", "order_number": number, "paid_on": "2026-11-02"}
    if ok:
        assert parse_form(form, "paid").order_number == number
    else:
        with pytest.raises(FormInvalid) as refused:
            parse_form(form, "paid")
        assert refused.value.errors == {"order_number": ORDER}


@pytest.mark.parametrize("reason, error", [
    ("x" * 9, REASON), ("x" * 10, None), ("x" * 1000, None), ("x" * 1001, REASON), ("  " + "x" * 9 + "  ", REASON),
    ("x" * 8 + "\u202e" + "x", DIRECTION), ("retry \u202bafter the registry came back", DIRECTION),
    ("\u202b" * 3, REASON),
])
def test_the_write_offs_reason_at_its_bounds(app_ctx, reason, error):
    form = {"line_id": "1", "seen": "0", "amount": "10", "reason": reason}
    if error is None:
        assert parse_form(form, "written_off").reason == reason.strip()
    else:
        with pytest.raises(FormInvalid) as refused:
            parse_form(form, "written_off")
        assert refused.value.errors == {"reason": error}


def _request(line, amount, *, kind="paid", seen=0, order="PP-RULES-1", paid_on=date(2026, 11, 2), reason=None):
    if kind == "written_off":
        order, paid_on, reason = None, None, reason or "Grade checked with the school: not owed."
    return OutsideRequest(line.id, seen, kind, amount, order, paid_on, reason)


def test_the_one_door_records_a_payment_with_every_field_and_its_event(world):
    contract, line, carried = _carried_may()
    (item,) = [u for u in corrections_under(contract) if u.carried]
    operator = user("operator")
    at = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    with clock.FrozenClock(at):
        row = settle_outside(contract, operator, _request(line, carried, paid_on=date(2026, 12, 4)))
    db.session.commit()
    assert (row.original_act_id, row.original_line_id, row.seq, row.period, row.kind, row.amount_tiyn) == (
        line.act_id, line.id, 0, MAY, "paid", carried)
    assert (row.rule_code, row.corrected_amount_tiyn, row.order_number, row.paid_on, row.reason) == (
        item.correction.rule_code, item.correction.corrected_tiyn, "PP-RULES-1", date(2026, 12, 4), None)
    assert (row.recorded_by_id, row.recorded_at.replace(tzinfo=UTC)) == (operator.id, at)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settled_outside")).one()
    assert (event.chain, event.object_type, event.object_id, event.actor_id) == (
        _chain(contract), "outside_settlement", row.id, operator.id)
    assert event.details == {"contract": contract.number, "act": "ACT-SAMRUK-202605", "line": 1, "period": "2026-05",
                             "kind": "paid", "amount_tiyn": carried, "rule": item.correction.rule_code,
                             "order_number": "PP-RULES-1", "paid_on": "2026-12-04", "reason": None,
                             "evidence": item.correction.evidence}
    assert event.facts == outside_settlement_facts(row)

    # The same form again: refused, naming the first settlement (kind, amount, who).
    with pytest.raises(DomainConflict) as again:
        settle_outside(contract, operator, _request(line, carried, order="PP-RULES-2"))
    assert str(again.value) == (f"This top-up was settled meanwhile (paid outside the acts, {format_tenge(carried)}, "
                                f"by {operator.full_name}); a second settlement is refused.")
    # Seen it settled, and it is no longer carried: still the conflict naming the first, not "no longer carried".
    with pytest.raises(DomainConflict) as later:
        settle_outside(contract, operator, _request(line, carried, seen=1, order="PP-RULES-3"))
    assert str(later.value) == str(again.value)
    assert len(db.session.scalars(select(OutsideSettlement)).all()) == 1


def test_the_department_of_the_region_writes_off_and_the_conflict_names_the_write_off(world):
    contract, line, carried = _carried_may()
    head = user("head_shymkent")
    row = settle_outside(contract, head, _request(line, carried, kind="written_off"))
    db.session.commit()
    assert (row.kind, row.order_number, row.paid_on, row.reason, row.recorded_by_id) == (
        "written_off", None, None, "Grade checked with the school: not owed.", head.id)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settled_outside")).one()
    assert (event.details["kind"], event.details["paid_on"], event.details["order_number"],
            event.details["reason"]) == ("written_off", None, None, "Grade checked with the school: not owed.")
    with pytest.raises(DomainConflict) as again:
        settle_outside(contract, user("official_shymkent"), _request(line, carried, kind="written_off"))
    assert str(again.value) == (f"This top-up was settled meanwhile (written off, {format_tenge(carried)}, "
                                f"by {head.full_name}); a second settlement is refused.")


@pytest.mark.parametrize("who, kind", [("auditor", "paid"), ("operator", "written_off"),
                                       ("official_shymkent", "paid"), ("official", "written_off")])
def test_a_kind_the_person_may_not_record_is_refused_and_nothing_is_written(world, who, kind):
    contract, line, carried = _carried_may()
    with pytest.raises(DomainRefused) as refused:
        settle_outside(contract, user(who), _request(line, carried, kind=kind))
    assert str(refused.value) == "You may not record this settlement."
    assert db.session.scalars(select(OutsideSettlement)).all() == []


def test_a_form_that_saw_a_settlement_that_is_not_there_is_out_of_date(world):
    contract, line, carried = _carried_may()
    with pytest.raises(DomainConflict) as refused:
        settle_outside(contract, user("operator"), _request(line, carried, seen=1))
    assert str(refused.value) == OUT_OF_DATE
    assert db.session.scalars(select(OutsideSettlement)).all() == []


def test_a_line_that_is_not_carried_is_refused_as_such_not_as_a_conflict(world):
    contract, line, carried = _carried_may()
    other = ActLine(act_id=line.act_id, period=MAY, school_id=line.school_id, line_no=2, iin=line.iin[:-1] + "0",
                    full_name="Paid In Full", grade=3, days_attended=31, paid_days=31, outcome="accepted",
                    amount_tiyn=3_850_000)
    db.session.add(other)
    db.session.commit()
    with pytest.raises(DomainRefused) as refused:
        settle_outside(contract, user("operator"), _request(other, carried))
    assert type(refused.value) is DomainRefused and str(refused.value) == NOT_CARRIED


def test_the_amount_must_be_the_carried_amount_whole(world):
    contract, line, carried = _carried_may()
    for amount in (carried - 1, carried + 1):
        with pytest.raises(FormInvalid) as refused:
            settle_outside(contract, user("operator"), _request(line, amount))
        assert refused.value.errors == {"amount": f"The amount must be the carried top-up's, {format_tenge(carried)}: "
                                                  "a top-up is settled whole."}
    assert db.session.scalars(select(OutsideSettlement)).all() == []


ASTANA_11 = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 11:00 in Astana, 4 December


def test_a_payment_date_in_the_future_or_before_the_month_is_refused(world):
    contract, line, carried = _carried_may()
    operator = user("operator")
    with clock.FrozenClock(ASTANA_11):
        with pytest.raises(FormInvalid) as future:
            settle_outside(contract, operator, _request(line, carried, paid_on=date(2026, 12, 5)))
        assert future.value.errors == {"paid_on": f"The payment date {format_day(date(2026, 12, 5))} is in the "
                                                  "future: enter the day the payment order was executed."}
        with pytest.raises(FormInvalid) as early:
            settle_outside(contract, operator, _request(line, carried, paid_on=MAY - timedelta(days=1)))
        assert early.value.errors == {"paid_on": f"The payment date {format_day(date(2026, 4, 30))} is before the "
                                                 f"month it pays for, which began on {format_day(MAY)}."}
    assert db.session.scalars(select(OutsideSettlement)).all() == []


@pytest.mark.parametrize("paid_on", [MAY, date(2026, 12, 4)], ids=["the-months-first-day", "today"])
def test_a_payment_date_of_today_or_the_months_first_day_is_taken(world, paid_on):
    contract, line, carried = _carried_may()
    with clock.FrozenClock(ASTANA_11):
        assert settle_outside(contract, user("operator"), _request(line, carried, paid_on=paid_on)).paid_on == paid_on


def _settlement_of_another_act(act: Act, number: str) -> None:
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id)).first()
    db.session.add(OutsideSettlement(original_act_id=act.id, original_line_id=line.id, seq=0, period=act.period,
                                     kind="paid", amount_tiyn=100, rule_code="enrolled_days",
                                     corrected_amount_tiyn=200, order_number=number, paid_on=date(2026, 11, 1),
                                     recorded_by_id=user("operator").id, recorded_at=datetime(2026, 11, 5, tzinfo=UTC)))
    db.session.commit()


def test_an_order_number_of_another_schools_settlement_is_refused_and_of_the_same_schools_is_not(world):
    contract, line, carried = _carried_may()
    others = db.session.scalars(select(Act).where(Act.school_id != contract.school_id, Act.lines.any())).first()
    _settlement_of_another_act(others, "PP-THEIRS")
    with pytest.raises(FormInvalid) as refused:
        settle_outside(contract, user("operator"), _request(line, carried, order="PP-THEIRS"))
    assert refused.value.errors == {"order_number": "Payment order PP-THEIRS is already registered for another "
                                                    "payment; enter the number of this payment's own order."}
    own = db.session.scalars(select(Act).where(Act.school_id == contract.school_id, Act.id != line.act_id,
                                               Act.lines.any())).first()
    if own is None:  # a second act of the school, with a line, to carry the school's own earlier settlement
        own = Act(number="ACT-SAMRUK-202604", school_id=contract.school_id, region_id=contract.region_id,
                  period=date(2026, 4, 1), status="paid", amount_tiyn=100, created_at=datetime(2026, 5, 2, tzinfo=UTC))
        db.session.add(own)
        db.session.flush()
        db.session.add(ActLine(act_id=own.id, period=own.period, school_id=own.school_id, line_no=1,
                               iin=line.iin[:-1] + "0", full_name="Earlier", grade=3, days_attended=30, paid_days=30,
                               outcome="accepted", amount_tiyn=100))
    _settlement_of_another_act(own, "PP-OURS")
    assert settle_outside(contract, user("operator"), _request(line, carried, order="PP-OURS")).order_number \
        == "PP-OURS"


def test_an_acts_payment_order_is_refused_whatever_its_case_was_stored_in(world):
    from app.payments.models import Payment

    contract, line, carried = _carried_may()
    paid = db.session.scalars(select(Act).where(Act.school_id != contract.school_id)).first()
    db.session.add(Payment(act_id=paid.id, order_number="pp-lower-7", paid_on=date(2026, 11, 1), amount_tiyn=100,
                           registered_by_id=user("operator").id, registered_at=datetime(2026, 11, 1, tzinfo=UTC)))
    db.session.commit()
    with pytest.raises(FormInvalid) as refused:
        settle_outside(contract, user("operator"), _request(line, carried, order="PP-LOWER-7"))
    assert list(refused.value.errors) == ["order_number"]
