"""Pages of finished steps said what to do next, as if the step were still open: the completed "Submit monthly act"
page told the accountant to "check days attended …, then submit", and a paid act's lines that needed review said
"the act can be accepted once every line is decided". Now a finished step's page says what was done, and the
instructions are shown to who can still act on them."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.acts.review import decide_line
from app.engine.models import ProcessInstance
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, task_of, user

SCHOOL = "Bilim Innovation School"


def _text(page) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page.get_data(as_text=True))))


def test_a_submitted_acts_step_says_it_was_submitted_not_to_submit(world, browser):
    act = act_of_school(SCHOOL)
    task_id = open_task(act, "submit_act").id
    before = _text(browser("accountant").get(f"/tasks/{task_id}"))
    assert "then submit" in before  # the instruction, while the step is the accountant's

    complete_task(task_id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    page = browser("accountant").get(f"/tasks/{task_id}")

    assert page.status_code == 200
    text = _text(page)
    assert "then submit" not in text
    assert "This step is done: the act was submitted." in text


def test_a_paid_acts_reviewed_lines_say_what_was_decided_not_when_it_can_be_accepted(world, browser):
    act = act_of_school(SCHOOL)
    lines = prefill_lines(act)
    lines[0]["full_name"] = "Басқа Есім"  # not NEDB's name: the line needs the department's review
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.line_no == 1)).one()
    assert line.review_codes == "name"
    waiting = _text(browser("official").get(f"/acts/{act.id}"))
    assert "the act can be accepted once every line is decided" in waiting  # while the department decides

    decide_line(db.session.get(Act, act.id), line.id, "confirm", None, user("official"))
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": "PP-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert db.session.get(Act, act.id).status == "paid"

    accept = task_of(db.session.get(ProcessInstance, act.instance_id), "accept_act")
    for address in (f"/acts/{act.id}", f"/tasks/{accept.id}"):
        text = _text(browser("official").get(address))
        assert "can be accepted" not in text, address
        assert "beside each is what was decided before the act was accepted" in text, address
