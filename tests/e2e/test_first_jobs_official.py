"""A first job in Chromium, by the keyboard, in Kazakh: the department official returns an act with a reason. The
comment box's hint ("Required when returning the act: say what to correct") was on the screen but not read with
the field: a screen reader tabbing to "Comment" heard only its name. A field's hint is its description now, and
its error (with the hint) once the server refused the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.acts.models import ActLine
from app.acts.operations import prefill_lines
from app.acts.verification import verify_act
from app.engine.runtime import complete_task
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.helpers import act_of_school, open_task, user

pytestmark = pytest.mark.e2e

HINT = "Қайтарғанда міндетті: нені түзету керек екенін жазыңыз."


def test_the_official_returns_an_act_by_the_keyboard_and_hears_each_fields_hint(new_page):
    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    official = new_page("official", locale="kk-KZ")
    official.locator("button[name=locale][value=kk]").click()
    official.goto(f"/tasks/{open_task(act_of_school('Bilim Innovation School'), 'accept_act').id}")
    comment = official.locator("#f-comment")
    expect(comment).to_have_accessible_description(HINT)

    official.locator("#f-decision-option-1").focus()  # "Return for correction", then straight to Submit
    official.keyboard.press("Space")
    official.locator("#task-form button[type=submit]").focus()
    official.keyboard.press("Enter")
    expect(comment).to_be_focused()
    expect(comment).to_have_accessible_description(f"Бұл өрісті толтыру міндетті. {HINT}")

    official.keyboard.type("21-жол: оқушы қазан айында шығып кеткен, оны алып тастаңыз.")
    official.locator("#task-form button[type=submit]").focus()
    official.keyboard.press("Enter")
    expect(official.locator(".alert-success")).to_be_visible()
    db.session.expire_all()
    assert act_of_school("Bilim Innovation School").status == "returned"


def test_after_keeping_a_line_the_focus_is_in_the_next_line_to_review(new_page):
    """Each line's decision reloads the page: it came back at its top with the focus on nothing, the next line to
    review dozens of Tabs away (past the menu, the report and every excluded line)."""
    act = act_of_school("Alatau Lyceum")
    lines = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")
                               .order_by(ActLine.line_no).limit(2)).all()
    for line in lines:
        enrolment = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).first()
        enrolment.full_name = "Басқа Бала"
    verify_act(act)
    db.session.commit()
    official = new_page("official_almaty", locale="kk-KZ")
    official.locator("button[name=locale][value=kk]").click()
    official.goto(f"/tasks/{open_task(act, 'accept_act').id}")
    official.locator(f"#review-line-{lines[0].id} button[value=confirm]").focus()
    official.keyboard.press("Enter")
    expect(official.locator(f"#review-line-{lines[0].id} [data-decision=confirm]")).to_be_visible()
    expect(official.locator(f"#review-comment-{lines[1].id}")).to_be_focused()
    official.keyboard.type("НОБД-дағы аты-жөні басқа бала")
    official.keyboard.press("Tab")
    official.keyboard.press("Tab")  # past Keep, to Exclude
    official.keyboard.press("Enter")
    expect(official.locator(f"#review-line-{lines[1].id} [data-decision=exclude]")).to_be_visible()


@pytest.fixture()
def nur_applied(browser):
    """Nur's application to a new state order, eligible and waiting for the department (a frozen clock, June 2027)."""
    from datetime import UTC, datetime

    from app import clock
    from tests.helpers import school
    from tests.lifecycle.flow import apply, place_order

    clock.set_clock(clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)))
    order = place_order(browser("official"))
    application = apply(browser("accountant2"), order, school("Nur Private School"), "KZ17LAA00004321")
    db.session.commit()
    yield application
    clock.reset_clock()


def test_allocating_places_asks_first_naming_the_school_and_a_no_allocates_nothing(live_server, nur_applied, new_page):
    """Allocating generates the contract to sign: it was sent on one Enter, without the question accepting an act
    asks."""
    from tests.lifecycle.flow import open_task_of

    official = new_page("official", locale="kk-KZ")
    official.own_dialogs = True
    questions = []
    official.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    official.goto(f"/tasks/{open_task_of(nur_applied.instance_id, 'review_application').id}")
    official.locator("#task-form button[type=submit]").focus()  # "Allocate places" is chosen already
    official.keyboard.press("Enter")
    expect(official.locator("#task-form")).to_be_visible()
    assert len(questions) == 1 and "Nur Private School" in questions[0] and nur_applied.order.number in questions[0]
    db.session.expire_all()
    assert db.session.get(type(nur_applied), nur_applied.id).status == "eligible"
