"""In a real browser: the API has a browsable documentation page, and the app has an icon (no 404 in the log)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_operator_reads_the_api_documentation(new_page):
    page = new_page("operator")
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.get_by_role("link", name="API", exact=True).click()
    expect(page.locator("#swagger-ui .information-container")).to_contain_text("Tapsyrys API")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    assert page.locator("#swagger-ui .opblock").count() >= 5
    assert failed == []
