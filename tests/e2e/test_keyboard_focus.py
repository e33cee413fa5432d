"""Keyboard only, in Kazakh: every element the Tab key reaches shows where the focus is — the menu's links, the
language buttons, the inbox's fields and buttons, and the folded menu's button on a phone."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

_FOCUS = """() => { const e = document.activeElement, s = getComputedStyle(e);
  // the colour the ring is drawn on: the first of the element's parents that paints a background
  let under = e.parentElement, ground = 'rgb(255, 255, 255)';
  for (; under; under = under.parentElement) {
    const paint = getComputedStyle(under).backgroundColor;
    if (paint !== 'rgba(0, 0, 0, 0)' && paint !== 'transparent') { ground = paint; break; } }
  return {tag: e.tagName, cls: e.className, text: (e.innerText || e.value || '').trim().slice(0, 30),
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor, ground}; }"""


def _contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two opaque ``rgb(r, g, b)`` colours."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _tab(page) -> dict:
    page.keyboard.press("Tab")
    return page.evaluate(_FOCUS)


def test_the_focus_is_seen_on_every_control_the_tab_key_reaches(new_page):
    """New-user probe: Tab through the official's inbox at 1366 px — on the blue menu bar the focused link showed
    Bootstrap's 25 % blue ring, blue on blue: nothing marked which link Enter would open (the page's own orange
    outline lost to Bootstrap's class rule, also on buttons and fields)."""
    page = new_page("official", locale="kk-KZ")
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator("button[value=kk]").first.click()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/inbox")
    seen = []
    for _ in range(40):
        focus = _tab(page)
        if focus["tag"] == "BODY":
            break
        seen.append(focus)
        assert focus["outline"] == "solid" and focus["width"] >= 2, f"no visible focus on {focus}"
        # New-user probe: the orange ring was 2.5:1 on the blue menu bar and 2.6:1 on the white page (WCAG 2.2: 3:1)
        assert _contrast(focus["colour"], focus["ground"]) >= 3, f"the ring is hard to see on {focus}"
    kinds = {c for f in seen for c in ("nav-link", "btn", "form-control", "form-select") if c in f["cls"].split()}
    assert kinds == {"nav-link", "btn", "form-control", "form-select"}, "the walk met each kind of control"

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/inbox")
    for _ in range(5):
        focus = _tab(page)
        if focus["tag"] == "BUTTON" and "navbar-toggler" in focus["cls"]:
            break
    assert "navbar-toggler" in focus["cls"] and focus["outline"] == "solid", "the phone's menu button shows its focus"
    assert _contrast(focus["colour"], focus["ground"]) >= 3, f"the ring is hard to see on {focus}"
