"""In a real browser: a diagram whose definitions say its expressions are FEEL (Camunda 8, Trisotech) is refused on
each expression without a language of its own; writing the expression again in the side panel marks it Python
(language="python", as the script panel marks a script), so the owner can clear the problem where it is shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.publishing import publish_version, save_draft
from app.extensions import db
from tests.e2e.editor import open_new_draft
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task

pytestmark = pytest.mark.e2e

WAIT = ('<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"'
        '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def _draft(version_id: int) -> ProcessModelVersion:
    db.session.expire_all()
    return db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.process_model_id == version_id,
                                                                ProcessModelVersion.status == "draft")).one()


def test_a_timer_written_in_the_side_panel_is_python_in_a_feel_diagram(new_page):
    files = chain_model("feel_timer", [("fill", "School accountant", user_task("fill", "Fill in")),
                                       ("wait", "School accountant", WAIT)])
    version, _ = publish_version(files)
    db.session.commit()
    page = open_new_draft(new_page, version.process_model_id)
    draft = _draft(version.process_model_id)
    feel = {**draft.files, "feel_timer.bpmn": draft.files["feel_timer.bpmn"].replace(
        'id="defs_feel_timer"', 'id="defs_feel_timer" expressionLanguage="http://www.omg.org/spec/FEEL/20140401"')}
    assert [p.element_id for p in save_draft(draft, feel, user("owner"))] == ["wait"]
    db.session.commit()

    page.reload()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    expect(page.locator("#problems")).to_contain_text("expressionLanguage")
    page.locator('.djs-shape[data-element-id="wait"]').click(position={"x": 50, "y": 15})
    expression = page.locator("#panel").get_by_label('Timer expression (Python, e.g. "P5D")')
    expect(expression).to_have_value('"P5D"')
    expression.fill('"P3D"')
    expression.press("Tab")
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    expect(page.locator("#problem-count")).to_have_text("0")
    stored = _draft(version.process_model_id).files["feel_timer.bpmn"]
    assert 'language="python"' in stored and "P3D" in stored
