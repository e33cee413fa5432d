"""The migration page names an instance's steps in the reader's language (users probe: a Russian process owner's
dry run listed "Pay act", "Accept act, Acceptance overdue", "Submit monthly act" among Russian words)."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db


def test_the_dry_run_names_the_active_steps_in_russian(world, browser):
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    v1 = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.process_model_id == model.id)).one()
    files = dict(v1.files)
    files["monthly_act.bpmn"] = files["monthly_act.bpmn"].replace('name="Monthly act"', 'name="Monthly act (v2)"', 1)
    v2, _ = publish_version(files)
    db.session.commit()
    owner = browser("owner")
    owner.post("/locale", {"locale": "ru", "next": "/"})
    page = owner.get(f"/modeler/versions/{v2.id}/migrate").get_data(as_text=True)
    assert "Подать ежемесячный акт" in page
    assert "Submit monthly act" not in page
