"""In Chromium, three people meet a payment the bank returned: the operator records the return on the act's page, the
department official of the region confirms the new account (in Kazakh), the operator pays the act again, and the
school's accountant reads it all (in Russian). The operator's two irreversible forms and the official's confirmation
ask first, naming the order, the amount or the account (they were sent on one click); a refusal shows the page again
with the form open and what was typed still in it (a redirect had closed the form and emptied it); and the "pay
again" form is not offered while the new account waits for the department's confirmation (it was, and every payment
typed into it was refused)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.engine.runtime import complete_task
from app.extensions import db
from app.i18n import format_tenge
from app.payments.models import Payment
from app.registry.synthetic import _iban
from tests.helpers import act_of_school, open_task, user

pytestmark = pytest.mark.e2e


def _answering(page, answers: list):
    """The page's questions are kept; each is answered by the next of ``answers`` (True: OK)."""
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    return asked


def _payments(act: Act) -> list[Payment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Payment).where(Payment.act_id == act.id).order_by(Payment.id)))


def test_a_returned_payment_is_recorded_confirmed_and_paid_again_across_three_roles(new_page):
    act = act_of_school("Alatau Lyceum")
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    today = clock.today()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-E2E-1", "paid_on": today.isoformat()})
    db.session.commit()
    amount, old_iban = format_tenge(act.amount_tiyn), act.payee_iban

    operator = new_page("operator")
    asked = _answering(operator, [False, True, True, True, True])
    operator.goto(f"/acts/{act.id}")
    operator.get_by_text("The bank returned this payment").click()
    operator.get_by_label("Returned on").fill((today - timedelta(days=3)).isoformat())
    operator.get_by_label("Return reason").select_option("account_closed")
    operator.get_by_label("Bank's return reference").fill("BANK/RET-9")
    expect(operator.get_by_label("Bank's return reference")).to_have_accessible_description(
        'As the bank\'s return notice gives it: Latin letters, digits, "/", "." and "-".')
    operator.get_by_label("Note").fill("Account closed on the 1st")
    operator.get_by_role("button", name="Record the return").click()  # "no": nothing is sent
    assert len(asked) == 1 and "PP-E2E-1" in asked[0] and amount in asked[0]
    assert _payments(act)[0].returned_on is None
    operator.get_by_role("button", name="Record the return").click()  # yes, but the day is before the payment
    refusal = operator.locator(".alert-danger")
    expect(refusal).to_contain_text("is before the payment on")
    expect(refusal).to_be_focused()
    expect(operator.locator("#record-return")).to_have_attribute("open", "")
    expect(operator.get_by_label("Bank's return reference")).to_have_value("BANK/RET-9")
    expect(operator.get_by_label("Note")).to_have_value("Account closed on the 1st")
    expect(operator.get_by_label("Return reason")).to_have_value("account_closed")
    assert _payments(act)[0].returned_on is None
    operator.get_by_label("Returned on").fill(today.isoformat())
    operator.get_by_role("button", name="Record the return").click()
    expect(operator.locator(".alert-success[role=alert]")).to_contain_text("was returned by the bank")
    assert len(asked) == 3 and _payments(act)[0].return_reference == "BANK/RET-9"

    # The organisation's new account (an administrator's edit): the department confirms it before any repayment.
    new_iban = _iban(random.Random(act.id))
    db.session.get(Act, act.id).school.iban = new_iban
    db.session.commit()
    operator.goto(f"/acts/{act.id}")
    expect(operator.locator("#account-to-confirm")).to_contain_text(new_iban)
    expect(operator.locator("#pay-again")).to_have_count(0)

    official = new_page("official_almaty", locale="kk-KZ")
    said = _answering(official, [True])
    official.goto("/notifications")
    note = official.locator('[data-kind="account_to_confirm"]')
    expect(note).to_contain_text("PP-E2E-1")
    expect(note).not_to_contain_text("confirm that account")  # said in Kazakh
    note.get_by_role("button").click()
    expect(official.locator("#confirm-accounts")).to_contain_text(new_iban)
    official.locator("#confirm-account-submit").click()
    expect(official.locator(".alert-success[role=alert]")).to_contain_text(new_iban)
    assert len(said) == 1 and new_iban in said[0] and act.number in said[0]

    # four eyes: the operator who recorded the return is told why the form is not theirs; another operator pays
    operator.goto(f"/acts/{act.id}")
    expect(operator.locator("#repay-own-return")).to_contain_text("another operator registers the new payment order")
    expect(operator.locator("#pay-again")).to_have_count(0)
    operator2 = new_page("operator2")
    asked2 = _answering(operator2, [True, True])
    operator2.goto("/notifications")  # told: no task waits in the operator's inbox
    expect(operator2.locator('[data-kind="repayment_to_register"]')).to_contain_text("PP-E2E-1")
    operator2.locator('[data-kind="account_confirmed"]').get_by_role("button").click()
    expect(operator2.locator("#repay-four-eyes")).to_contain_text("Әсем Төлеуова")
    operator2.get_by_label("Payment order number").fill("PP E2E 2")  # a space: refused, the day stays typed
    operator2.get_by_label("Payment date").fill(today.isoformat())
    operator2.get_by_role("button", name="Record the payment").click()
    expect(operator2.locator(".alert-danger")).to_be_focused()
    expect(operator2.get_by_label("Payment date")).to_have_value(today.isoformat())
    operator2.get_by_label("Payment order number").fill("PP-E2E-2")
    operator2.get_by_role("button", name="Record the payment").click()
    expect(operator2.locator(".alert-success[role=alert]")).to_contain_text("PP-E2E-2")
    assert len(asked) == 3 and len(asked2) == 2 and act.number in asked2[1] and amount in asked2[1]
    assert [(p.order_number, p.payee_iban, p.returned_on is not None) for p in _payments(act)] == [
        ("PP-E2E-1", old_iban, True), ("PP-E2E-2", new_iban, False)]

    accountant = new_page("accountant3", locale="ru-RU")
    accountant.goto("/notifications")
    expect(accountant.locator('[data-kind="payment_returned"]')).to_contain_text("PP-E2E-1")
    accountant.goto(f"/acts/{act.id}")
    expect(accountant.locator("[data-returned-payment]")).to_contain_text("Возвращён банком")
    expect(accountant.locator("#payment-info")).to_contain_text("PP-E2E-2")
    expect(accountant.locator("#record-return, #pay-again, #confirm-account")).to_have_count(0)
