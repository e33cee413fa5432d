"""In a real browser: the side panel's lane list speaks the reader's language end to end (users probe: a Kazakh
process owner's lane "Мектеп бухгалтері" — a name the engine takes for the school accountant's lane — showed as no
lane in the list, and choosing a role drew an English lane, "School accountant" beside "Мектеп бухгалтері",
"Department head" into a Kazakh diagram)."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import chain_model, user_task

pytestmark = pytest.mark.e2e


def test_the_lane_list_knows_a_kazakh_lane_and_adds_lanes_in_kazakh(new_page):
    version, _ = publish_version(chain_model("kk_lanes", [
        ("fill", "Мектеп бухгалтері", user_task("fill", "Толтыру")),
        ("check", "Operator", user_task("check", "Тексеру"))]))
    db.session.commit()
    page = new_page("owner", locale="kk-KZ")
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator("button[value=kk]").first.click()
    page.goto(f"/modeler/models/{version.process_model_id}")
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    panel = page.locator("#panel")

    page.locator('.djs-shape[data-element-id="fill"]').click(position={"x": 12, "y": 12})
    lane = panel.get_by_label("Жолақ (рөл)")
    expect(lane).to_have_value("School accountant")
    expect(lane.locator("option:checked")).to_have_text("Мектеп бухгалтері")
    roles = lane.locator("option").all_inner_texts()[1:]
    assert roles and not [r for r in roles if re.fullmatch(r"[A-Za-z ]+", r)], roles

    page.locator('.djs-shape[data-element-id="check"]').click(position={"x": 12, "y": 12})
    lane = panel.get_by_label("Жолақ (рөл)")
    lane.select_option("Department head")  # no such lane yet: one is added, named as the reader calls the role
    expect(panel.get_by_label("Жолақ (рөл)")).to_have_value("Department head")
    panel.get_by_label("Жолақ (рөл)").select_option("School accountant")  # into the Kazakh lane, not a new one
    expect(panel.get_by_label("Жолақ (рөл)")).to_have_value("School accountant")

    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Жоба сақталды.")
    db.session.expire_all()
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    root = etree.fromstring(draft.files["kk_lanes.bpmn"].encode())
    lanes = {lane.get("name"): [ref.text for ref in lane.iter("{*}flowNodeRef")] for lane in root.iter("{*}lane")}
    assert set(lanes) == {"Мектеп бухгалтері", "Operator", "Басқарма басшысы"}, lanes
    assert {"fill", "check"} <= set(lanes["Мектеп бухгалтері"])
