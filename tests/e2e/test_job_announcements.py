"""In Chromium, in Kazakh and Russian: a screen reader hears a background job end. The progress box is swapped whole
every second and had no live region, so an operator who could not see the bar was never told that an import or a
month's verification had ended, nor how it went. The page keeps one live region (role=status) and the progress
answer puts the status and the counts in it when the job ends."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from app import clock
from app.extensions import db
from app.registry.models import RegistryImport
from app.reports.models import VerificationRun
from tests.helpers import user

pytestmark = pytest.mark.e2e


def _running(job):
    job.status, job.created_at, job.created_by_id = "running", clock.now(), user("operator").id
    db.session.add(job)
    db.session.commit()
    return job.id


def _ended(model, job_id, **counts):
    db.session.expire_all()
    job = db.session.get(model, job_id)
    job.status, job.finished_at = "done", clock.now()
    for name, value in counts.items():
        setattr(job, name, value)
    db.session.commit()


def _page(new_page, language):
    page = new_page("operator", locale="kk-KZ" if language == "kk" else "ru-RU")
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator(f"button[value={language}]").first.click()
    return page


@pytest.mark.parametrize(("language", "said"), [("kk", "3 жолдың 3"), ("ru", "3 из 3")])
def test_the_end_of_an_import_is_announced(new_page, language, said):
    job_id = _running(RegistryImport(kind="nedb", filename="nedb.csv", total_rows=3, processed_rows=1))
    page = _page(new_page, language)
    page.goto(f"/registry/imports/{job_id}")
    region = page.locator("#job-announce")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_text("")
    kept = region.element_handle()
    _ended(RegistryImport, job_id, processed_rows=3, loaded_rows=1, rejected_rows=2)
    expect(region).to_contain_text(said, timeout=10000)
    assert kept.evaluate("el => el.isConnected"), "the live region is the one the page was drawn with"
    assert page.locator("#job-announce").count() == 1


def test_the_end_of_a_months_verification_is_announced(new_page):
    run_id = _running(VerificationRun(period=date(2026, 10, 1), total_acts=2, processed_acts=1))
    page = _page(new_page, "ru")
    page.goto(f"/reports/verification/{run_id}")
    region = page.locator("#job-announce")
    expect(region).to_have_text("")
    kept = region.element_handle()
    _ended(VerificationRun, run_id, processed_acts=2, total_lines=20, excluded_lines=3)
    expect(region).to_contain_text("2 из 2", timeout=10000)
    assert kept.evaluate("el => el.isConnected")
