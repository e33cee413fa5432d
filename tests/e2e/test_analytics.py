"""In a real browser: the operator finds the flagged school, drills down to its act, and sees the monthly-act
process coloured by where it waits."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_operator_drills_down_from_a_red_flag_and_reads_the_heat_map(new_page):
    page = new_page("operator")
    page.get_by_role("link", name="Analytics").click()
    flagged = page.locator("#school-flags tr", has_text="Alatau Lyceum")
    expect(flagged.locator('[data-flag="withheld"]')).to_be_visible()
    flagged.get_by_role("link", name="Alatau Lyceum").click()
    expect(page.locator("#flags")).to_contain_text("High share withheld")
    page.locator("#acts tbody a").first.click()
    expect(page.locator("h1")).to_contain_text("ACT-")
    page.goto("/analytics/processes")
    page.locator("#versions a", has_text="Monthly act of services rendered").first.click()
    diagram = page.locator("#heat-diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    assert page.locator("#heat-diagram .djs-element[class*='tap-heat-']").count() >= 1
    expect(page.locator("#heat-diagram .djs-overlay .badge").first).to_be_visible()
