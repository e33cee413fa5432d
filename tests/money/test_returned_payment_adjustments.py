"""Adjustments and a payment the bank returned (guards, right when written): a month whose act settled a claw-back
and was paid, its payment then returned (the act accepted again, to be paid anew), stays decided — the claw-back it
carries counts as settled, so the next act does not claw the same line back again, and a registry correction arriving
while it waits is settled once on the next act. The reconciliation counts the returned payment beside paid, never
as paid, and the repayment once. Hand-computed: a primary pupil paid for October in full, withdrawn on the 16th."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, true, update

from app import clock
from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, settle_adjustments
from app.acts.models import Act, ActAdjustment
from app.acts.verification import prorated
from app.extensions import db
from app.payments.models import Payment
from app.people.models import User
from app.reports.reconciliation import reconcile
from tests.money.test_corrections_after_payment_order import AMOUNT, OCTOBER, _adjustments, _paid, _verified
from tests.registry.conftest import Country, iin

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)


def _operator() -> User:
    person = User(username="op-returns", full_name="Operator", role="operator", created_at=clock.now(),
                  email="op-returns@demo.tapsyrys.kz")
    person.set_password("pw")
    db.session.add(person)
    db.session.flush()
    return person


def _pay(act: Act, order: str, operator: User) -> Payment:
    payment = Payment(act_id=act.id, order_number=order, paid_on=date(2026, 12, 10), amount_tiyn=act.amount_tiyn,
                      registered_by_id=operator.id, registered_at=clock.now())
    db.session.add(payment)
    act.status = "paid"
    db.session.flush()
    return payment


def _november(country: Country, region_id: int):
    rows, total = reconcile(NOVEMBER, true())
    (row,) = [r for r in rows if r.region_id == region_id]
    return row


def test_a_claw_back_on_a_month_whose_payment_was_returned_is_settled_once(country):
    school = country.school()
    pupil, stays = iin(921), iin(922)
    row = country.enrol(pupil, school.bin, grade=3, enrolled=date(2026, 9, 1), withdrawn=date(2026, 10, 16))
    country.enrol(stays, school.bin, grade=3, enrolled=date(2026, 9, 1))
    _paid(country, school, OCTOBER, [(pupil, None), (stays, None)])
    back = prorated(AMOUNT, 15, 31) - AMOUNT  # October's 16 days not taught
    operator = _operator()
    with clock.FrozenClock(datetime(2027, 1, 5, 6, 0, tzinfo=UTC)):
        november = _verified(country, school, NOVEMBER, stays)
        settle_adjustments([november])
        assert _adjustments(november) == [(pupil, ENROLLED_DAYS, back)]
        db.session.expire_all()
        assert november.amount_tiyn == AMOUNT + back > 0
        sent = _pay(november, "PP-NOV-1", operator)
        # the bank returns November's payment: the act is accepted again (as app.payments.returns writes it)
        db.session.execute(update(Payment).where(Payment.id == sent.id).values(
            returned_on=date(2026, 12, 12), return_reason="bank_refused", return_reference="RET-NOV"))
        november.status = "accepted"
        db.session.flush()
        figures = _november(country, school.region_id)
        assert (figures.accepted_tiyn, figures.adjusted_tiyn, figures.payable_tiyn) == (AMOUNT, back, AMOUNT + back)
        assert (figures.paid_tiyn, figures.returned_tiyn, figures.outstanding_tiyn) == (0, AMOUNT + back, AMOUNT + back)

        # December settles nothing for October: November's claw-back stands (its act is decided, to be paid again)
        december = _verified(country, school, DECEMBER, stays)
        settle_adjustments([december])
        assert _adjustments(december) == []
        # the registry is corrected while November waits: the pupil stayed all October — paid back once, on December
        row.withdrawn_on = None
        db.session.flush()
        for _ in range(2):
            december.amount_tiyn = AMOUNT
            db.session.flush()
            settle_adjustments([december])
        assert _adjustments(december) == [(pupil, NEDB_CORRECTED, -back)]

        # November is paid again, by a new order: paid once, the returned payment beside it
        db.session.expire_all()
        _pay(db.session.get(Act, november.id), "PP-NOV-2", operator)
        figures = _november(country, school.region_id)
        assert (figures.paid_tiyn, figures.returned_tiyn, figures.outstanding_tiyn) == (AMOUNT + back,
                                                                                        AMOUNT + back, 0)
        settled = sum(a.amount_tiyn for a in db.session.scalars(select(ActAdjustment)))
        assert AMOUNT + settled == AMOUNT, "October's line paid in full in the end, once"


def test_a_returned_orders_number_pays_no_carried_top_up_and_a_top_ups_number_pays_no_act_again(world, browser):
    """The bank returned the act's payment PP-RET-X: that order paid (and lost) the act — the operator recording a
    carried top-up paid outside the acts under the same number is refused, and the act paid again under the top-up's
    order is refused; each with its own order, each is paid once and the reconciliation of May says so."""
    from app.acts.models import OutsideSettlement
    from app.acts.operations import prefill_lines
    from app.engine.errors import DomainRefused
    from app.engine.runtime import complete_task
    from app.payments.operations import register_payment
    from app.payments.returns import record_return
    from tests.helpers import act_of_school, open_task, user
    from tests.money.test_outside_settlement import _carried_may, _form
    from tests.money.test_reconciliation_unsettled import MAY, _everything

    contract, line, carried = _carried_may()
    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    sent = register_payment(act, "PP-RET-X", clock.today(), user("operator"))
    db.session.commit()
    record_return(db.session.get(Act, act.id), sent, clock.today(), "bank_refused", "RET-X", "", user("operator"))
    db.session.commit()
    operator = browser("operator")
    refused = operator.post(f"/contracts/{contract.id}/settle-outside",
                            _form(line, carried, order_number="pp-ret-x", paid_on="2026-11-02"))
    assert refused.status_code == 422 and 'data-error="order_number"' in refused.get_data(as_text=True)
    assert db.session.scalars(select(OutsideSettlement)).all() == []
    assert operator.post(f"/contracts/{contract.id}/settle-outside",
                         _form(line, carried, order_number="PP-TOP-1", paid_on="2026-11-02")).status_code == 303
    with pytest.raises(DomainRefused, match="paid outside the acts"):
        register_payment(db.session.get(Act, act.id), "pp-top-1", clock.today(), user("operator2"))
    db.session.rollback()
    again = register_payment(db.session.get(Act, act.id), "PP-RET-Y", clock.today(), user("operator2"))
    db.session.commit()
    assert [p.order_number for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id)
                                                       .order_by(Payment.id))] == ["PP-RET-X", "PP-RET-Y"]
    assert again.amount_tiyn == sent.amount_tiyn
    _rows, may = reconcile(MAY, _everything())
    assert (may.settled_outside_tiyn, may.unsettled_tiyn) == (carried, 0)
