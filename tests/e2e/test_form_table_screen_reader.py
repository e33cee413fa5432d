"""A screen reader on the act's lines, in Russian on a phone: each row's Remove button says which line it takes out,
and a student listed twice is read out on the field itself, not only seen below it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import act_of_school, open_task

pytestmark = pytest.mark.e2e


def test_a_rows_button_names_its_line_and_a_duplicate_is_read_on_its_field(new_page):
    """New-user probe: tabbing through 30 lines, the reader heard "Убрать" thirty times — not which line it would
    take out; a duplicate IIN's note "Тот же ИИН, что в строке 1" was drawn under the field, but the field was
    neither invalid nor described by it, so the reader on it heard nothing wrong."""
    act = act_of_school("Bilim Innovation School")
    page = new_page("accountant", locale="ru-RU")
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator("button[value=ru]").first.click()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    third = page.locator("tbody tr", has=page.locator("#f-lines-2-iin"))
    expect(third.get_by_role("button", name="Убрать, строка 3", exact=True)).to_be_visible()
    third.get_by_role("button", name="Убрать, строка 3", exact=True).click()
    expect(third.get_by_role("button", name="Вернуть, строка 3", exact=True)).to_be_visible()

    page.locator("[data-add-row]").click()
    added = page.locator("tbody tr").last
    lines = page.locator("tbody tr").count()
    expect(added.get_by_role("button", name=f"Убрать, строка {lines}", exact=True)).to_be_visible()

    second = page.locator("#f-lines-1-iin")
    kept = second.input_value()
    second.fill(page.locator("#f-lines-0-iin").input_value())
    expect(second).to_have_attribute("aria-invalid", "true")
    expect(second).to_have_accessible_description("Тот же ИИН, что в строке 1: укажите каждого обучающегося один раз.")
    second.fill(kept)  # no longer the same: nothing is said of it any more
    expect(second).not_to_have_attribute("aria-invalid", "true")
    expect(second).to_have_accessible_description("")
