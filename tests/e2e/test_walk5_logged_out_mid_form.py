"""A school accountant checks her act while her login ends in a way that leaves no mark of it: she logs out in
another tab, or the browser drops the login cookie. She then submits the act.

Logged out in another tab, the form went to the login page with no word that nothing was saved; with the cookie
gone, the answer was "400 · Session expired — reload the page and try again", and a reload sent the form again to
the same answer. Now both go to the login page, which says that what she sent was not saved; after logging in the
task page offers her entries back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.acts.models import ActLine
from app.extensions import db
from tests.helpers import act_of_school, open_task

pytestmark = pytest.mark.e2e


def _typed_then_sent(accountant, end_login) -> tuple[str, str]:
    act = act_of_school("Bilim Innovation School")
    task_url = f"/tasks/{open_task(act, 'submit_act').id}"
    accountant.goto(task_url)
    typed = "7" if accountant.locator("#f-lines-0-days_attended").input_value() != "7" else "8"
    accountant.fill("#f-lines-0-days_attended", typed)
    accountant.fill("#f-note", "Checked against the class registers")
    end_login(accountant)
    accountant.locator("#task-form button[type=submit]").click()
    accountant.wait_for_url("**/login**")
    expect(accountant.locator(".alert-warning")).to_contain_text("was not saved")
    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0
    accountant.fill("#username", "accountant")
    accountant.fill("#password", "pw")
    accountant.click("#login-submit")
    accountant.wait_for_url(f"**{task_url}")
    return task_url, typed


def _logged_out_in_another_tab(page) -> None:
    other = page.context.new_page()
    other.goto("/inbox")
    other.locator("form[action='/logout'] button").click()
    other.wait_for_url("**/login**")
    other.close()


def _login_cookie_gone(page) -> None:
    page.context.clear_cookies()


@pytest.mark.parametrize("end_login", [_logged_out_in_another_tab, _login_cookie_gone],
                         ids=["logout-in-another-tab", "cookie-gone"])
def test_a_form_sent_after_the_login_ended_unmarked_is_told_and_offered_back(new_page, end_login):
    accountant = new_page("accountant")
    _task_url, typed = _typed_then_sent(accountant, end_login)
    expect(accountant.locator("#unsaved-kept")).to_contain_text("were not saved")
    expect(accountant.locator("#f-lines-0-days_attended")).to_have_value(typed)
    expect(accountant.locator("#f-note")).to_have_value("Checked against the class registers")
