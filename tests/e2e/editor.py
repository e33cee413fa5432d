"""Helpers of the model editor's browser tests."""

from __future__ import annotations

from playwright.sync_api import expect


def open_new_draft(new_page, model_id: int, ready: str = "true"):
    """As the process owner, open a new draft of model ``model_id`` in the editor and wait until its diagram has
    loaded (``ready``: "true") or failed to ("error")."""
    page = new_page("owner")
    page.goto(f"/modeler/models/{model_id}")
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", ready)
    return page


def set_norm_and_save(page, value: str) -> None:
    """In the editor: open the norms table, type ``value`` into its one output cell (100), save the draft."""
    page.get_by_role("button", name="norms.dmn").click()
    cell = page.locator('#dmn-canvas [data-element-id="r1_out"]')
    expect(cell).to_contain_text("100")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
