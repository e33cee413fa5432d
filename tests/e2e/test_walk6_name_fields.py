"""A Russian process owner opens a draft of the monthly act: the diagram and the process's name are in English (a
draft is drawn as written, the names its author edits), and the Kazakh and Russian name fields were empty with no
word of what readers see. Each empty field now shows the words readers of its language see."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModel
from app.engine.publishing import create_draft
from app.extensions import db
from tests.helpers import user

pytestmark = pytest.mark.e2e


def test_the_empty_name_fields_of_a_draft_show_what_readers_see(new_page):
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    draft = create_draft(model, user("owner"), from_version=model.versions[-1])
    db.session.commit()
    owner = new_page("owner", locale="ru-RU")
    owner.goto(f"/modeler/versions/{draft.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    owner.locator('.djs-shape[data-element-id="submit_act"]').click(position={"x": 12, "y": 12})
    panel = owner.locator("#panel")
    russian = panel.locator("input[placeholder^='Подать ежемесячный акт']")  # the words first, not cut off
    kazakh = panel.locator("input[placeholder^='Ай сайынғы актіні ұсыну']")
    expect(russian).to_have_count(1)
    expect(kazakh).to_have_count(1)
    expect(russian).to_have_value("")
