"""In Chromium, on a phone, in Kazakh: the operator uploads NEDB rows and the database refuses one of them in the
last batch. The import's page says the file could not be imported, that the rows of the batches finished before it
stopped stay loaded, that the open act those rows concern was verified again — and that the row rejected before it
stopped is listed once the file is imported to its end (the count said "1 rejected" and no row was listed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.acts.models import Act
from app.extensions import db
from app.registry import importers
from tests.e2e.test_registry_flow import inprocess_jobs  # noqa: F401 - the fixture
from tests.money.test_import_failed_reverifies import _withdrawal_then_more, refused_iin  # noqa: F401 - the fixture
from tests.money.test_import_reverifies import _verified_bilim

pytestmark = pytest.mark.e2e


def test_a_failed_import_says_what_stayed_loaded_and_which_acts_were_verified_again(
        new_page, inprocess_jobs, refused_iin, monkeypatch, tmp_path):  # noqa: F811
    act = _verified_bilim()
    seen = act.lock_version
    path, pupils = _withdrawal_then_more(act, tmp_path)
    rows = path.read_text(encoding="utf-8").splitlines()
    rows.insert(2, rows[2].replace(pupils[1].iin, pupils[1].iin[:-1] + str((int(pupils[1].iin[-1]) + 1) % 10)))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")  # batch 2: an IIN whose check digit is wrong
    refused_iin(pupils[2].iin)
    monkeypatch.setattr(importers, "BATCH", 1)

    page = new_page("operator", locale="kk-KZ")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/registry")
    page.select_option("#kind", "nedb")
    page.set_input_files("#file", str(path))
    page.click("#import-submit")
    failed = page.locator("#import-failed")
    expect(failed).to_be_visible(timeout=30_000)  # the htmx-polled progress turns into the report
    expect(page.locator("#import-status")).to_contain_text("сәтсіз")
    expect(page.locator("#import-counts")).to_contain_text("4 жолдың 3 өңделді: 2 жүктелді, 1 қабылданбады")
    expect(page.locator("#import-partly-loaded")).to_contain_text("2")
    expect(page.locator("#import-rejected-unlisted")).to_be_visible()
    expect(page.locator("#import-reverified")).to_contain_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing scrolls sideways"
    page.screenshot(path=str(tmp_path / "import-failed.png"), full_page=True)
    db.session.expire_all()
    assert db.session.get(Act, act.id).lock_version != seen, "the act was verified again"
