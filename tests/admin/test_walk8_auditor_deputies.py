"""The auditor's inbox showed a "Deputies" button (walk8, ru). With a second auditor in the ministry the page offered
the deputy form, and saving it answered 403 (auditors may not POST): a button shown that then refuses. An auditor has
no task for a deputy to do: the inbox shows no such button, and the page says why instead of the form."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.people.models import User
from app.people.substitutions import Substitution
from tests.helpers import user


def test_an_auditor_is_offered_no_deputy_form_that_would_refuse(world, browser):
    first = user("auditor")
    colleague = User(username="auditor2", full_name="Айгерім Нұрланова", role=first.role,
                     organisation_id=first.organisation_id)
    colleague.set_password("pw")
    db.session.add(colleague)
    db.session.commit()
    auditor = browser("auditor")
    assert 'id="inbox-deputies"' not in auditor.get("/inbox").get_data(as_text=True)
    page = auditor.get("/substitutions").get_data(as_text=True)
    assert 'id="substitution-form"' not in page and 'id="auditor-no-deputy"' in page
    assert auditor.post("/substitutions", {"deputy_id": str(colleague.id), "starts_on": "2026-12-10",
                                           "ends_on": "2026-12-20"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Substitution)) == 0


def test_an_official_keeps_the_deputies_button(world, browser):
    """A guard: the roles with tasks still find their deputies from the inbox."""
    assert 'id="inbox-deputies"' in browser("official").get("/inbox").get_data(as_text=True)
