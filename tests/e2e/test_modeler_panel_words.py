"""The editor's side panel speaks the page's language: an element's kind and the timer's fields (users probe: a
Russian process owner read "accept_act · UserTask", "sla_passed · BoundaryEvent", two fields both called "Выражение
таймера" — one a list of timeDuration/timeDate/timeCycle — and "(Python, e.g. "P5D")")."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModel
from app.extensions import db

pytestmark = pytest.mark.e2e


def test_the_side_panel_names_kinds_and_timer_fields_in_russian(new_page):
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    page = new_page("owner", locale="ru-RU")
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator("button[value=ru]").first.click()
    page.goto(f"/modeler/models/{model.id}")
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")

    page.locator('.djs-shape[data-element-id="accept_act"]').click(position={"x": 12, "y": 12})
    expect(page.locator("#panel-type")).to_have_text("accept_act · Пользовательская задача")

    page.locator('.djs-shape[data-element-id="sla_passed"]').click(position={"x": 5, "y": 18})
    expect(page.locator("#panel-type")).to_have_text("sla_passed · Граничное событие")
    kind = page.locator("#panel").get_by_label("Вид таймера")
    expect(kind.locator("option:checked")).to_have_text("в дату и время (timeDate)")
    expect(page.locator("#panel").get_by_label('Выражение таймера (Python, например "P5D")')).to_have_value(
        'acceptance["due"]')
    assert "e.g." not in page.locator("#panel").inner_text()


@pytest.mark.parametrize(("language", "task"), [("kk", "Өтінім беру"), ("ru", "Подать заявку")])
def test_a_published_version_is_drawn_in_the_readers_words(new_page, language, task):
    """A published version (nobody edits it on its page) is read: its diagram speaks the reader's language, as the
    process page's does — a Kazakh auditor read "Submit application", "Eligible?", "Application rejected"."""
    from app.engine.models import ProcessModelVersion

    version = db.session.scalars(select(ProcessModelVersion).join(ProcessModel).where(
        ProcessModel.identifier == "dorm_application", ProcessModelVersion.status == "published")).one()
    page = new_page("auditor", locale=f"{language}-KZ")
    with page.expect_navigation():
        page.locator(f"button[value={language}]").first.click()
    page.goto(f"/modeler/versions/{version.id}")
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    drawn = page.locator('.djs-shape[data-element-id="submit_application"] tspan').all_text_contents()
    assert " ".join(drawn) == task
    words = " ".join(page.locator("#canvas tspan").all_text_contents())
    assert "Submit" not in words and "Eligible?" not in words, words


def test_an_empty_name_field_says_that_the_name_above_is_shown_until_it_is_filled_in(new_page):
    """A Kazakh owner saw the model's English names with empty Kazakh name fields, and nothing said what a reader of
    Kazakh would see meanwhile."""
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    page = new_page("owner")
    page.goto(f"/modeler/models/{model.id}")
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    page.locator('.djs-shape[data-element-id="accept_act"]').click(position={"x": 12, "y": 12})
    english = page.locator("#panel").get_by_label("Name in English")
    expect(english).to_have_value("")
    expect(english).to_have_attribute("placeholder", "Empty: readers in this language see the name above (or its "
                                                     "words as Tapsyrys translates them).")
