"""The version diff tells a file whose process changed from one only laid out or written differently: a plain save
in the editor re-serialises the diagram, and the diff listed it among the files that differ beside "0 changed
elements" — the owner could not tell whether the process had changed."""

from __future__ import annotations

import json
import re

from app.engine.publishing import publish_version
from app.extensions import db
from app.modeler.file_changes import file_changes
from tests.modeler.factory import chain_model, user_task


def _trial() -> dict[str, str]:
    return chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill in"))])


def _reformatted(xml: str) -> str:
    """As an editor writes the same diagram: another prefix for BPMN's namespace, attributes reordered, a comment,
    other indentation."""
    xml = xml.replace("bpmn:", "semantic:").replace("xmlns:bpmn=", "xmlns:semantic=")
    xml = re.sub(r'<semantic:userTask id="fill" name="Fill in"', '<semantic:userTask name="Fill in" id="fill"', xml)
    xml = xml.replace("><", ">\n  <")
    return xml.replace("<semantic:process ", "<!-- saved by an editor -->\n<semantic:process ", 1)


def test_each_changed_file_says_what_changed(app_ctx):
    old = _trial()
    bpmn = old["trial.bpmn"]
    moved = re.sub(r'(<dc:Bounds x=")(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 40), bpmn, count=1)
    renamed = bpmn.replace('name="Fill in"', 'name="Fill in the act"')
    form = next(name for name in old if name.endswith(".json"))
    respaced = json.dumps(json.loads(old[form]), indent=4)

    def kinds(**changed):
        return dict(file_changes(old, {**old, **changed}))

    assert kinds(**{"trial.bpmn": _reformatted(bpmn)}) == {"trial.bpmn": "formatting"}
    assert kinds(**{"trial.bpmn": moved}) == {"trial.bpmn": "layout"}
    assert kinds(**{"trial.bpmn": renamed}) == {"trial.bpmn": "content"}
    assert kinds(**{form: respaced}) == {form: "formatting"}
    assert kinds(**{form: json.dumps({"type": "object"})}) == {form: "content"}
    assert kinds(**{"trial.bpmn": "<not xml"}) == {"trial.bpmn": "content"}
    assert file_changes(old, {**old, "extra.json": "{}"}) == [("extra.json", "added")]
    assert file_changes(old, {k: v for k, v in old.items() if k != form}) == [(form, "removed")]


def test_the_diff_page_says_a_version_only_moved_shapes(world, browser):
    first, _ = publish_version(_trial())
    files = _trial()
    files["trial.bpmn"] = re.sub(r'(<dc:Bounds x=")(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 40),
                                 files["trial.bpmn"], count=1)
    second, _ = publish_version(files)
    db.session.commit()
    page = browser("owner").get(f"/modeler/models/{first.process_model_id}/diff?old={first.id}&new={second.id}")
    assert page.status_code == 200
    assert 'data-kind="layout"' in page.get_data(as_text=True)
