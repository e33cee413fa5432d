"""In Chromium: accepting an act asks first, naming the amount, school and month (no: nothing is decided);
returning it does not ask. Excluding a review line without a reason keeps the official's chosen decision and marks
the line's comment box."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.verification import verify_act
from app.extensions import db
from app.i18n import format_tenge
from app.registry.models import NedbEnrollment
from tests.helpers import act_of_school, open_task, submitted_and_accepted

pytestmark = pytest.mark.e2e


def test_accepting_asks_naming_the_amount_and_a_no_decides_nothing(new_page):
    act = act_of_school("Alatau Lyceum")
    official = new_page("official_almaty")
    official.own_dialogs = True
    official.goto(f"/tasks/{open_task(act, 'accept_act').id}")
    questions = []
    official.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator("#task-form")).to_be_visible()
    assert len(questions) == 1
    assert act.number in questions[0] and format_tenge(act.amount_tiyn) in questions[0]
    assert "Alatau Lyceum" in questions[0] and f"{act.period:%B %Y}" in questions[0]
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"

    # Returning is not asked about (the school corrects the act and submits it again).
    official.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    official.get_by_label("Return for correction").check()
    official.locator("#f-comment").fill("Check the withdrawn pupils")
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_be_visible()
    assert len(questions) == 1
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "returned"


def test_excluding_without_a_reason_keeps_the_chosen_decision_and_marks_the_box(new_page):
    act = act_of_school("Alatau Lyceum")
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")
                              .order_by(ActLine.line_no)).first()
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).first().full_name = "Басқа Бала"
    verify_act(act)
    db.session.commit()
    official = new_page("official_almaty")
    official.goto(f"/tasks/{open_task(act, 'accept_act').id}")
    official.get_by_label("Accept the act").check()
    row = official.locator(f"#review-line-{line.id}")
    row.get_by_role("button", name="Exclude").click()
    box = official.locator(f"#review-comment-{line.id}")
    expect(box).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(official.locator(f"#review-comment-{line.id}-err")).to_have_text("Say why the line is excluded.")
    expect(official.get_by_label("Accept the act")).to_be_checked()


def test_a_student_listed_twice_is_said_before_any_question(new_page):
    act = act_of_school("Bilim Innovation School")
    page = new_page("accountant")
    page.own_dialogs = True
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    page.locator("#f-lines-1-iin").fill(page.locator("#f-lines-0-iin").input_value())
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".js-duplicate")).to_contain_text("The same IIN as line 1")
    assert questions == []
    page.locator("#f-lines-1-iin").fill(page.locator("#f-lines-0-iin").input_value()[:-1])  # no longer the same
    page.locator("tr", has=page.locator("#f-lines-1-iin")).get_by_role("button", name="Remove").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#task-form")).to_be_visible()
    assert len(questions) == 1 and "Bilim Innovation School" in questions[0]


def test_days_past_the_months_end_are_refused_without_a_question_first(new_page):
    """The form knows the month's length (its days field's max): asking "Submit the act?" and then refusing the
    answer at the field was a question about something that could not happen."""
    act = act_of_school("Bilim Innovation School")
    before = (act.status, act.revision, act.total_lines)
    page = new_page("accountant")
    page.own_dialogs = True
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.route("**/static/app.js*", lambda route: route.abort())  # the question is asked before app.js arrives
    page.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    page.locator("#f-lines-0-days_attended").fill("40")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#f-lines-0-days_attended")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert questions == []
    db.session.expire_all()
    after = db.session.get(Act, act.id)
    assert (after.status, after.revision, after.total_lines) == before

    page.locator("#f-lines-0-days_attended").fill("20")  # a good form asks again
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#task-form")).to_be_visible()
    assert len(questions) == 1 and "Bilim Innovation School" in questions[0]


def test_paying_with_a_required_field_left_empty_is_refused_without_a_question_first(new_page):
    """New-user probe: the operator pressed Submit on *Pay act* with no order number and was asked "Register the
    payment of 1 488 600,00 ₸? It cannot be undone." — and, answering yes, told the form had errors. The question
    was about a payment that could not happen; a screen reader did not hear the field was required either."""
    act_id = submitted_and_accepted(act_of_school("Bilim Innovation School"))
    page = new_page("operator")
    page.own_dialogs = True
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(f"/tasks/{open_task(db.session.get(Act, act_id), 'pay_act').id}")
    expect(page.locator("#f-order_number")).to_have_attribute("required", "")
    page.locator("#f-paid_on").fill(clock.today().isoformat())
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#f-order_number")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert questions == []
    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "accepted"

    page.locator("#f-order_number").fill("PP-2026-0042")  # a whole form asks
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#task-form")).to_be_visible()
    assert len(questions) == 1 and "Bilim Innovation School" in questions[0]
    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "accepted", "a no pays nothing"


def test_a_wrong_check_digit_or_pattern_is_said_before_any_question(new_page):
    """New-user probe: a mistyped IIN's check digit asked "Submit the act …?" and, answered yes, the form came back
    with "Not a valid IIN". The page knows the check digit (and a field's pattern, such as the payment order's): it
    sends such a form to the server, which names the field, without the question first."""
    act = act_of_school("Bilim Innovation School")
    page = new_page("accountant")
    page.own_dialogs = True
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    good = page.locator("#f-lines-0-iin").input_value()
    page.locator("#f-lines-0-iin").fill(good[:-1] + str((int(good[-1]) + 1) % 10))
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#f-lines-0-iin-err")).to_contain_text("Not a valid IIN")
    assert questions == []
    expect(page.locator("#f-lines-0-iin")).to_have_value(good[:-1] + str((int(good[-1]) + 1) % 10))

    act_id = submitted_and_accepted(act_of_school("Nur Private School"), accountant="accountant2")
    operator = new_page("operator")
    operator.own_dialogs = True
    operator.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    operator.goto(f"/tasks/{open_task(db.session.get(Act, act_id), 'pay_act').id}")
    operator.locator("#f-order_number").fill("PP 42")
    operator.locator("#f-paid_on").fill(clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator("#f-order_number")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert questions == []

