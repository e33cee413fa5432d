"""The administrator's first day, in Kazakh, keyboard only (walk8): an official goes on leave and their colleague must
see their tasks. The official cannot name a deputy from the inbox while away, and the administrator had no form for it
— only the person's own /substitutions page did. Now the person's administration page names one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.people.substitutions import Substitution
from tests.helpers import user
from tests.inbox.conftest import make_official2

pytestmark = pytest.mark.e2e


def _type_day(page, day) -> None:
    """Chromium's date field under kk-KZ takes month, day, year as typed digits (each part moves on by itself)."""
    page.keyboard.type(f"{day:%m%d%Y}")


def _tab_to(page, element_id: str) -> None:
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    pytest.fail(f"the Tab key did not reach #{element_id}")


def test_the_administrator_names_a_deputy_for_an_official_on_leave_with_the_keyboard(new_page):
    official, colleague = user("official"), make_official2()
    page = new_page("admin", locale="kk-KZ")
    with page.expect_navigation():
        page.locator("button[value=kk]").first.click()
    page.goto(f"/admin/users/{official.id}")
    expect(page.locator("#deputies-heading")).to_have_text("Алмастырушылар")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "deputy_id":
            break
    else:
        pytest.fail("the Tab key never reached the deputy's field")
    ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                         " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert ring[0] == "solid" and ring[1] >= 2, ring
    start, end = clock.today() + timedelta(days=1), clock.today() + timedelta(days=14)
    page.keyboard.press("Tab")
    _type_day(page, start)
    _tab_to(page, "ends_on")  # past the start field's own parts (month, day, year)
    _type_day(page, end)
    assert page.evaluate("[starts_on.value, ends_on.value]") == [start.isoformat(), end.isoformat()]
    _tab_to(page, "name-deputy")
    page.keyboard.press("Enter")
    expect(page.locator("#user-substitutions")).to_contain_text(colleague.full_name)
    expect(page.locator(".alert-success")).to_contain_text(colleague.full_name)
    sub = db.session.scalars(select(Substitution)).one()
    assert (sub.principal_id, sub.deputy_id, sub.starts_on, sub.ends_on) == (official.id, colleague.id, start, end)
    # the account's own audit trail says who named the deputy
    expect(page.locator("#user-history")).to_contain_text("System Administrator")
