"""The cockpit's list names each instance's process as the model is named, in the user's language — not by the
BPMN identifier a tester found there ("monthly_act", "dorm_monthly_act", "state_order")."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.engine.models import ProcessModel
from app.extensions import db


def test_the_instance_list_shows_process_names_not_identifiers(world, browser):
    operator = browser("operator")
    operator.post("/locale", {"locale": "ru", "next": "/"})
    page = operator.get("/instances").get_data(as_text=True)
    cells = re.findall(r'<td class="small" title="([a-z_]+)">([^<]*)</td>', page)
    assert cells, "the list has process cells"
    names = {m.identifier: m.name for m in db.session.scalars(select(ProcessModel))}
    for identifier, shown in cells:
        assert identifier in names
        assert shown.strip() != identifier, f"{identifier} shown by its identifier"
