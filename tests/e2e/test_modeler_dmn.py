"""Decision tables are edited in the browser (dmn-js) and saved with the draft; the side panel offers the
decisions of the model for a business rule task."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import chain_model, user_task

pytestmark = pytest.mark.e2e

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms"
             namespace="http://tapsyrys.kz/dmn">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="UNIQUE">
      <input id="in_level" label="Level">
        <inputExpression id="ie_level" typeRef="string"><text>level</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      <rule id="r1">
        <inputEntry id="r1_in"><text>"primary"</text></inputEntry>
        <outputEntry id="r1_out"><text>100</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

RULE_TASK = ('<bpmn:businessRuleTask id="decide" name="Find the norm"><bpmn:extensionElements>'
             '<spiffworkflow:calledDecisionId>norm</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
             '</bpmn:businessRuleTask>')


def _draft_in_the_editor(new_page, process_id: str, dmn: str):
    """A published model with a business rule task and ``dmn`` as norms.dmn; the owner's new draft in the editor."""
    files = chain_model(process_id, [("decide", "School accountant", RULE_TASK),
                                     ("fill", "School accountant", user_task("fill", "Fill in"))])
    files["norms.dmn"] = dmn
    version, _ = publish_version(files)
    db.session.commit()
    page = new_page("owner")
    page.goto(f"/modeler/models/{version.process_model_id}")
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    return page, version


def test_owner_edits_a_decision_table(new_page):
    page, version = _draft_in_the_editor(new_page, "dmn_trial", DMN)

    page.locator('.djs-shape[data-element-id="decide"]').click(position={"x": 12, "y": 12})
    expect(page.locator("#panel").get_by_label("Called decision")).to_have_value("norm")

    page.get_by_role("button", name="norms.dmn").click()
    cell = page.locator('#dmn-canvas [data-element-id="r1_out"]')
    expect(cell).to_contain_text("100")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("250")
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    expect(page.locator("#problem-count")).to_have_text("0")
    db.session.expire_all()
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert "<text>250</text>" in draft.files["norms.dmn"]
    assert "<text>100</text>" in version.files["norms.dmn"], "the published version is untouched"


def test_a_decision_table_the_editor_cannot_open_is_kept_and_saving_goes_on(new_page):
    """A tester opened a DMN 1.1 table (which the engine runs): dmn-js refused it, and from then on every save of
    the model failed ("no definitions loaded") until the page was reloaded."""
    old_dmn = DMN.replace("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
    page, _version = _draft_in_the_editor(new_page, "dmn_old", old_dmn)

    page.get_by_role("button", name="norms.dmn").click()
    expect(page.locator("#dmn-notice")).to_contain_text("cannot open this decision table")
    page.get_by_role("button", name="dmn_old.bpmn").click()
    expect(page.locator("#dmn-notice")).to_be_hidden()
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    db.session.expire_all()
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert draft.files["norms.dmn"] == old_dmn, "the table is kept as it was"
