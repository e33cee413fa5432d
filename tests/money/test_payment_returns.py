"""A payment the bank sent back (a closed account, wrong details, the bank's own refusal).

It could not be recorded: the act stayed "paid" though the school got nothing, the reconciliation counted the money
as paid, and nothing let the operator pay the act again. Now the operator records the return through one door
(app.payments.returns.record_return), which writes the audit event; the act is accepted again and paid once more —
at most one payment of an act that is not returned, by a partial unique index — to the account on record by then.
On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import random
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import confirm_repayment_account, record_return
from app.people.access import scope_clause
from app.registry.synthetic import _iban
from app.reports.reconciliation import payments_table, reconcile
from tests.audit.helpers import tamper
from tests.helpers import accepted_and_paid, act_of_school, user

#: the day is read more than once in a test (what is sent, what is expected): the clock stands still
pytestmark = pytest.mark.usefixtures("one_day")


def _paid(name: str, order: str) -> tuple[Act, Payment]:
    return accepted_and_paid(name, order)


def _new_account(act: Act) -> str:
    """The organisation corrected its bank account after the bank closed the old one."""
    iban = _iban(random.Random(act.id))
    act.school.iban = iban
    db.session.commit()
    return iban


def _payments(act: Act) -> list[Payment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Payment).where(Payment.act_id == act.id).order_by(Payment.id)))


def test_a_returned_payment_is_recorded_audited_counted_as_not_paid_and_the_act_is_paid_again_once(world):
    act, payment = _paid("Alatau Lyceum", "PP-RET-1")
    today = clock.today()
    record_return(act, payment, today, "account_closed", "BANK/REF-77", "", user("operator"))
    db.session.commit()

    (returned,) = _payments(act)
    assert (returned.returned_on, returned.return_reason, returned.return_reference) == (
        today, "account_closed", "BANK/REF-77")
    assert returned.returned_by_id == user("operator").id
    act = db.session.get(Act, act.id)
    assert act.status == "accepted"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.returned")).one()
    assert (event.chain, event.object_type, event.object_id) == (f"instance:{act.instance_id}", "payment",
                                                                 payment.id)
    assert event.facts["returned_on"] == today.isoformat() and event.facts["return_reason"] == "account_closed"
    assert verify_chains_and_rows().problems == []

    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, total = reconcile(act.period, everything, instrument=act.instrument)
    (region,) = [r for r in rows if r.region_id == act.region_id]
    assert region.paid_tiyn == 0 and region.returned_tiyn == payment.amount_tiyn
    assert region.outstanding_tiyn == region.payable_tiyn
    _header, body = payments_table(act.period, everything, None, act.instrument, str)
    (row,) = [r for r in body if r[6] == "PP-RET-1"]
    assert row[9] == today and row[10] == "The account is closed" and row[11] == "BANK/REF-77"

    # the bank closed the account: paying it again there is refused until the account on record is corrected
    with pytest.raises(DomainRefused, match="the records still name that account"):
        register_payment(act, "PP-RET-2", today, user("operator2"))
    db.session.rollback()
    iban = _new_account(act)
    # the new account is paid once a department official of the act's region confirms it (four eyes)
    confirm_repayment_account(db.session.get(Act, act.id), iban, user("official_almaty"))
    db.session.commit()
    again = register_payment(db.session.get(Act, act.id), "PP-RET-2", today, user("operator2"))
    db.session.commit()
    act = db.session.get(Act, act.id)
    assert act.status == "paid" and act.payee_iban == iban and again.payee_iban == iban
    assert [p.order_number for p in _payments(act)] == ["PP-RET-1", "PP-RET-2"]
    assert verify_chains_and_rows().problems == []
    rows, _total = reconcile(act.period, everything, instrument=act.instrument)
    (region,) = [r for r in rows if r.region_id == act.region_id]
    assert region.paid_tiyn == again.amount_tiyn and region.returned_tiyn == payment.amount_tiyn

    # exactly once: a third payment is refused
    with pytest.raises(DomainConflict, match="has already been paid"):
        register_payment(act, "PP-RET-3", today, user("operator"))


def test_the_database_keeps_at_most_one_payment_of_an_act_that_is_not_returned(world):
    act, payment = _paid("Alatau Lyceum", "PP-ONE-1")
    fields = dict(act_id=act.id, paid_on=payment.paid_on, amount_tiyn=payment.amount_tiyn,
                  registered_by_id=payment.registered_by_id, registered_at=payment.registered_at)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Payment(order_number="PP-ONE-2", **fields))
    tamper(update(Payment).where(Payment.id == payment.id).values(
        returned_on=payment.paid_on, return_reason="bank_refused", return_reference="R1"))
    db.session.add(Payment(order_number="PP-ONE-3", **fields))
    db.session.flush()  # a returned payment and one standing: allowed
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Payment(order_number="PP-ONE-4", **fields))
    db.session.rollback()


@pytest.mark.parametrize("mistake", ["second_return", "another_act", "before_payment", "returned_order",
                                     "reason", "reference", "other_without_note"])
def test_bad_returns_and_repayments_are_refused_with_a_clear_message_and_change_nothing(world, mistake):
    act, payment = _paid("Alatau Lyceum", "PP-BAD-1")
    today = clock.today()
    operator = user("operator")
    if mistake in ("second_return", "returned_order"):
        record_return(act, payment, today, "bank_refused", "REF-1", "", operator)
        db.session.commit()
    before = [(p.id, p.returned_on, p.return_reason, p.return_reference) for p in _payments(act)]
    status = db.session.get(Act, act.id).status
    act = db.session.get(Act, act.id)
    payment = db.session.get(Payment, payment.id)
    expected = {
        "second_return": (DomainConflict, "was already recorded as returned on"),
        "another_act": (DomainRefused, "does not pay act"),
        "before_payment": (DomainRefused, "is before the payment on"),
        "returned_order": (DomainRefused, "was returned by the bank on .*: the act is paid again by a new payment "
                                          "order, with its own number"),
        "reason": (DomainRefused, "Choose why the bank returned the payment from the list"),
        "reference": (DomainRefused, "Enter the bank's reference of the return"),
        "other_without_note": (DomainRefused, "Say in the note why the bank returned the payment"),
    }[mistake]
    with pytest.raises(expected[0], match=expected[1]):
        if mistake == "second_return":
            record_return(act, payment, today, "bank_refused", "REF-2", "", operator)
        elif mistake == "another_act":
            record_return(act_of_school("Bilim Innovation School"), payment, today, "bank_refused", "REF-2", "",
                          operator)
        elif mistake == "before_payment":
            record_return(act, payment, payment.paid_on - timedelta(days=1), "bank_refused", "REF-2", "", operator)
        elif mistake == "returned_order":
            register_payment(act, "pp-bad-1", today, user("operator2"))
        elif mistake == "reason":
            record_return(act, payment, today, "lost", "REF-2", "", operator)
        elif mistake == "reference":
            record_return(act, payment, today, "bank_refused", "  ", "", operator)
        else:
            record_return(act, payment, today, "other", "REF-2", " ", operator)
    db.session.rollback()
    assert [(p.id, p.returned_on, p.return_reason, p.return_reference) for p in _payments(act)] == before
    assert db.session.get(Act, act.id).status == status


def test_a_return_written_into_the_row_without_its_event_does_not_reopen_the_act_and_verify_audit_says_so(world):
    act, payment = _paid("Alatau Lyceum", "PP-FORGED-1")
    tamper(update(Payment).where(Payment.id == payment.id).values(
        returned_on=payment.paid_on, return_reason="bank_refused", return_reference="FAKE"))
    tamper(update(Act).where(Act.id == act.id).values(status="accepted"))
    with pytest.raises(DomainConflict, match="has already been paid"):
        register_payment(db.session.get(Act, act.id), "PP-FORGED-2", clock.today(), user("operator"))
    db.session.rollback()
    problems = [p.reason for p in verify_chains_and_rows().problems]
    assert f"payment {payment.id}: returned_on differs from event instance:{act.instance_id}#" in " ".join(problems)


def test_the_operator_records_a_return_and_pays_again_on_the_act_page_others_may_not(world, browser):
    act, payment = _paid("Alatau Lyceum", "PP-WEB-1")
    url = f"/acts/{act.id}/payments/{payment.id}/return"
    form = {"returned_on": clock.today().isoformat(), "reason": "wrong_details", "reference": "BANK-9",
            "note": "IBAN does not match the BIN"}
    assert browser("accountant").post(url, form).status_code == 404
    operator = browser("operator")
    operator.get(f"/acts/{act.id}")
    assert operator.post(url, form, csrf=False).status_code == 400
    assert _payments(act)[0].returned_on is None

    response = operator.post(url, form)
    assert response.status_code == 303
    assert _payments(act)[0].returned_on == clock.today()
    page = operator.get(f"/acts/{act.id}").get_data(as_text=True)
    assert f'data-returned-payment="{payment.id}"' in page
    assert "Wrong payee details (IBAN, BIN or name)" in page and "BANK-9" in page
    # The records still name the account the bank could not pay: every payment typed into a "pay again" form would be
    # refused (check_repayment), so none is offered; the page says why and what comes first — to the school as well.
    blocked = "and the records still name that account: the organisation's bank account"
    assert 'id="pay-again"' not in page
    assert 'id="repay-blocked"' in page and blocked in html.unescape(page)
    assert blocked in html.unescape(browser("accountant3").get(f"/acts/{act.id}").get_data(as_text=True))
    # and the school, who knows its new account, is asked for it (it heard only "the act is to be paid again")
    told = html.unescape(browser("accountant3").get("/notifications").get_data(as_text=True))
    assert "it could not pay your account. Tell the education department your organisation's current bank" in told

    iban = _new_account(db.session.get(Act, act.id))
    official = browser("official_almaty")
    official.get(f"/acts/{act.id}")
    assert official.post(f"/acts/{act.id}/confirm-account", {"iban": iban}).status_code == 303
    operator2 = browser("operator2")
    operator2.get(f"/acts/{act.id}")
    response = operator2.post(f"/acts/{act.id}/pay-again",
                              {"order_number": "PP-WEB-2", "paid_on": clock.today().isoformat()})
    assert response.status_code == 303
    assert [(p.order_number, p.payee_iban) for p in _payments(act)][-1] == ("PP-WEB-2", iban)
    assert db.session.get(Act, act.id).status == "paid"
