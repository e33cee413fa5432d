"""In Chromium: the operator imports NEDB rows, watches the import finish and reads the rejected rows,
runs the month's verification in the background, and reads discrepancies by region and rule; the
department official filters the act's report by rule and downloads the CSV."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import school
from tests.registry.conftest import bad_iin, iin

pytestmark = pytest.mark.e2e


@pytest.fixture()
def inprocess_jobs(app):
    """Background jobs in a thread of the web process, as in the embedded mode."""
    saved = app.config["BACKGROUND_MODE"]
    app.config["BACKGROUND_MODE"] = "inprocess"
    yield
    app.config["BACKGROUND_MODE"] = saved


def test_operator_imports_verifies_month_and_reads_discrepancies(new_page, inprocess_jobs, tmp_path):
    bin_ = school("Bilim Innovation School").bin
    csv_file = tmp_path / "nedb-update.csv"
    csv_file.write_text(
        "iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n"
        f"{iin(1)},Жаңа Оқушы,{bin_},private,3,2026-09-01,\n"
        f"{bad_iin(2)},Қате ЖСН,{bin_},private,3,2026-09-01,\n"
        f"{iin(3)},Күні жоқ,{bin_},private,3,,\n", encoding="utf-8")

    page = new_page("operator")
    page.click("#nav-registries")
    page.select_option("#kind", "nedb")
    page.set_input_files("#file", str(csv_file))
    page.click("#import-submit")
    page.wait_for_selector("#import-errors")  # the htmx-polled progress turns into the report
    assert "100%" in page.inner_text("#import-progress")
    rows = page.inner_text("#import-errors")
    assert "3" in rows and "not a valid IIN" in rows and "required value is missing" in rows
    assert "3 of 3 rows processed: 1 loaded, 2 rejected." in page.inner_text("#import-counts")
    shots = Path(os.environ.get("E2E_SCREENSHOTS", tmp_path))  # set to keep the screenshots
    page.screenshot(path=str(shots / "registry-import.png"), full_page=True)

    page.click("text=Registries")
    page.click("#to-verify-month")
    page.select_option("#period", "2026-10")
    page.click("#run-submit")
    page.wait_for_selector("#to-discrepancies")
    assert "1 of 1 acts verified" in page.inner_text("#run-counts")
    page.click("#to-discrepancies")
    table = page.inner_text("#discrepancies-table")
    assert "Almaty" in table and "Withdrawn" in table and "Registered at another school" in table
    assert int(page.inner_text("#total-excluded")) > 0
    page.screenshot(path=str(shots / "discrepancies.png"), full_page=True)


def test_official_filters_act_report_by_rule_and_exports(new_page, tmp_path):
    page = new_page("official_almaty")
    page.click("text=Acts")
    page.click("text=ACT-")
    page.wait_for_selector("#report-by-rule")
    page.screenshot(path=str(Path(os.environ.get("E2E_SCREENSHOTS", tmp_path)) / "act-report.png"), full_page=True)
    page.click("#report-by-rule tr[data-rule='withdrawn'] a")
    lines = page.inner_text("#lines-table")
    assert lines.count("Withdrawn") == 3 and "Duplicate" not in lines
    with page.expect_download() as download:
        page.click("#export-filtered-csv")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith('"Line","IIN"') and len(text.splitlines()) == 4
