"""A first job in Chromium, by the keyboard, in Russian: the operator pays an accepted act. A second Enter while the
answer is on its way (a slow line) asked "Register the payment?" again and sent the form again — the first payment
was already registered, and the second answer said the task was done by then; a "Cancel" to the second question
cancelled nothing. A form that is on its way is sent once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, open_task, submitted_and_accepted

pytestmark = pytest.mark.e2e


def test_a_second_enter_while_paying_neither_asks_again_nor_sends_again(new_page):
    act_id = submitted_and_accepted(act_of_school("Bilim Innovation School"))
    task = open_task(act_of_school("Bilim Innovation School"), "pay_act")
    operator = new_page("operator", locale="ru-RU")
    operator.own_dialogs = True
    questions: list[str] = []
    operator.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    held = []  # the payment's POST, held as on a slow line until the second Enter has been pressed
    operator.route(f"**/tasks/{task.id}", lambda route: held.append(route) if route.request.method == "POST"
                   else route.continue_())
    operator.goto(f"/tasks/{task.id}")
    operator.locator("button[name=locale][value=ru]").click()
    operator.locator("#f-order_number").focus()
    operator.keyboard.type("PP-2026-0042")
    operator.keyboard.press("Tab")
    operator.keyboard.type(clock.today().strftime("%d.%m.%Y"))
    operator.locator("#task-form button[type=submit]").focus()
    operator.keyboard.press("Enter")
    for _ in range(50):  # the POST has left the page
        if held:
            break
        operator.wait_for_timeout(100)
    assert len(held) == 1 and len(questions) == 1
    operator.keyboard.press("Enter")  # impatient: the page has not changed yet
    operator.wait_for_timeout(500)
    assert len(held) == 1, "the form is sent once"
    assert len(questions) == 1, "the question is asked once"
    held[0].continue_()
    expect(operator.locator(".alert-success")).to_contain_text("Оплатить акт")
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.act_id == act_id)) == 1
