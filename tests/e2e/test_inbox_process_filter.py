"""In Chromium: the operator filters the inbox by process and finds the act it has to pay — offered only the
processes it can find a task of — and finds the act's instance by the same process in the cockpit, which lists every
process (the operator, like everyone of the cockpit, sees every instance); the process owner, who has no step in any
shipped model, is offered no process in the inbox: the filter had a "Process" drop-down of "All" alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.acts.operations import prefill_lines
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, user

pytestmark = pytest.mark.e2e


def test_the_operator_filters_its_inbox_and_the_cockpit_by_process(new_page):
    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    pay = open_task(act, "pay_act")

    operator = new_page("operator", locale="ru-RU")
    operator.set_viewport_size({"width": 1366, "height": 768})
    offered = {o.get_attribute("value") for o in operator.locator("#process option").all()} - {""}
    assert {"monthly_act", "dorm_monthly_act"} <= offered
    assert not {"state_order", "application", "contract"} & offered
    operator.select_option("#process", "monthly_act")
    operator.click("#apply-filter")
    expect(operator.locator(f'[data-task-id="{pay.id}"]')).to_be_visible()
    operator.select_option("#process", "dorm_monthly_act")
    operator.click("#apply-filter")
    expect(operator.locator(f'[data-task-id="{pay.id}"]')).to_have_count(0)

    operator.goto("/instances")
    every = {o.get_attribute("value") for o in operator.locator("#f-process option").all()} - {""}
    assert {"state_order", "application", "contract", "monthly_act"} <= every
    operator.select_option("#f-process", "monthly_act")
    operator.click("#apply-filters")
    expect(operator.locator(f'[data-instance-id="{act.instance_id}"]')).to_be_visible()
    operator.select_option("#f-process", "state_order")
    operator.click("#apply-filters")
    expect(operator.locator("[data-instance-id]").first).to_be_visible()
    expect(operator.locator(f'[data-instance-id="{act.instance_id}"]')).to_have_count(0)

    owner = new_page("owner", locale="kk-KZ")
    owner.set_viewport_size({"width": 390, "height": 844})
    expect(owner.locator("#filter-form")).to_be_visible()
    expect(owner.locator("#process")).to_have_count(0)  # a choice of "All" alone was offered
