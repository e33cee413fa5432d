"""The dormitory act's form: a returned act's excluded lines are marked on the form; move-in and move-out dates that
leave no day of the month are refused at the date to correct, with the student's name and the month's."""

from __future__ import annotations

import html
import re

from app.acts.operations import prefill_lines
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import lines_form, open_task, user


def test_a_returned_dormitory_acts_form_marks_its_excluded_lines(dorm_world, browser):
    act = dorm_world["dormitories"]["acts"]["dorm_b"]  # Nomad: submitted with one line of every anomaly
    excluded = {ln.iin for ln in act.lines if ln.outcome == "excluded"}
    assert excluded
    complete_task(open_task(act, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "Correct the lines"})
    db.session.commit()
    page = browser("dorm_accountant2").get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True)
    marked = re.findall(r'<tr class="table-warning row-excluded" data-excluded="1">(.*?)</tr>', page, re.S)
    assert {re.search(r'value="(\d{12})"', m).group(1) for m in marked} == excluded
    assert all("Excluded: " in m for m in marked)


def test_a_line_left_without_a_day_names_the_student_the_month_and_the_move_out(dorm_world, browser):
    act = dorm_world["dormitories"]["acts"]["dorm_a"]
    lines = [{k: str(v) for k, v in ln.items()} for ln in prefill_lines(act)]
    assert lines
    lines[0]["moved_out"] = act.period.isoformat()  # the place free from the 1st: no day of the month
    accountant = browser("dorm_accountant")
    accountant.post("/locale", {"locale": "ru", "next": "/inbox"})
    response = accountant.post(f"/tasks/{open_task(act, 'submit_act').id}", lines_form(lines))
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'id="f-lines-0-moved_out-err"' in text and 'id="f-lines-0-moved_in-err"' not in text
    error = re.search(r'id="f-lines-0-moved_out-err">([^<]*)<', text).group(1)
    assert lines[0]["full_name"] in error and lines[0]["iin"] in error
    assert f"{act.period:%Y-%m}" not in error and str(act.period.year) in error
