"""In a real browser, the second funding instrument: a dormitory's accountant submits the act of occupied places,
the department's official accepts it, the operator pays it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.engine.models import HumanTask
from app.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture()
def world(app_ctx):
    """The demo world with the dormitories' demo, as `make run` seeds it."""
    from app.demo.seed import seed_demo
    from tests.conftest import _demo_now

    with clock.FrozenClock(_demo_now()):
        return seed_demo(password="pw", dormitories=True)


def _task_url(act_id: int, spec: str) -> str:
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == spec, HumanTask.status == "open")).one()
    return f"/tasks/{task.id}"


def test_dormitory_accountant_submits_official_accepts_operator_pays(world, new_page):
    act_id = world["dormitories"]["acts"]["dorm_a"].id
    # Prefilled with September's residents who have not moved out (October's newcomer is not on the form yet).
    residents = len(world["dormitories"]["worlds"]["dorm_a"].lines_for(world["period"].replace(month=9)))

    accountant = new_page("dorm_accountant")
    expect(accountant.locator(f"a[href='{_task_url(act_id, 'submit_act')}']").first).to_be_visible()  # in the inbox
    accountant.goto(_task_url(act_id, "submit_act"))
    expect(accountant.locator("#f-lines-0-iin")).not_to_have_value("")  # last month's residents
    expect(accountant.locator("#f-lines-0-moved_in")).not_to_have_value("")
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_be_visible()

    official = new_page("official")
    official.goto(_task_url(act_id, "accept_act"))
    expect(official.locator("#verification-report")).to_be_visible()
    expect(official.locator("#act-summary")).to_contain_text("Jastar Student Residence")
    expect(official.locator("#accepted-lines")).to_have_text(str(residents))
    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_be_visible()

    operator = new_page("operator")
    operator.goto(_task_url(act_id, "pay_act"))
    operator.fill("#f-order_number", "DP-2026-0042")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator(".alert-success")).to_be_visible()
    operator.goto(f"/acts/{act_id}")
    expect(operator.locator("#payment-info")).to_contain_text("DP-2026-0042")

    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "paid"


def test_the_act_form_takes_the_laptops_width(world, new_page):
    """The residents' table (1319 px) was cut to the task column's 871 px at 1366 px: a form with a table of lines
    takes the page's width."""
    page = new_page("dorm_accountant")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(_task_url(world["dormitories"]["acts"]["dorm_a"].id, "submit_act"))
    box = page.locator(".form-table-box").bounding_box()
    assert box["width"] > 1250, box


def test_a_day_that_does_not_exist_is_said_before_any_question(world, new_page):
    """A resident's move-in typed as 31.09.2026 asked "Submit the act …?" before the server said it is no date. The
    form's dates are typed day first (dd.mm.yyyy), whatever the browser's language."""
    page = new_page("dorm_accountant")
    page.own_dialogs = True
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(_task_url(world["dormitories"]["acts"]["dorm_a"].id, "submit_act"))
    expect(page.locator("#f-lines-0-moved_in")).to_have_value(re.compile(r"^\d{2}\.\d{2}\.\d{4}$"))
    page.locator("#f-lines-0-moved_in").fill("31.09.2026")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#f-lines-0-moved_in")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#f-lines-0-moved_in")).to_have_value("31.09.2026")
    assert questions == []
