"""A first job in Chromium, by the keyboard, in Kazakh: the school director signs the contract and mistypes the
password. The refusal ("The password is not correct…") came back at the top of the page with the focus on nothing:
a screen reader did not read it, and the person pressing Tab started again from the menu. The refusal takes the
focus; the next Tabs lead to the form to sign again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_wrong_password_at_signing_is_read_out_and_the_form_is_next(new_page, contract_to_sign):
    director = new_page("director2", locale="kk-KZ")
    director.locator("button[name=locale][value=kk]").click()
    director.get_by_role("link", name="Келісімшартқа қол қою (мектеп директоры)").click()
    director.locator("#f-confirm").focus()
    director.keyboard.press("Space")
    director.keyboard.press("Tab")
    director.keyboard.type("not-my-password")
    director.keyboard.press("Enter")
    refusal = director.locator("#refusal")
    expect(refusal).to_contain_text("Құпиясөз қате")
    expect(refusal).to_be_focused()
    for _ in range(10):  # past the contract's summary and its document's link, to the form
        director.keyboard.press("Tab")
        if director.evaluate("document.activeElement.id") == "f-confirm":
            break
    expect(director.locator("#f-confirm")).to_be_focused()
    if not director.locator("#f-confirm").is_checked():
        director.keyboard.press("Space")
    director.keyboard.press("Tab")
    director.keyboard.type("pw")
    director.keyboard.press("Enter")
    expect(director.locator(".alert-success")).to_be_visible()


def test_a_wrong_password_on_the_contract_page_is_read_out_too(new_page, contract_to_sign):
    """The contract page's own signing form answers a refusal after a redirect, as a message at the top."""
    director = new_page("director2", locale="ru-RU")
    director.locator("button[name=locale][value=ru]").click()
    director.goto(f"/contracts/{contract_to_sign.id}")
    director.locator("#sign-confirm").focus()
    director.keyboard.press("Space")
    director.keyboard.press("Tab")
    director.keyboard.type("not-my-password")
    director.keyboard.press("Enter")
    refusal = director.locator("main .alert-danger")
    expect(refusal).to_contain_text("Неверный пароль")
    expect(refusal).to_be_focused()
