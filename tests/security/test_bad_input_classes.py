"""Issue 13 §4: bad input never reaches the database as a 500.

Each class is answered in one place (app/security.py, app/errors.py); the route-wide tests collect
every rule from ``app.url_map`` so a new page is covered the day it is added.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from app.security import MAX_DB_INT, clean_filename, spreadsheet_cell

SKIP_ENDPOINTS = {"static", "vendor.asset"}
HUGE_IDS = [MAX_DB_INT + 1, 2**63, 10**30]


def _rules(app, method: str, with_int: bool):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP_ENDPOINTS or method not in rule.methods:
            continue
        ints = [name for name, conv in rule._converters.items() if conv.__class__.__name__.endswith("IntConverter")]
        if bool(ints) == with_int:
            yield rule


def _url(rule, int_value) -> str:
    parts = []
    for is_arg, text in rule._trace:
        if not is_arg:
            parts.append(text)
            continue
        converter = rule._converters[text]
        name = converter.__class__.__name__
        if name.endswith("IntConverter"):
            parts.append(str(int_value))
        elif name == "AnyConverter":
            parts.append(sorted(converter.items)[0] if hasattr(converter, "items") else "csv")
        else:
            parts.append("x")
    return "".join(parts).split("|", 1)[-1]


def test_ids_beyond_the_integer_range_are_404_on_every_route(world, browser):
    admin, auditor = browser("admin"), browser("auditor")
    checked = 0
    for method in ("GET", "POST"):
        for rule in _rules(admin.app, method, with_int=True):
            for value in HUGE_IDS:
                url = _url(rule, value)
                who = admin if checked % 2 else auditor
                response = who.get(url) if method == "GET" else who.post(url, {})
                assert response.status_code == 404, (method, url, response.status_code)
                checked += 1
    assert checked > 60, "the crawl found the id routes"


def test_the_largest_integer_id_is_an_ordinary_404(world, browser):
    admin = browser("admin")
    for rule in _rules(admin.app, "GET", with_int=True):
        url = _url(rule, MAX_DB_INT)
        assert admin.get(url).status_code == 404, url


def test_out_of_range_ids_in_query_strings(world, browser):
    official = browser("official")
    for url in ("/inbox?filter=2147483648", "/inbox?page=99999999999999999999999",
                "/modeler/models/1/diff?old=9223372036854775808&new=1", f"/inbox?page={'9' * 5000}"):
        assert official.get(url).status_code == 404, url


def test_control_characters_in_the_query_string_of_every_page_are_400(world, browser):
    accountant = browser("accountant")
    for rule in _rules(accountant.app, "GET", with_int=False):
        if "<" in rule.rule and "path" not in str(rule._converters):
            continue
        url = _url(rule, 1)
        response = accountant.get(url, query_string={"q": "a\x00b"})
        assert response.status_code == 400, url
        assert "control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85"])
def test_control_characters_in_a_form_field_are_400(world, browser, char):
    accountant = browser("accountant")
    response = accountant.post("/tasks/1/comments", {"body": f"hello{char}world"})
    assert response.status_code == 400 and "control characters" in response.get_data(as_text=True)


def test_a_lone_surrogate_is_refused_like_a_control_character_in_json_and_forms(world, browser):
    """A JSON "\\ud800" decodes to a lone UTF-16 surrogate no text can be stored with: completing a task through
    the API and editing an instance's variable in the cockpit were 500s at the first UTF-8 encode."""
    official = browser("official")
    raw = '{"data": {"decision": "return", "comment": "bad \\ud800 surrogate"}}'
    response = official._request("post", "/api/v1/tasks/1/complete", data=raw, content_type="application/json",
                                 headers={"X-CSRFToken": official.csrf or ""})
    assert response.status_code == 400
    assert response.get_json()["status"] == "Bad Request" and "broken characters" in response.get_json()["message"]
    admin = browser("admin")
    refused = admin.post("/instances/1/variables", {"name": "x", "value": '"\\ud800"', "reason": "probe",
                                                    "confirm": "yes"}, follow_redirects=True)
    assert refused.status_code == 200 and "broken character" in refused.get_data(as_text=True)
    assert "The variable was changed." not in refused.get_data(as_text=True)


def test_nul_in_login_without_a_session_is_400_with_a_message(app_ctx, app):
    client = app.test_client()
    response = client.post("/login", data={"username": "adm\x00in", "password": "x"},
                           headers={"Accept-Language": "ru"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert client.get("/login?next=%00").status_code == 400
    assert client.get("/modeler/versions/1/files/a%00.bpmn").status_code == 400


def test_control_characters_in_a_file_name_are_400(world, browser):
    accountant = browser("accountant")
    response = accountant.post("/tasks/1/attachments", {"file": (io.BytesIO(b"%PDF-1.4"), "a\x00.pdf")},
                               content_type="multipart/form-data")
    assert response.status_code == 400


def test_json_bodies_are_walked(world, browser):
    owner = browser("owner")
    url = "/modeler/versions/1/save"
    response = owner.post_json(url, {"files": {"a.bpmn": "<x>\x00</x>"}})
    assert response.status_code == 400 and "control characters" in response.get_json()["message"]
    response = owner.post_json(url, {"files": {}, "nested": [{"deep": {"k\x07": 1}}]})
    assert response.status_code == 400
    response = owner.post_json(url, {"files": {}, "amount": 10**25})
    assert response.status_code == 422 and "amount" in response.get_json()["message"]
    response = owner.post_json(url, {"files": {}, "instance_id": 2**31})
    assert response.status_code == 422
    deep = "[" * 100_000 + "]" * 100_000
    response = owner._request("post", url, data=deep, content_type="application/json",
                              headers={"X-CSRFToken": owner.csrf})
    assert response.status_code == 400
    response = owner.post_json(url, {"files": {}, "delete": 5})
    assert response.status_code == 400


def test_out_of_range_id_in_a_form_is_422(world, browser):
    official = browser("official")
    response = official.post("/tasks/1/reassign", {"user_id": str(2**40)})
    assert response.status_code == 422


def test_a_25_digit_budget_is_a_field_error(world, browser):
    official = browser("official")
    official.get("/orders/new")
    response = official.post("/orders/new", {"academic_year": "2027/2028", "budget": "9" * 25,
                                             "window_opens": "2027-01-10", "window_closes": "2027-08-15"})
    assert response.status_code == 422
    assert "The amount is too large" in response.get_data(as_text=True)
    response = official.post("/orders/new", {"academic_year": "2027/2028", "budget": "9" * 5000,
                                             "window_opens": "2027-01-10", "window_closes": "2027-08-15"})
    assert response.status_code == 422


@pytest.mark.parametrize("value,message", [
    ("9" * 25, "The number is too large."),
    ("9" * 5000, "The number is too large."),
    ("1e999", "The number is too large."),
    ("1.5e400", "The number is too large."),
    ("12abc", "Enter a number."),
])
def test_form_numbers_beyond_their_bounds_are_field_errors(app_ctx, value, message):
    from app.engine.forms import _coerce

    with pytest.raises(ValueError) as err:
        _coerce(value, {"type": "number"})
    assert str(err.value) == message
    assert _coerce("1500000.50", {"type": "number"}) == 1500000.5


def test_database_range_errors_are_a_clear_422_not_a_500(app_ctx, app):
    from sqlalchemy.exc import DataError

    errors = [OverflowError("Python int too large to convert to SQLite INTEGER"),
              DataError("INSERT", {}, Exception("integer out of range"))]
    for error in errors:
        with app.test_request_context("/orders/new", method="POST"):
            response = app.make_response(app.handle_user_exception(error))
        assert response.status_code == 422 and "too large" in response.get_data(as_text=True)


@pytest.mark.parametrize("raw,expected", [
    ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),
    ("re\u200bport\u2066.pdf", "report.pdf"),
    ("..\\..\\etc\\passwd.txt", "passwd.txt"),
    ("  a\tb\u2028c  d.pdf ", "abc d.pdf"),
    ("\u202e", "file"),
])
def test_file_names_lose_bidi_overrides_and_invisible_characters(raw, expected):
    assert clean_filename(raw) == expected


def test_attachment_stored_without_the_right_to_left_override(world, browser):
    from sqlalchemy import select

    from app.engine.models import HumanTask
    from app.extensions import db
    from app.inbox.models import TaskAttachment
    from tests.helpers import act_of_school, open_task

    task = open_task(act_of_school("Bilim Innovation School"), "submit_act")
    accountant = browser("accountant")
    accountant.get(f"/tasks/{task.id}")
    response = accountant.post(f"/tasks/{task.id}/attachments",
                               {"file": (io.BytesIO(b"%PDF-1.4 x"), "act\u202efdp.exe.pdf")},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    stored = db.session.scalars(select(TaskAttachment).where(TaskAttachment.task_id == task.id)).one()
    assert stored.filename == "actfdp.exe.pdf"
    assert db.session.get(HumanTask, task.id) is not None


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\uff1dHYPERLINK(\"x\")", "\uff0b1",
                                   "\uff0d1", "\uff20A1", "\r=1", " =1"])
def test_spreadsheet_formula_starts_are_neutralised(value):
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Иванов", "791028302728", 42, None, "a=b"])
def test_ordinary_cells_are_unchanged(value):
    assert spreadsheet_cell(value) == value


def test_act_exports_neutralise_full_width_formulas(app_ctx):
    from openpyxl import load_workbook

    from app.acts import report

    act = SimpleNamespace(period_label="2026-10")
    line = SimpleNamespace(line_no=1, iin="791028302728", full_name="\uff1dHYPERLINK(\"http://x\")", grade=3,
                           days_attended=20, outcome="ok", rule_code=None, amount_tiyn=100)
    csv_text = report.to_csv(act, [line]).decode("utf-8-sig")
    assert "'\uff1dHYPERLINK" in csv_text
    sheet = load_workbook(io.BytesIO(report.to_xlsx(act, [line])), read_only=True).worksheets[0]
    assert list(sheet.iter_rows(values_only=True))[1][2].startswith("'\uff1d")


@pytest.mark.parametrize(("value", "kept"), [
    ("Иванов;=1+1", "Иванов;'=1+1"), ("Иванов, +7 701", "Иванов, '+7 701"), ("a;  @SUM(A1)", "a;  '@SUM(A1)"),
    ("a\t-1", "a\t'-1"), ("a;\uff1d1", "a;'\uff1d1"), ("=1;=2", "'=1;'=2"), ("a;b, c", "a;b, c"),
    ("\t=1", "'\t'=1"),  # split on the tab, "'\t=1" left "=1" a cell of its own
])
def test_a_formula_start_after_a_separator_is_neutralised(value, kept):
    """Excel in ru-RU and kk-KZ splits a CSV file on ";": the part after it starts a cell of its own."""
    assert spreadsheet_cell(value) == kept


def test_csv_exports_quote_every_field_neutralise_split_formulas_and_name_one_charset(world, browser):
    """Found by a security probe: a school's ``Иванов;=1+1`` stayed unquoted in the act's lines file, and Excel in a
    Russian or Kazakh locale (which splits on ";") read ``=1+1`` as a formula; the CSV downloads answered
    ``text/csv; charset=utf-8; charset=utf-8``."""
    from sqlalchemy import select

    from app.acts.models import Act, ActLine
    from app.extensions import db
    from tests.inbox.conftest import make_clean_acts

    task = make_clean_acts()[0]
    act = db.session.get(Act, db.session.get(type(task), task.id).instance.subject_id)
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)).first()
    line.full_name = "Иванов;=1+1"
    db.session.commit()
    response = browser("official").get(f"/acts/{act.id}/lines.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    data = response.get_data()
    assert '"Иванов;\'=1+1"'.encode() in data
    rows = data.decode("utf-8-sig").splitlines()
    assert all(row.startswith('"') and row.endswith('"') and '",' not in row.replace('","', "") for row in rows)
    assert not any(part.lstrip(' "').startswith("=") for row in rows for part in row.split(";"))
    for url, who in (("/reports/reconciliation.csv?period=2026-10", "operator"), ("/public/data/schools.csv", None)):
        response = browser(who).get(url) if who else browser("operator").client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", url
        assert response.get_data().decode("utf-8-sig").startswith('"'), url
