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

import pytest

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


def test_a_trial_run_without_an_act_says_the_forms_errors_not_that_no_act_is_linked(world, browser, app):
    """A process owner tries the monthly act out from the modeler: the trial run has no act, so the line checks that
    ask the act (its month) cannot run — the form's own errors were replaced by 'This task is not linked to an act'
    (fede6b86). The form's errors are said; once they are corrected the submission meets its own refusal, and nothing
    is written either way."""
    from flask_babel import force_locale
    from sqlalchemy import func, select

    from app.engine.errors import DomainRefused
    from app.engine.models import HumanTask, ProcessInstance, ProcessModel
    from app.engine.runtime import complete_task
    from app.processes.trials import start_trial
    from tests.helpers import user

    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    instance = start_trial(model, user("owner"))
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.spec_name == "submit_act")).one()
    acts = db.session.scalar(select(func.count()).select_from(Act))
    owner = browser("owner")
    lines = [dict(STUDENTS[0], iin="791028302729", days_attended="20"),  # check digit wrong
             dict(STUDENTS[1], days_attended="45")]  # beyond any month: judged by the act's month, which has none
    page = owner.post(f"/tasks/{task.id}", lines_form(lines))

    assert page.status_code == 422
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page.get_data(as_text=True))))
    assert _marked(page) == {"0": "iin"}
    assert "Not a valid IIN" in text
    assert "The form has errors; nothing was saved." in text
    # corrected, the submission is refused as a submission (a process owner does not submit acts), nothing written
    with app.test_request_context(), force_locale("en"), pytest.raises(DomainRefused,
                                                                      match="This step can be taken only by"):
        complete_task(task.id, user("owner"), form=lines_form([dict(STUDENTS[0], days_attended="20")]))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"
    assert db.session.get(ProcessInstance, instance.id).status == "running"
    assert db.session.scalar(select(func.count()).select_from(Act)) == acts


def test_the_handlers_shape_errors_and_its_line_checks_are_said_by_one_answer(world, app):
    """A version whose act form a process owner loosened lets a grade typed as text through; the handler's own shape
    refuses it (app.engine.runtime: shape_errors) — and said only that: 45 days of November on another line were
    said on the next submission. Now the shape's errors and the line checks (_lines_refused) come in one answer."""
    from flask_babel import force_locale

    from app.engine.errors import FormInvalid
    from app.engine.runtime import complete_task
    from tests.helpers import user
    from tests.security.test_handler_data_shape import LOOSE_ACT, _publish_loosened

    act, task = _november_act()
    _publish_loosened(act.instance_id, "submit-act.schema.json", LOOSE_ACT)
    db.session.commit()
    lines = [{"iin": STUDENTS[0]["iin"], "full_name": STUDENTS[0]["full_name"], "grade": "three",
              "days_attended": 20},  # the loosened form takes text; the shape does not
             {"iin": STUDENTS[1]["iin"], "full_name": STUDENTS[1]["full_name"], "grade": 3,
              "days_attended": 45},  # November has 30 days: the handler's line check
             {"iin": STUDENTS[2]["iin"], "full_name": STUDENTS[2]["full_name"], "grade": 3, "days_attended": 30}]
    with app.test_request_context(), force_locale("en"), pytest.raises(FormInvalid) as refused:
        complete_task(task.id, user("accountant"), data={"lines": lines, "note": ""})
    db.session.rollback()
    errors = refused.value.errors
    assert set(errors) == {"lines.0.grade", "lines.1.days_attended"}
    assert errors["lines.0.grade"] == "Wrong kind of value."
    assert "November 2026 has 30 days" in errors["lines.1.days_attended"]
    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0
    assert db.session.get(Act, act.id).status == "awaiting_submission"
