"""In a real browser: a step writes no notification; the background pass announces the new task, and the
official finds it in the bell and opens the task from there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.background import tick

pytestmark = pytest.mark.e2e


def test_the_background_pass_announces_the_new_task_in_the_officials_bell(new_page, app):
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Submit monthly act")

    official = new_page("official")
    official.goto("/notifications")
    expect(official.get_by_text("New task: Accept act")).to_have_count(0)

    tick(app)  # what the in-process ticker (or the Celery beat) runs every TICKER_INTERVAL_SECONDS

    official.goto("/notifications")
    note = official.locator(".list-group-item", has_text="New task: Accept act")
    expect(note).to_contain_text("Bilim Innovation School")
    expect(official.locator("#unread-count")).to_have_text("1")
    note.get_by_role("button", name="Open").click()
    expect(official.locator("h1")).to_contain_text("Accept act")
    expect(official.locator("#verification-report")).to_be_visible()
