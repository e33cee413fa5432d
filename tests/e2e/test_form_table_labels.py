"""Keyboard and screen-reader probe of the act's lines: tabbing through the table read each cell by its column only
— "Days attended", forty times, no line. Each cell is named by its column and its line, a line added too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_each_cell_of_the_lines_says_its_line_and_so_does_an_added_line(new_page):
    page = new_page("accountant")
    page.get_by_role("link", name="Submit monthly act").click()
    expect(page.locator("#f-lines-1-days_attended")).to_have_attribute("aria-label", "Days attended, line 2")
    expect(page.get_by_role("textbox", name="IIN, line 1", exact=True)).to_have_value("160510523086")
    rows = page.locator('table[data-array="lines"] tbody tr')
    count = rows.count()
    page.get_by_role("button", name="Add row").click()
    added = page.locator(f"#f-lines-{count}-days_attended")
    expect(added).to_have_attribute("aria-label", f"Days attended, line {count + 1}")
