"""In Chromium: claim and complete, save and reuse a filter, bulk accept, Kazakh UI, a deputy on behalf."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.extensions import db
from tests.helpers import school, user
from tests.inbox.conftest import make_clean_acts, make_official2

pytestmark = pytest.mark.e2e


def _act_status(task) -> str:
    db.session.expire_all()
    return db.session.get(Act, task.instance.subject_id).status


def test_official_claims_then_completes_a_task(new_page):
    tasks = make_clean_acts()
    page = new_page("official")
    row = page.locator(f'tr[data-task-id="{tasks[0].id}"]')
    row.get_by_role("button", name="Claim").click()
    expect(page.locator(".alert-success")).to_contain_text("You have claimed this task")
    expect(row.locator(".claimed-by")).to_have_text("me")
    row.get_by_role("link", name="Open").click()
    expect(page.locator("#claim-state")).to_contain_text("Claimed by Ержан Қалиев")
    expect(page.locator("#diagram")).to_have_attribute("data-rendered", "true")
    page.get_by_label("Accept the act").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".alert-success")).to_contain_text("Accept act")
    assert _act_status(tasks[0]) == "accepted"


def test_save_a_filter_share_it_and_reuse_it(new_page):
    make_clean_acts()
    make_official2()
    bin_a = school("Bilim Innovation School").bin
    page = new_page("official")
    page.keyboard.press("/")  # keyboard shortcut to the search field
    expect(page.locator("#q")).to_be_focused()
    page.get_by_label("Organisation (name or BIN)").fill(bin_a)
    page.get_by_label("Task", exact=True).select_option("accept_act")
    page.get_by_label("Organisation (name or BIN)").press("Enter")  # keyboard submits the filter form
    expect(page.locator("#inbox-table tbody tr")).to_have_count(2)
    page.get_by_label("Save this filter as").fill("Bilim, to accept")
    page.get_by_label("Share with my department").check()
    page.get_by_role("button", name="Save filter").click()
    expect(page.locator(".alert-success")).to_contain_text("Bilim, to accept")
    page.goto("/inbox")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(4)

    colleague = new_page("official2")
    colleague.locator("#saved-filters").get_by_role("link", name="Bilim, to accept").click()
    expect(colleague.locator("#active-filter")).to_contain_text("Bilim, to accept")
    expect(colleague.locator("#inbox-table tbody tr")).to_have_count(2)
    expect(colleague.get_by_label("Organisation (name or BIN)")).to_have_value(bin_a)


def test_bulk_accept_after_confirmation(new_page):
    tasks = make_clean_acts()
    page = new_page("official")
    for task in tasks[:3]:
        page.locator(f"#bulk-{task.id}").check()
    page.get_by_role("button", name="Accept selected clean acts…").click()
    expect(page.locator("#bulk-list tbody tr")).to_have_count(3)
    expect(page.locator("#bulk-total")).to_contain_text("₸")
    page.get_by_role("button", name="Accept these acts").click()
    expect(page.locator('#bulk-results [data-ok="true"]')).to_have_count(3)
    expect(page.locator(".alert-success")).to_contain_text("3 of 3 acts accepted")
    assert [_act_status(t) for t in tasks] == ["accepted", "accepted", "accepted", "verified"]


def test_switch_to_kazakh_and_it_is_remembered(new_page):
    make_clean_acts()
    page = new_page("official")
    page.get_by_role("button", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator("nav.navbar")).to_contain_text("Кіріс тапсырмалар")
    expect(page.locator("h1")).to_have_text("Менің тапсырмаларым")
    page.locator("#inbox-table tbody tr").first.get_by_role("link").first.click()
    expect(page.locator("#task-form")).to_contain_text("Шешім")
    expect(page.get_by_role("button", name="Қазақша")).to_have_attribute("aria-pressed", "true")

    again = new_page("official")  # a new browser (English Accept-Language): the account remembers Kazakh
    expect(again.locator("html")).to_have_attribute("lang", "kk")
    assert user("official").locale == "kk"


def test_deputy_acts_on_behalf_of_the_official(new_page):
    tasks = make_clean_acts()
    deputy_user = make_official2()
    official = new_page("official")
    official.locator(f'tr[data-task-id="{tasks[0].id}"]').get_by_role("button", name="Claim").click()
    official.get_by_role("link", name="Deputies").click()
    official.get_by_label("Deputy").select_option(str(deputy_user.id))
    today = clock.today()
    official.get_by_label("From").fill(today.isoformat())
    official.get_by_label("To").fill((today + timedelta(days=14)).isoformat())
    official.get_by_role("button", name="Save").click()
    expect(official.locator(".alert-success")).to_contain_text("Deputy named")
    expect(official.locator("#substitutions")).to_contain_text("Дина Серікова")

    deputy = new_page("official2")
    expect(deputy.locator("#deputy-banner")).to_contain_text("Ержан Қалиев")
    deputy.locator(f'tr[data-task-id="{tasks[0].id}"]').get_by_role("link", name="Open").click()
    expect(deputy.locator("#on-behalf")).to_contain_text("on behalf of Ержан Қалиев")
    deputy.get_by_label("Accept the act").check()
    deputy.get_by_role("button", name="Submit").click()
    expect(deputy.locator(".alert-success")).to_contain_text("Accept act")

    official.goto(f"/tasks/{tasks[0].id}")
    expect(official.locator("#timeline")).to_contain_text("Дина Серікова (on behalf of Ержан Қалиев)")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.completed",
                                                        AuditEvent.object_id == tasks[0].id)).one()
    assert event.on_behalf_of_id == user("official").id
