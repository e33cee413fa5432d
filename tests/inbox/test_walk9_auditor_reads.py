"""The auditor reads everything and changes nothing (walk9): she is offered nothing she cannot do.

She was offered "Migrate instances here" on a model's page (the page behind is read-only for her), and landed after
login on an empty inbox — the task tabs and the whole filter form — though no process gives her a task. Her landing
now says what she can read (acts, reports, audit), and the model page offers the migration to process owners only."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.extensions import db


def test_the_auditor_lands_on_what_she_can_read_not_an_empty_task_filter(world, browser):
    auditor = browser("auditor")
    for url in ("/inbox", "/inbox?view=group", "/login"):
        response = auditor.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert 'id="reader-landing"' in page, url
        assert 'id="filter-form"' not in page and 'id="inbox-views"' not in page, url
        assert 'id="inbox-count"' not in page, "no task count in her menu"
    landing = page.split('id="reader-landing"', 1)[1]
    links = set(re.findall(r'href="([^"]+)"', landing.split("</main>")[0]))
    assert {"/acts", "/contracts", "/reports/reconciliation", "/reports/discrepancies", "/admin/audit",
            "/instances", "/admin/"} <= links
    for link in sorted(links):
        assert auditor.get(link).status_code == 200, link


def test_others_keep_their_inbox(world, browser):
    """Guard: an official's inbox keeps its tabs and filters."""
    page = browser("official").get("/inbox").get_data(as_text=True)
    assert 'id="filter-form"' in page and 'id="reader-landing"' not in page


def test_the_model_page_offers_the_migration_to_the_process_owner_only(world, browser):
    version = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")
                                 .order_by(ProcessModelVersion.id)).first()
    migrate = f'href="/modeler/versions/{version.id}/migrate"'
    auditor = browser("auditor").get(f"/modeler/models/{version.process_model_id}")
    assert auditor.status_code == 200 and migrate not in auditor.get_data(as_text=True)
    owner = browser("owner").get(f"/modeler/models/{version.process_model_id}")
    assert owner.status_code == 200 and migrate in owner.get_data(as_text=True)
