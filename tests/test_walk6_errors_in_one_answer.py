"""A school accountant types November's act with three mistakes: a wrong IIN check digit on one line, 45 days on
another, "12a" days on a third.

The page answered in rounds: the IIN first (the form's own check), the 45 days only once the IIN was corrected and
the act sent again (the act's month is judged by the step's handler, which ran only when the form had nothing left
to say), and a typed "12a" hid the wrong IIN the same way. Now one submission marks every one of them, and nothing
is saved."""

from __future__ import annotations

import html
import re
from datetime import date

from app.acts.models import Act, ActLine
from app.extensions import db
from tests.helpers import act_of_school, lines_form, open_task

STUDENTS = [{"iin": "791028302728", "full_name": "Фантом Бір", "grade": "3"},
            {"iin": "950440001673", "full_name": "Фантом Екі", "grade": "3"},
            {"iin": "160510523086", "full_name": "Фантом Үш", "grade": "3"}]


def _november_act():
    act = act_of_school("Bilim Innovation School")
    act.period = date(2026, 11, 1)
    db.session.commit()
    return act, open_task(act, "submit_act")


def _marked(page) -> dict[str, str]:
    text = html.unescape(page.get_data(as_text=True))
    return dict(re.findall(r'id="f-lines-(\d+)-(\w+)-err"', text))


def test_a_wrong_iin_and_days_beyond_the_month_are_marked_by_one_submission(world, browser):
    act, task = _november_act()
    lines = [dict(STUDENTS[0], iin="791028302729", days_attended="20"),  # check digit wrong
             dict(STUDENTS[1], days_attended="45"),  # November has 30 days
             dict(STUDENTS[2], days_attended="20")]
    page = browser("accountant").post(f"/tasks/{task.id}", lines_form(lines))

    assert page.status_code == 422
    assert _marked(page) == {"0": "iin", "1": "days_attended"}
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page.get_data(as_text=True))))
    assert "Not a valid IIN" in text
    assert "November 2026 has 30 days" in text
    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0
    assert db.session.get(Act, act.id).status == "awaiting_submission"


def test_the_same_line_wrong_iin_and_too_many_days_are_both_marked(world, browser):
    _act, task = _november_act()
    lines = [dict(STUDENTS[0], iin="791028302729", days_attended="31"), dict(STUDENTS[1], days_attended="20")]
    page = browser("accountant").post(f"/tasks/{task.id}", lines_form(lines))

    assert page.status_code == 422
    text = html.unescape(page.get_data(as_text=True))
    assert set(re.findall(r'id="f-lines-0-(\w+)-err"', text)) == {"iin", "days_attended"}


def test_a_mistyped_number_does_not_hide_a_wrong_iin(world, browser):
    _act, task = _november_act()
    lines = [dict(STUDENTS[0], iin="791028302729", days_attended="20"), dict(STUDENTS[1], days_attended="12a"),
             dict(STUDENTS[2], days_attended="45")]
    page = browser("accountant").post(f"/tasks/{task.id}", lines_form(lines))

    assert page.status_code == 422
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page.get_data(as_text=True))))
    assert _marked(page) == {"0": "iin", "1": "days_attended", "2": "days_attended"}
    assert "Enter a whole number" in text
