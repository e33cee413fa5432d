"""Adjustments and a payment the bank returned (guards, right when written): a month whose act settled a claw-back
and was paid, its payment then returned (the act accepted again, to be paid anew), stays decided — the claw-back it
carries counts as settled, so the next act does not claw the same line back again, and a registry correction arriving
while it waits is settled once on the next act. The reconciliation counts the returned payment beside paid, never
as paid, and the repayment once. Hand-computed: a primary pupil paid for October in full, withdrawn on the 16th."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
