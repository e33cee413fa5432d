"""The auditor opens a published model version (walk8, ru): the page told her "Start a draft to change the model" —
which she may not — and, under Problems, "No problems: this draft can be published" about a version already
published. A reader is told the version is immutable; a version that is not a draft being edited is said to have no
problems, not to be publishable."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.extensions import db


def _published() -> ProcessModelVersion:
    return db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")
                              .order_by(ProcessModelVersion.id)).first()


def test_the_auditor_is_not_told_to_start_a_draft_or_that_a_published_version_can_be_published(world, browser):
    version = _published()
    response = browser("auditor").get(f"/modeler/versions/{version.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Published and retired versions are immutable." in page
    assert "Start a draft" not in page
    assert "this draft can be published" not in page and "No problems found in this version." in page


def test_the_process_owner_is_still_shown_the_way_to_a_draft(world, browser):
    """A guard: the owner, who may start a draft, keeps the sentence that says how."""
    page = browser("owner").get(f"/modeler/versions/{_published().id}").get_data(as_text=True)
    assert "Start a draft to change the model." in page
