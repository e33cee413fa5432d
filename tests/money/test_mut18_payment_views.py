"""The act page's payment forms (``app.payments.views``): recording a return, paying again, confirming the new
account — who may (exact statuses), what a refusal shows (422, the form kept open with what was typed, nothing
written), what a success says — through the pages, on hand-made acts in the small ``country`` world. Written for the
eighteenth mutation round of the key ``payment_returns`` (benchmarks/MUTATION.md)."""

from __future__ import annotations

import html
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.acts.operations import decide, verify
from app.audit.models import AuditEvent
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import record_return
from app.payments.views import may_handle_payments
from tests.registry.conftest import iin
from tests.registry.test_pages import _user, department_official

#: the day is read more than once in a test (what is sent, what is expected): the clock stands still
pytestmark = pytest.mark.usefixtures("one_day")

PINNED = "KZ86125KZT5004100100"
NEW = "KZ75125KZT2069100100"


@pytest.fixture()
def world(country):
    school = country.school("Alpha")
    for n in (1, 2):
        country.enrol(iin(n), school.bin, grade=5)
    act = country.act(school, [(iin(1), 5), (iin(2), 5)])
    verify(act)
    official = department_official(country)
    decide(act, "accept", None, official)
    operator = _user("oper", "operator", None)
    # the bank's return is recorded by another operator: the one who records it does not pay the act again (four eyes)
    recorder = _user("oper_r", "operator", None)
    _user("acc", "school_accountant", school)
    payment = register_payment(act, "PP-1", clock.today(), operator)
    db.session.commit()
    return SimpleNamespace(country=country, school=school, act=act, official=official, operator=operator,
                           recorder=recorder, payment=payment)


def _state(w):
    db.session.expire_all()
    payments = db.session.execute(select(Payment.order_number, Payment.returned_on, Payment.return_reason)
                                  .where(Payment.act_id == w.act.id).order_by(Payment.id)).all()
    act = db.session.get(Act, w.act.id)
    events = db.session.execute(select(AuditEvent.action).where(AuditEvent.chain == f"act:{w.act.id}")
                                .order_by(AuditEvent.seq)).scalars().all()
    return payments, act.status, act.lock_version, act.payee_iban, events


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _said(page, message, category):
    """The message is flashed in its category: a refusal ("danger") takes the focus (base.html)."""
    focus = ' tabindex="-1" data-takes-focus' if category == "danger" else ""
    return f'<div class="alert alert-{category}" role="alert"{focus}>{message}</div>' in page


def _return_form(**typed):
    return {"returned_on": clock.today().strftime("%d.%m.%Y"), "reason": "bank_refused", "reference": "R-1",
            "note": "", **typed}


def _returned(w):
    record_return(w.act, w.payment, clock.today(), "bank_refused", "R1", "", w.recorder)
    db.session.commit()


# --- record a return -----------------------------------------------------------------------------------------------


def test_the_operator_records_a_return(world, browser):
    operator = browser("oper")
    response = operator.post(f"/acts/{world.act.id}/payments/{world.payment.id}/return",
                             _return_form(note="letter 5"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/acts/{world.act.id}#payments")
    payments, status, *_rest = _state(world)
    assert payments == [("PP-1", clock.today(), "bank_refused")] and status == "accepted"
    page = _text(operator.get(f"/acts/{world.act.id}"))
    assert _said(page, f"Recorded: payment order PP-1 was returned by the bank. Act {world.act.number} is to be paid "
                       "again.", "success")


@pytest.mark.parametrize(("who", "status"), [("off", 403), ("acc", 403)])
def test_only_the_operator_records_a_return(world, browser, who, status):
    before = _state(world)
    response = browser(who).post(f"/acts/{world.act.id}/payments/{world.payment.id}/return", _return_form())
    assert response.status_code == status
    assert _state(world) == before


def test_a_return_of_an_unknown_payment_or_act_is_not_found(world, browser):
    operator = browser("oper")
    before = _state(world)
    assert operator.post(f"/acts/{world.act.id}/payments/{world.payment.id + 99}/return",
                         _return_form()).status_code == 404
    assert operator.post(f"/acts/{world.act.id + 99}/payments/{world.payment.id}/return",
                         _return_form()).status_code == 404
    assert _state(world) == before


@pytest.mark.parametrize("day", ["", "  ", "31.02.2026", "tomorrow"])
def test_a_return_without_a_date_is_refused_with_the_form_kept(world, browser, day):
    before = _state(world)
    response = browser("oper").post(f"/acts/{world.act.id}/payments/{world.payment.id}/return",
                                    _return_form(returned_on=day, reference="KEEP-ME"))
    assert response.status_code == 422
    page = _text(response)
    assert _said(page, "Enter the day the bank returned the money as a date.", "danger")
    assert '<details class="mb-3" id="record-return" open>' in page and 'value="KEEP-ME"' in page
    assert _state(world) == before


def test_a_return_the_door_refuses_is_said_with_the_form_kept(world, browser):
    before = _state(world)
    response = browser("oper").post(f"/acts/{world.act.id}/payments/{world.payment.id}/return",
                                    _return_form(reason="other", note="", reference="KEEP-ME"))
    assert response.status_code == 422
    page = _text(response)
    assert _said(page, "Say in the note why the bank returned the payment.", "danger")
    assert '<details class="mb-3" id="record-return" open>' in page and 'value="KEEP-ME"' in page
    assert _state(world) == before


def test_the_form_fields_reach_the_door(world, browser):
    browser("oper").post(f"/acts/{world.act.id}/payments/{world.payment.id}/return",
                         _return_form(returned_on=f" {clock.today():%d.%m.%Y} ", reason="account_closed",
                                      reference="BANK/7", note="closed"))
    row = db.session.execute(select(Payment.returned_on, Payment.return_reason, Payment.return_reference,
                                    Payment.return_note, Payment.returned_by_id)
                             .where(Payment.id == world.payment.id)).one()
    assert tuple(row) == (clock.today(), "account_closed", "BANK/7", "closed", world.operator.id)


# --- pay again -----------------------------------------------------------------------------------------------------


def test_the_operator_pays_a_returned_act_again(world, browser):
    _returned(world)
    operator = browser("oper")
    response = operator.post(f"/acts/{world.act.id}/pay-again",
                             {"order_number": "  pp-2 ", "paid_on": clock.today().strftime("%d.%m.%Y")})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/acts/{world.act.id}#payments")
    payments, status, *_rest = _state(world)
    assert payments == [("PP-1", clock.today(), "bank_refused"), ("PP-2", None, None)] and status == "paid"
    paid = db.session.scalars(select(Payment).where(Payment.order_number == "PP-2")).one()
    assert (paid.registered_by_id, paid.amount_tiyn, paid.payee_iban) == (world.operator.id, world.payment.amount_tiyn,
                                                                           PINNED)
    page = _text(operator.get(f"/acts/{world.act.id}"))
    assert _said(page, f"Recorded: act {world.act.number} was paid again by payment order PP-2.", "success")


def test_pay_again_is_the_operators(world, browser):
    _returned(world)
    before = _state(world)
    for who in ("off", "acc"):
        assert browser(who).post(f"/acts/{world.act.id}/pay-again",
                                 {"order_number": "PP-2", "paid_on": clock.today().isoformat()}).status_code == 403
    assert browser("oper").post(f"/acts/{world.act.id + 99}/pay-again",
                                {"order_number": "PP-2", "paid_on": clock.today().isoformat()}).status_code == 404
    assert _state(world) == before


def test_an_act_never_returned_is_paid_through_its_process(world, browser):
    db.session.delete(db.session.get(Payment, world.payment.id))
    act = db.session.get(Act, world.act.id)
    act.status = "accepted"
    db.session.commit()
    before = _state(world)
    operator = browser("oper")
    response = operator.post(f"/acts/{world.act.id}/pay-again",
                             {"order_number": "PP-2", "paid_on": clock.today().isoformat()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/acts/{world.act.id}#payments")
    assert _state(world) == before
    page = _text(operator.get(f"/acts/{world.act.id}"))
    assert _said(page, f'Act {world.act.number} is paid through its process\'s "Pay act" step.', "danger")


@pytest.mark.parametrize(("order", "day"), [("", "today"), ("PP 2", "today"), ("ПП-2", "today"), ("PP-2", ""),
                                            ("PP-2", "31.02.2026")])
def test_pay_again_without_an_order_or_a_date_is_refused_with_the_form_kept(world, browser, order, day):
    _returned(world)
    before = _state(world)
    paid_on = clock.today().strftime("%d.%m.%Y") if day == "today" else day
    response = browser("oper").post(f"/acts/{world.act.id}/pay-again", {"order_number": order, "paid_on": paid_on})
    assert response.status_code == 422
    page = _text(response)
    assert _said(page, "Enter the new payment order's number (Latin letters, digits, / and -) and the day it was "
                       "executed.", "danger")
    assert f'value="{paid_on}"' in page
    assert _state(world) == before


def test_pay_again_refused_by_the_door_is_said_with_the_form_kept(world, browser):
    _returned(world)
    before = _state(world)
    response = browser("oper").post(f"/acts/{world.act.id}/pay-again",
                                    {"order_number": "PP-1", "paid_on": clock.today().strftime("%d.%m.%Y")})
    assert response.status_code == 422
    page = _text(response)
    from app.i18n import format_day

    assert _said(page, f"Payment order PP-1 was returned by the bank on {format_day(clock.today())}: the act is paid "
                       "again by a new payment order, with its own number.", "danger")
    assert 'value="PP-1"' in page and 'id="pay-again"' in page
    assert _state(world) == before


# --- confirm the new account -----------------------------------------------------------------------------------------


def _waiting(w):
    record_return(w.act, w.payment, clock.today(), "account_closed", "R1", "", w.operator)
    w.school.iban = NEW
    db.session.commit()


def test_the_official_confirms_the_new_account(world, browser):
    _waiting(world)
    official = browser("off")
    response = official.post(f"/acts/{world.act.id}/confirm-account", {"iban": NEW})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/acts/{world.act.id}#payments")
    assert _state(world)[3] == NEW
    page = _text(official.get(f"/acts/{world.act.id}"))
    assert _said(page, f"Confirmed: act {world.act.number} is paid again to account {NEW}.", "success")


def test_only_the_official_confirms(world, browser):
    _waiting(world)
    before = _state(world)
    for who in ("oper", "acc"):
        assert browser(who).post(f"/acts/{world.act.id}/confirm-account", {"iban": NEW}).status_code == 403
    assert browser("off").post(f"/acts/{world.act.id + 99}/confirm-account", {"iban": NEW}).status_code == 404
    assert _state(world) == before


def test_a_confirmation_refused_is_said_on_the_act(world, browser):
    _waiting(world)
    before = _state(world)
    official = browser("off")
    response = official.post(f"/acts/{world.act.id}/confirm-account", {"iban": PINNED})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/acts/{world.act.id}#payments")
    assert _state(world) == before
    page = _text(official.get(f"/acts/{world.act.id}"))
    assert _said(page, f"The account on record for act {world.act.number} changed since you opened the page: it is "
                       f"now {NEW}. Nothing was confirmed; open the act again.", "danger")
    assert "Confirmed:" not in page


def test_who_handles_payments():
    assert may_handle_payments(SimpleNamespace(role="operator"))
    assert not may_handle_payments(SimpleNamespace(role="department_official"))
    assert not may_handle_payments(SimpleNamespace())
    assert not may_handle_payments(None)


def test_pay_again_writes_beside_the_acts_ended_process(world, browser, monkeypatch):
    # the act's process ended with its first payment: the page is not its step, and says so to the one door
    import app.payments.operations as payops

    real, seen = payops.register_payment, []

    def spy(act, order_number, paid_on, actor, **kw):
        seen.append((act.id, order_number, paid_on, actor.id, kw))
        return real(act, order_number, paid_on, actor, **kw)

    monkeypatch.setattr(payops, "register_payment", spy)
    _returned(world)
    browser("oper").post(f"/acts/{world.act.id}/pay-again",
                         {"order_number": "pp-2", "paid_on": clock.today().strftime("%d.%m.%Y")})
    assert seen == [(world.act.id, "PP-2", clock.today(), world.operator.id, {"alongside": True})]
