"""A step whose form cannot give its handler the data it needs is refused at publishing in words a process owner
reads — the field's label, in its table, in the reader's language — and no longer as the data's path
(``lines.*.grade (integer)``), which stays with the problem as a smaller detail for the expert."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.publishing import create_draft
from app.extensions import db
from tests.helpers import user


def _config(page: str) -> dict:
    return json.loads(re.search(r'id="modeler-config">(.*?)</script>', page, re.S).group(1))


def _draft_with_a_loosened_act_form():
    """The monthly act's draft whose form asks the grade as text and no longer asks the days attended."""
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    published = next(v for v in model.versions if v.status == "published")
    draft = create_draft(model, user("owner"), from_version=published)
    db.session.commit()
    form = json.loads(draft.files["submit-act.schema.json"])
    line = form["properties"]["lines"]["items"]
    line["properties"]["grade"]["type"] = "string"
    del line["properties"]["days_attended"]
    line["required"].remove("days_attended")
    ui = json.loads(draft.files["submit-act.uischema.json"])
    del ui["lines"]["items"]["days_attended"]
    return draft, {"submit-act.schema.json": json.dumps(form, ensure_ascii=False, indent=2),
                   "submit-act.uischema.json": json.dumps(ui, ensure_ascii=False, indent=2)}


def _gaps(page: str) -> dict[str, dict]:
    return {p["detail"]: p for p in _config(page)["problems"] if p["detail"]}


def test_publishing_names_the_missing_field_by_its_label_in_its_table(world, browser):
    draft, files = _draft_with_a_loosened_act_form()
    owner = browser("owner")
    owner.get(f"/modeler/versions/{draft.id}")
    assert owner.post_json(f"/modeler/versions/{draft.id}/save",
                           {"files": files, "base": draft.content_hash}).status_code == 200

    refused = owner.post(f"/modeler/versions/{draft.id}/publish")
    assert refused.headers["Location"].endswith(f"/modeler/versions/{draft.id}")
    assert db.session.get(ProcessModelVersion, draft.id).status == "draft"
    page = owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)
    gaps = _gaps(page)
    assert set(gaps) == {"lines.*.grade (integer)", "lines.*.days_attended (integer)"}, _config(page)["problems"]
    grade = gaps["lines.*.grade (integer)"]["message"]
    assert "the field «Grade» of each row of «Students»" in grade and "as a whole number" in grade
    assert "lines.*" not in grade and "(integer)" not in grade
    # a field the form no longer has is named by its key: nothing else names it
    assert "the field «days_attended» of each row of «Students»" in gaps["lines.*.days_attended (integer)"]["message"]
    assert all(gap["filename"] == "monthly_act.bpmn" and gap["line"] for gap in gaps.values())
    # the path stays for the expert, smaller, in the page itself too
    assert '<small class="d-block text-muted font-monospace problem-detail">lines.*.grade (integer)</small>' in page


def test_the_fields_labels_are_the_readers_language(world, browser):
    draft, files = _draft_with_a_loosened_act_form()
    owner = browser("owner")
    owner.post("/locale", {"locale": "ru", "next": "/"})
    owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": files, "base": draft.content_hash})
    page = owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)
    grade = _gaps(page)["lines.*.grade (integer)"]["message"]
    assert "«Класс»" in grade and "«Обучающиеся»" in grade
