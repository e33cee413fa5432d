"""A step that nothing follows ends its process there — valid BPMN, run by the engine, relied on by foreign models —
so it is a notice in the editor, not a problem: it never stops publishing, and a deleted end event is seen."""

from __future__ import annotations

from app.engine.publishing import create_draft, publish_draft
from app.engine.specs import implicit_end_notices
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import chain_model, two_step, user_task


def _without_end(pid: str = "trial") -> dict[str, str]:
    """fill → split → review → end, and split → "Archive", which nothing follows (the process keeps its end event)."""
    return chain_model(pid, [("fill", "School accountant", user_task("fill", "Fill in")),
                             ("split", "School accountant", '<bpmn:parallelGateway id="split" />'),
                             ("review", "Department official", user_task("review", "Review"))],
                       extra_nodes='<bpmn:task id="archive" name="Archive" />',
                       extra_flows='<bpmn:sequenceFlow id="f_split_archive" sourceRef="split" targetRef="archive" />')


def test_a_step_nothing_follows_is_a_notice_with_its_element(app_ctx):
    notices = implicit_end_notices(_without_end())
    assert [(n.element_id, n.name, n.filename) for n in notices] == [("archive", "Archive", "trial.bpmn")]
    assert "Nothing follows this step" in notices[0].message and notices[0].line
    assert implicit_end_notices(two_step()) == []


def test_the_editor_lists_it_apart_and_publishing_goes_on(trial_v1, browser):
    owner = browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    saved = owner.post_json(f"/modeler/versions/{draft.id}/save",
                            {"files": {"trial.bpmn": _without_end()["trial.bpmn"]}})
    body = saved.get_json()
    assert saved.status_code == 200 and body["problems"] == []
    ends = [n["element_id"] for n in body["notices"] if "Nothing follows" in n["message"]]
    assert ends == ["archive"]
    # The step and its flow were added without a layout: said too (not drawn in the editor).
    assert {n["element_id"] for n in body["notices"] if "no layout" in n["message"]} <= {"archive", "f_split_archive"}
    page = owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)
    assert 'id="notices-box"' in page and '"notices": [{' in page.replace("&#34;", '"')
    db.session.refresh(draft)
    assert publish_draft(draft, user("owner")).status == "published"
