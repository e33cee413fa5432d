"""A name the process's data cannot have is refused at publishing, where it is written, with a plain reason — not met
when the process runs (a form field named ``applicant.age`` was published, then its task could never be completed:
the page's field ``applicant.age`` read as the field ``age`` inside ``applicant``, "Unexpected field", and a gateway
testing ``applicant.age`` read a name no step sets)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.engine.errors import ModelInvalid
from app.engine.models import ProcessModelVersion
from app.engine.publishing import create_draft, publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import NORM_DMN, NORM_RULE_TASK, chain_model, two_step


def _form(name: str, in_table: bool = False) -> str:
    field = {name: {"type": "integer", "title": "Age"}}
    if in_table:
        field = {"lines": {"type": "array", "items": {"type": "object", "properties": field}}}
    return json.dumps({"type": "object", "properties": {"comment": {"type": "string"}, **field}}, indent=2,
                      ensure_ascii=False)


def _config(page: str) -> dict:
    return json.loads(re.search(r'id="modeler-config">(.*?)</script>', page, re.S).group(1))


def test_a_dotted_form_field_is_refused_at_publishing_with_its_file_and_line(trial_v1, browser):
    owner = browser("owner")
    owner.get(f"/modeler/models/{trial_v1.process_model_id}")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    saved = owner.post_json(f"/modeler/versions/{draft.id}/save",
                            {"files": {"fill.schema.json": _form("applicant.age")}, "base": draft.content_hash})
    assert saved.status_code == 200

    refused = owner.post(f"/modeler/versions/{draft.id}/publish")
    assert refused.headers["Location"].endswith(f"/modeler/versions/{draft.id}")
    assert db.session.get(ProcessModelVersion, draft.id).status == "draft"
    page = owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)
    assert "1 problem and cannot be published" in page
    problems = [p for p in _config(page)["problems"] if "applicant.age" in p["message"]]
    assert len(problems) == 1, _config(page)["problems"]
    problem = problems[0]
    assert problem["filename"] == "fill.schema.json" and problem["line"] == 7
    assert "has a name the process cannot use for its data" in problem["message"]
    assert "only Latin letters, digits and _" in problem["message"]
    assert "e.g. applicant_age" in problem["message"]
    # said the same way without scripts, in the page itself
    assert "fill.schema.json:7" in page


@pytest.mark.parametrize(("name", "in_table", "better"), [
    ("applicant.age", False, "applicant_age"),
    ("applicant.age", True, "applicant_age"),
    ("age of child", False, "age_of_child"),
    ("child-age", False, "child_age"),
    ("1st_grade", False, "field_1st_grade"),
    ("class", False, "class_"),
    ("None", True, "None_"),
    ("_age", False, "age"),
    ("жасы", False, None),
    ("csrf_token", False, "csrf_token_"),
])
def test_every_name_that_is_not_one_data_name_is_refused(app_ctx, name, in_table, better):
    files = two_step("names")
    files["fill.schema.json"] = _form(name, in_table)
    with pytest.raises(ModelInvalid) as refused:
        publish_version(files)
    where = f"lines/{name}" if in_table else name
    found = [p for p in refused.value.problems if json.dumps(where, ensure_ascii=False) in p.message]
    assert len(found) == 1, [str(p) for p in refused.value.problems]
    assert found[0].filename == "fill.schema.json" and found[0].line
    assert (f"e.g. {better}." in found[0].message) if better else "e.g." not in found[0].message


def test_the_form_editor_says_it_before_the_form_is_saved(trial_v1, browser):
    html = browser("owner").post("/modeler/forms/preview", {"schema": _form("applicant.age"), "uischema": "{}"})
    assert "has a name the process cannot use for its data" in html.get_data(as_text=True)


def _with_data_object(object_id: str) -> dict[str, str]:
    task = ('<bpmn:scriptTask id="calc" name="Calc"><bpmn:dataOutputAssociation id="out"><bpmn:targetRef>ref'
            f'</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>{object_id.replace(".", "_")} = 1'
            '</bpmn:script></bpmn:scriptTask>')
    extra = (f'<bpmn:dataObject id="{object_id}" /><bpmn:dataObjectReference id="ref" name="Applicant" '
             f'dataObjectRef="{object_id}" />')
    return chain_model("objects", [("calc", "School accountant", task)], extra_nodes=extra)


def test_a_data_object_a_step_writes_needs_an_id_the_data_can_have(app_ctx):
    with pytest.raises(ModelInvalid) as refused:
        publish_version(_with_data_object("applicant.age"))
    found = [p for p in refused.value.problems if "data object's id" in p.message]
    assert len(found) == 1 and '"applicant.age"' in found[0].message and found[0].line
    assert found[0].filename == "objects.bpmn" and found[0].element_id == "applicant.age"


def test_a_result_variable_and_a_decision_output_need_a_name_the_data_can_have(app_ctx):
    service = ('<bpmn:serviceTask id="svc" name="Verify"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator '
               'id="acts/verify" resultVariable="check.result"><spiffworkflow:parameters>'
               '<spiffworkflow:parameter id="act_id" type="int" value="1" /></spiffworkflow:parameters>'
               '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>')
    files = chain_model("outputs", [("svc", "School accountant", service), ("decide", "School accountant",
                                                                            NORM_RULE_TASK)])
    files["norm.dmn"] = NORM_DMN.replace('name="norm"', 'name="monthly-norm"')
    with pytest.raises(ModelInvalid) as refused:
        publish_version(files)
    messages = {p.element_id: p.message for p in refused.value.problems if "cannot use for its data" in p.message}
    assert '"check.result"' in messages["svc"] and "e.g. check_result" in messages["svc"]
    assert '"monthly-norm"' in messages["out_norm"]


def test_names_the_data_can_have_still_publish(world):
    """A dotted decision output is a key inside another (SpiffWorkflow nests it); a data object used by no step is
    never a key; Latin names with digits and _ are what every shipped model uses."""
    files = two_step("fine")
    files["fill.schema.json"] = _form("age_2", in_table=True)
    publish_version(files)
    files = chain_model("nested", [("decide", "School accountant", NORM_RULE_TASK)])
    files["norm.dmn"] = NORM_DMN.replace('name="norm"', 'name="norms.primary"')
    files["nested.bpmn"] = files["nested.bpmn"].replace(
        '<bpmn:startEvent id="start" />', '<bpmn:startEvent id="start" /><bpmn:dataObject id="drawn-only" />')
    publish_version(files)
    db.session.commit()
    assert db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")).all()
