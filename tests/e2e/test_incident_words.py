"""In Chromium: an act opened before its month has ended is refused by a service step in the background pass; the
operator's staff read the incident on the instance's page in their own language, the month and the day in their
language's form — in Kazakh on a phone, in English on a desktop."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from app.i18n import format_day, format_month
from tests.operations.test_service_refusal_words import _incident_after_a_pass

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale, browser_locale, width", [("kk", "kk-KZ", 390), ("en", "en-US", 1366)])
def test_an_incident_is_read_in_the_readers_language(new_page, app, locale, browser_locale, width):
    instance_id = _incident_after_a_pass(app, "opening_early", "tests/open_november_early")
    with app.test_request_context(), force_locale(locale):
        month, day = format_month(date(2026, 11, 1)), format_day(date(2026, 12, 1))
    page = new_page("operator", locale=browser_locale)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"/instances/{instance_id}")
    error = page.locator("#instance-error")
    expect(error).to_contain_text(month)
    expect(error).to_contain_text(day)
    expect(page.locator(".incident-message")).to_contain_text(month)
    assert "said:" not in page.content()
