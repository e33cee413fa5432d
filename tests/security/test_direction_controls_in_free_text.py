"""Free text typed outside a form keeps the forms' rule: no invisible text-direction controls (U+202A–U+202E,
U+2066–U+2069). A form's field refused them, but a case's comment, a line review's comment, a contract
amendment's reason and a cockpit action's reason took them, and the other side read them reversed — a school's
comment "‮00.005 12 :тнемйаП" shows to the official as "Payment: 21 500.00"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.acts.review import decide_line
from app.contracts.amendments import parse_form
from app.engine.errors import DomainRefused, FormInvalid
from app.extensions import db
from app.inbox.models import TaskComment
from app.processes.operations import ActionRefused, clean_reason
from tests.helpers import act_of_school, open_task, user

REVERSED = "\u202e00.005 12 :тнемйаП"
REFUSED = "Remove the invisible text-direction characters"


def test_a_case_comment_with_a_direction_control_is_refused_and_not_stored(world, browser):
    task = open_task(act_of_school("Bilim Innovation School"), "submit_act")
    page = browser("accountant").post(f"/tasks/{task.id}/comments", {"body": REVERSED},
                                    follow_redirects=True).get_data(as_text=True)
    assert REFUSED in page
    assert db.session.scalars(select(TaskComment)).all() == []
    browser("accountant").post(f"/tasks/{task.id}/comments", {"body": "Checked \u200fby phone"})  # marks stay allowed
    assert [c.body for c in db.session.scalars(select(TaskComment))] == ["Checked \u200fby phone"]


def test_a_line_review_comment_with_a_direction_control_is_refused(world):
    act = db.session.scalars(select(Act).where(Act.status == "verified").order_by(Act.id)).first()
    with pytest.raises(DomainRefused, match=REFUSED):
        decide_line(act, 0, "exclude", "\u2067not in the school\u2069", user("official_almaty"))


def test_an_amendment_reason_with_a_direction_control_is_refused():
    with pytest.raises(FormInvalid) as refused:
        parse_form({"rationale": "Places added by the order " + REVERSED})
    assert REFUSED in refused.value.errors["rationale"]


def test_a_cockpit_reason_with_a_direction_control_is_refused():
    with pytest.raises(ActionRefused, match=REFUSED):
        clean_reason("retry \u202bafter the registry came back")
    assert clean_reason("retry after the registry came back") == "retry after the registry came back"
