"""Decision tables are edited in the browser (dmn-js) and saved with the draft; the side panel offers the
decisions of the model for a business rule task."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.e2e.editor import open_new_draft, set_norm_and_save
from tests.modeler.factory import NORM_DMN, NORM_RULE_TASK, chain_model, user_task

pytestmark = pytest.mark.e2e

DMN, RULE_TASK = NORM_DMN, NORM_RULE_TASK


def _draft_in_the_editor(new_page, process_id: str, dmn: str):
    """A published model with a business rule task and ``dmn`` as norms.dmn; the owner's new draft in the editor."""
    files = chain_model(process_id, [("decide", "School accountant", RULE_TASK),
                                     ("fill", "School accountant", user_task("fill", "Fill in"))])
    files["norms.dmn"] = dmn
    version, _ = publish_version(files)
    db.session.commit()
    return open_new_draft(new_page, version.process_model_id), version


def test_owner_edits_a_decision_table(new_page):
    page, version = _draft_in_the_editor(new_page, "dmn_trial", DMN)

    page.locator('.djs-shape[data-element-id="decide"]').click(position={"x": 12, "y": 12})
    expect(page.locator("#panel").get_by_label("Called decision")).to_have_value("norm")

    set_norm_and_save(page, "250")
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
