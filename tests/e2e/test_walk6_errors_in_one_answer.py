"""A school accountant on a phone (390 px, Kazakh) sends November's act with a wrong IIN check digit on the first
line and 45 days on the second.

The page listed the IIN alone; corrected and sent again, it listed the 45 days — a submission per kind of mistake.
Now the one answer lists both, each a link to its field, and nothing is saved."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from app.acts.models import ActLine
from app.extensions import db
from tests.helpers import act_of_school, open_task

pytestmark = pytest.mark.e2e


def test_a_wrong_iin_and_days_beyond_november_are_listed_in_one_answer(new_page):
    act = act_of_school("Bilim Innovation School")
    act.period = date(2026, 11, 1)
    db.session.commit()
    task = open_task(act, "submit_act")

    accountant = new_page("accountant", locale="kk-KZ")
    accountant.set_viewport_size({"width": 390, "height": 844})
    accountant.goto(f"/tasks/{task.id}")
    good_iin = accountant.locator("#f-lines-0-iin").input_value()
    accountant.fill("#f-lines-0-iin", good_iin[:-1] + str((int(good_iin[-1]) + 1) % 10))
    accountant.fill("#f-lines-1-days_attended", "45")
    accountant.locator("#task-form button[type=submit]").click()

    links = accountant.locator("#form-errors #form-error-list a")
    expect(links).to_have_count(2)
    expect(accountant.locator("#f-lines-0-iin-err")).not_to_be_empty()
    expect(accountant.locator("#f-lines-1-days_attended-err")).to_contain_text("30")  # November's days
    links.nth(1).click()
    expect(accountant.locator("#f-lines-1-days_attended")).to_be_focused()

    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0
