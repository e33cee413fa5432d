"""A school accountant copies October's days into November's act: 31 days on three lines of a 30-day month.

The page marked the first line only ("November 2026 has 30 days"): corrected and sent again, it marked the second,
then the third — three submissions to learn three mistakes. Now every line the act's month refuses is marked at
once, each listed in the form's errors with its line, and nothing is saved."""

from __future__ import annotations

import html
import re
from datetime import date

from app.acts.models import ActLine
from app.extensions import db
from tests.helpers import act_of_school, lines_form, open_task

STUDENTS = [{"iin": "791028302728", "full_name": "Фантом Бір", "grade": "3"},
            {"iin": "950440001673", "full_name": "Фантом Екі", "grade": "3"},
            {"iin": "160510523086", "full_name": "Фантом Үш", "grade": "3"},
            {"iin": "141018619079", "full_name": "Фантом Төрт", "grade": "4"}]


def test_every_line_with_more_days_than_the_month_is_marked_in_one_answer(world, browser):
    act = act_of_school("Bilim Innovation School")
    act.period = date(2026, 11, 1)
    db.session.commit()
    task = open_task(act, "submit_act")
    days = ["31", "21", "31", "31"]
    page = browser("accountant").post(f"/tasks/{task.id}", lines_form(
        [dict(student, days_attended=d) for student, d in zip(STUDENTS, days, strict=True)]))

    assert page.status_code == 422
    text = html.unescape(page.get_data(as_text=True))
    marked = set(re.findall(r'id="f-lines-(\d+)-days_attended-err"', text))
    assert marked == {"0", "2", "3"}
    assert "Days attended, line 3" in re.sub(r"<[^>]+>", "", text)  # in the list of the form's errors
    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0
