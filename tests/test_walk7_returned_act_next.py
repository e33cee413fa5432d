"""Walk 7: a school accountant opens the act the department returned. The page showed the department's comment and
the verification report, and not what to do with them; it now says: correct the lines in the form, submit again, and
the act is verified again and goes back to the department. Only to who can act (the department reading the same step
is not told to submit)."""

from __future__ import annotations

import re

from tests.e2e.test_words_and_rough_edges import _submit_with_a_phantom_and_return
from tests.helpers import open_task


def test_the_returned_acts_form_says_what_to_do_with_the_comment(world, browser):
    act = _submit_with_a_phantom_and_return(browser)
    task = open_task(act, "submit_act")
    page = browser("accountant").get(f"/tasks/{task.id}").get_data(as_text=True)
    alert = re.search(r'id="return-comment"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "Remove the phantom line" in alert
    assert "submit the act again: it is verified again and goes back to the department" in alert


def test_guard_the_department_reading_the_returned_step_is_not_told_to_submit(world, browser):
    act = _submit_with_a_phantom_and_return(browser)
    task = open_task(act, "submit_act")
    response = browser("official").get(f"/tasks/{task.id}")
    assert response.status_code == 200
    assert 'id="return-next"' not in response.get_data(as_text=True)
