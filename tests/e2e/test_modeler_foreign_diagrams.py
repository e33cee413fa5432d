"""Diagrams bpmn-js cannot draw, in the editor (issue of a tester, all reproduced):

* a model without layout (no BPMN DI, as IBM BlueWorks Live exports): the problems badge said "2" but the list was
  empty, "Save draft" did nothing and the decision table tabs did not open — all of it waited for the diagram;
* a model with Kazakh ids (valid XML, the engine runs it): bpmn-js refuses the ids, and the editor, the instance
  page and the diff said "no layout" (false) or a raw "Error: no diagram to display".
"""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine import runtime
from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.e2e.editor import open_new_draft, set_norm_and_save
from tests.helpers import user
from tests.modeler.factory import NORM_DMN, NORM_RULE_TASK, chain_model, two_step, user_task

pytestmark = pytest.mark.e2e

NO_LAYOUT = "This diagram has no layout (no BPMN DI)"
CANNOT_OPEN = "This diagram cannot be drawn here; the stored model is kept as it is and still runs. Reason:"

DMN, RULE_TASK = NORM_DMN, NORM_RULE_TASK


def _draft(pid: str):
    db.session.expire_all()
    return db.session.scalars(select(ProcessModelVersion).join(ProcessModel).where(
        ProcessModel.identifier == pid, ProcessModelVersion.status == "draft")).one()


def test_a_model_without_layout_lists_its_problems_saves_and_opens_its_decision_tables(new_page, tmp_path):
    # A problem the owner must see: a decision no table of the model defines.
    files = chain_model("nodi_norms", [
        ("decide", "School accountant", RULE_TASK),
        ("fill", "School accountant", user_task("fill", "Fill in", form=None, ui=None)),
        ("decide2", "School accountant", RULE_TASK.replace('"decide"', '"decide2"').replace(">norm<", ">nowhere<")),
    ])
    bpmn = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", files["nodi_norms.bpmn"], flags=re.S)
    assert "BPMNShape" not in bpmn
    archive = tmp_path / "nodi_norms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("nodi_norms/nodi_norms.bpmn", bpmn)
        zf.writestr("nodi_norms/norms.dmn", DMN)

    page = new_page("owner")
    page.click("#nav-modeler")
    page.set_input_files("#archive", str(archive))
    page.click("#import-model")
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "error")
    expect(page.locator("#canvas")).to_contain_text(NO_LAYOUT)

    count = int(page.locator("#problem-count").inner_text())
    assert count > 0
    expect(page.locator("#problems li")).to_have_count(count)
    expect(page.locator("#problems")).to_contain_text("'nowhere' is not in any .dmn file")
    expect(page.locator("#publish")).to_be_disabled()

    set_norm_and_save(page, "250")
    expect(page.locator("#problems li")).to_have_count(count)

    draft = _draft("nodi_norms")
    assert "<text>250</text>" in draft.files["norms.dmn"]
    assert draft.files["nodi_norms.bpmn"] == bpmn, "the diagram bpmn-js could not open is kept as it is"

    page.get_by_role("button", name="nodi_norms.bpmn").click()
    expect(page.locator("#canvas")).to_be_visible()
    expect(page.locator("#canvas")).to_contain_text(NO_LAYOUT)


def _kazakh(files: dict[str, str], pid: str) -> dict[str, str]:
    """The same model with Kazakh ids for its definitions and steps (flows keep theirs)."""
    bpmn = files[f"{pid}.bpmn"].replace(f'id="defs_{pid}"', 'id="Анықтама"')
    for old, new in (("start", "Бастау"), ("fill", "Толтыру"), ("review", "Тексеру"), ("end", "Соңы")):
        for pattern in ('id="{}"', 'sourceRef="{}"', 'targetRef="{}"', 'bpmnElement="{}"', ">{}<"):
            bpmn = bpmn.replace(pattern.format(old), pattern.format(new))
    assert 'id="Бастау"' in bpmn and ">Толтыру<" in bpmn
    return {**files, f"{pid}.bpmn": bpmn}


def test_a_model_with_kazakh_ids_shows_why_it_cannot_be_drawn(new_page, tmp_path):
    pid = "kk_ids"
    files = _kazakh(two_step(pid), pid)
    old, _ = publish_version(files)
    db.session.commit()
    instance = runtime.start_instance(pid, title="Kazakh ids", actor=user("owner"))
    db.session.commit()
    newer = dict(files)
    newer[f"{pid}.bpmn"] = newer[f"{pid}.bpmn"].replace('name="Review"', 'name="Review twice"')
    new, _ = publish_version(newer)
    db.session.commit()

    page = open_new_draft(new_page, old.process_model_id, ready="error")
    canvas = page.locator("#canvas")
    expect(canvas).to_contain_text(CANNOT_OPEN)
    expect(canvas).to_contain_text("illegal ID <Анықтама>")
    expect(canvas).not_to_contain_text(NO_LAYOUT)
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    assert _draft(pid).files[f"{pid}.bpmn"] == newer[f"{pid}.bpmn"], "the stored diagram is kept as it is"

    page.goto(f"/modeler/models/{old.process_model_id}/diff?old={old.id}&new={new.id}")
    for box in ("#diagram-old", "#diagram-new"):
        expect(page.locator(box)).to_have_attribute("data-rendered", "error")
        expect(page.locator(box)).to_contain_text(CANNOT_OPEN)
        expect(page.locator(box)).to_contain_text("illegal ID <Анықтама>")

    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_have_attribute("data-rendered", "error")
    expect(page.locator("#diagram")).to_contain_text("illegal ID <Анықтама>")
    expect(page.locator("#diagram")).not_to_contain_text(NO_LAYOUT)


def test_an_element_with_a_kazakh_id_is_not_dropped_by_saving(new_page):
    """With ASCII definitions, bpmn-js draws the diagram without the steps whose ids it refuses (a warning only):
    saving that would delete them."""
    pid = "kk_steps"
    files = _kazakh(two_step(pid), pid)
    files[f"{pid}.bpmn"] = files[f"{pid}.bpmn"].replace('id="Анықтама"', f'id="defs_{pid}"')
    version, _ = publish_version(files)
    db.session.commit()

    page = open_new_draft(new_page, version.process_model_id, ready="error")
    expect(page.locator("#canvas")).to_contain_text(CANNOT_OPEN)
    expect(page.locator("#canvas")).to_contain_text("illegal ID <")
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    assert _draft(pid).files[f"{pid}.bpmn"] == files[f"{pid}.bpmn"]


def test_the_import_picker_offers_decision_tables(new_page):
    page = new_page("owner")
    page.click("#nav-modeler")
    assert ".dmn" in page.locator("#archive").get_attribute("accept").split(",")
