"""A dormitory's accountant on a phone (390 px, Kazakh) sends the act of occupied places with three mistakes: a
move-in date written month first, a move-out date with a two-digit year, a resident's name left empty.

The page said "The form has errors; please correct the fields marked below" and put the focus in the first one:
the second was past the table's right edge, unseen, and nothing named it; and a name's field, scrolled to, started
under the line number and IIN that stay in sight (its error was read from its fifth letter). Now the message lists
each field with its line, each a link that puts the focus in that field, and a field put in sight starts beside the
held columns."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import ActLine
from app.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture()
def world(app_ctx):
    """The demo world with the dormitories' demo, as `make run` seeds it."""
    from app.demo.seed import seed_demo
    from tests.conftest import _demo_now

    with clock.FrozenClock(_demo_now()):
        return seed_demo(password="pw", dormitories=True)


def _beside_the_held_columns(page) -> tuple[int, int, str]:
    """(the focused field's left edge, the right edge of its row's IIN cell, its id) on the screen."""
    return page.evaluate("""() => { const field = document.activeElement;
      const held = field.closest('tr').querySelector('td:nth-child(2)');
      return [Math.round(field.getBoundingClientRect().left), Math.round(held.getBoundingClientRect().right),
              field.id]; }""")


def test_each_mistake_is_named_with_its_line_and_leads_to_its_field_on_a_phone(world, new_page):
    from tests.e2e.test_dormitory_act_flow import _task_url

    act_id = world["dormitories"]["acts"]["dorm_a"].id
    accountant = new_page("dorm_accountant", locale="kk-KZ")
    accountant.set_viewport_size({"width": 390, "height": 844})
    accountant.goto(_task_url(act_id, "submit_act"))
    accountant.fill("#f-lines-0-moved_in", "10.15.2026")
    accountant.fill("#f-lines-1-moved_out", "15.11.26")
    accountant.fill("#f-lines-2-full_name", "")
    accountant.locator("#task-form button[type=submit]").click()

    links = accountant.locator("#form-errors #form-error-list a")
    expect(links).to_have_count(3)
    expect(links.nth(0)).to_have_text("Қоныстанған күні, 1-жол")
    expect(links.nth(1)).to_have_text("Шыққан күні, 2-жол")
    expect(links.nth(2)).to_have_text("Аты-жөні, 3-жол")
    expect(accountant.locator("#form-error-list li").nth(1)).to_contain_text("05.03.2026")  # what to write

    links.nth(1).click()
    expect(accountant.locator("#f-lines-1-moved_out")).to_be_focused()
    expect(accountant.locator("#f-lines-1-moved_out")).to_be_in_viewport()
    links.nth(2).click()
    expect(accountant.locator("#f-lines-2-full_name")).to_be_focused()
    left, held_right, _ = _beside_the_held_columns(accountant)
    assert left >= held_right - 1, (left, held_right)

    db.session.expire_all()
    assert db.session.scalars(select(ActLine).where(ActLine.act_id == act_id)).first() is None  # nothing saved


def test_the_first_field_to_correct_starts_beside_the_line_number_and_iin(world, new_page):
    from tests.e2e.test_dormitory_act_flow import _task_url

    act_id = world["dormitories"]["acts"]["dorm_a"].id
    accountant = new_page("dorm_accountant", locale="kk-KZ")
    accountant.set_viewport_size({"width": 390, "height": 844})
    accountant.goto(_task_url(act_id, "submit_act"))
    accountant.fill("#f-lines-2-full_name", "")
    accountant.locator("#task-form button[type=submit]").click()
    expect(accountant.locator("#f-lines-2-full_name")).to_be_focused()
    left, held_right, _ = _beside_the_held_columns(accountant)
    assert left >= held_right - 1, (left, held_right)
