"""A new department official's and dormitory's first dormitory jobs in a real browser: what the pages ask before a
step that cannot be taken back, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from app import clock
from app.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture()
def world(app_ctx, _world_copies):
    """The demo world with the dormitories' demo (its applicant dormitory, Qazyna, has no contract yet); the clock
    stands the day after the demo was seeded."""
    from app.demo.seed import seed_demo
    from tests.conftest import _demo_now, seeded

    def seed():
        with clock.FrozenClock(_demo_now()):
            return seed_demo(password="pw", dormitories=True)

    world = seeded(_world_copies, "dorm_demo", seed)
    clock.set_clock(clock.FrozenClock(datetime(2026, 11, 6, 5, 0, tzinfo=UTC)))
    yield world
    clock.reset_clock()


@pytest.fixture()
def qazyna_applied(live_server, browser):
    """Qazyna Student Residence's application to a new order for dormitory places, eligible and waiting for the
    department."""
    from tests.dormitories.test_order_to_contract import apply, place

    application = apply(browser("dorm_applicant"), place(browser("official")))
    db.session.commit()
    return application


def test_allocating_dormitory_places_asks_first_naming_the_dormitory_and_a_no_allocates_nothing(qazyna_applied,
                                                                                                 new_page):
    """Allocating generates the contract to sign, as for schools: it was sent on one Enter, without a question."""
    from tests.dormitories.test_order_to_contract import open_task

    official = new_page("official", locale="kk-KZ")
    official.own_dialogs = True
    questions = []
    official.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    official.goto(f"/tasks/{open_task(qazyna_applied.instance_id, 'review_application').id}")
    official.locator("#task-form button[type=submit]").focus()  # "Allocate places" is chosen already
    official.keyboard.press("Enter")
    expect(official.locator("#task-form")).to_be_visible()
    assert len(questions) == 1, questions
    assert "Qazyna Student Residence" in questions[0] and qazyna_applied.order.number in questions[0]
    db.session.expire_all()
    assert db.session.get(type(qazyna_applied), qazyna_applied.id).status == "eligible"


def test_a_refused_dormitory_order_is_read_first_and_keeps_what_was_typed(live_server, new_page):
    """A budget typed as words is refused above the form: the focus had stayed on nothing, the refusal unread by a
    screen reader and Tab starting again from the menu."""
    official = new_page("official", locale="kk-KZ")
    official.goto("/orders/new?instrument=dormitory")
    official.fill("#places", "30")
    official.fill("#budget", "1,5 млн")
    official.locator("#budget").press("Enter")
    expect(official.locator("#order-error")).to_be_focused()
    expect(official.locator("#order-error")).to_contain_text("1500000000")
    expect(official.locator("#places")).to_have_value("30")
    official.keyboard.press("Tab")
    expect(official.locator("#first_year")).to_be_focused()


def test_an_order_sent_after_the_login_ended_comes_back_filled_after_logging_in(live_server, new_page, monkeypatch):
    """The login page said "the form offers your entries back", and the official came back to the schools' order
    form, empty: the dormitory order's address had lost its instrument, and the order form kept nothing."""
    import time

    from app.people import sessions

    official = new_page("official", locale="kk-KZ")
    official.goto("/orders/new?instrument=dormitory")
    form_url = official.url
    official.fill("#places", "30")
    official.fill("#budget", "50000000")
    later = time.time() + 3 * 3600  # three hours without a request: the login has ended
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    official.locator("#budget").press("Enter")
    official.wait_for_url("**/login**")
    official.fill("#username", "official")
    official.fill("#password", "pw")
    official.click("#login-submit")
    official.wait_for_url(form_url)
    expect(official.locator("#places")).to_have_value("30")
    expect(official.locator("#budget")).to_have_value("50000000")
    expect(official.locator("#unsaved-kept")).to_be_visible()


def test_an_amendment_sent_after_the_login_ended_comes_back_after_logging_in(live_server, new_page, monkeypatch):
    """The login page said "the form offers your entries back"; a contract's amendment form (a school's: dormitory
    contracts are not amended on screen) came back with its reason empty."""
    import time

    from sqlalchemy import select

    from app.contracts.models import Contract
    from app.people import sessions

    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    official = new_page("official_shymkent", locale="ru-RU")
    official.goto(f"/contracts/{contract.id}")
    official.click("#amend-link")
    form_url = official.url
    reason = "Корпус Б закрыт на ремонт с февраля."
    official.fill("#rationale", reason)
    later = time.time() + 3 * 3600  # three hours without a request: the login has ended
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    official.check("#amend-confirm")
    official.click("#amend-submit")
    official.wait_for_url("**/login**")
    official.fill("#username", "official_shymkent")
    official.fill("#password", "pw")
    official.click("#login-submit")
    official.wait_for_url(form_url)
    expect(official.locator("#rationale")).to_have_value(reason)
    expect(official.locator("#unsaved-kept")).to_be_visible()
