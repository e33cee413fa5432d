"""New-user probe: a school accountant could not fill the act's lines from a CSV/XLSX file — "Attach a file" stored it
and changed no line. "Fill the lines from a file" reads the file with the registry importers' bounded readers, checks
each row as the form does, fills the form with the good rows and reports the others; nothing is saved."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.engine.models import HumanTask
from app.extensions import db
from tests.helpers import act_of_school, lines_form, open_task


def _bilim():
    act = act_of_school("Bilim Innovation School")
    return act, open_task(act, "submit_act")


def _csv(rows: list[list], sep: str = ",") -> bytes:
    return "\n".join(sep.join(str(c) for c in row) for row in rows).encode("utf-8")


def _send(page, task_id: int, data: bytes, name: str = "act.csv", current: dict | None = None):
    form = {"file": (io.BytesIO(data), name)}
    if current is not None:
        form["current"] = json.dumps(current)
    return page.post(f"/tasks/{task_id}/lines-from-file", form, content_type="multipart/form-data")


def _unchanged(act: Act, task: HumanTask, before: tuple) -> None:
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert (act.status, act.revision, act.lock_version, act.total_lines) == before
    assert db.session.scalar(select(func.count(ActLine.id)).where(ActLine.act_id == act.id)) == 0
    assert db.session.get(HumanTask, task.id).status == "open"


def _state(act: Act) -> tuple:
    return act.status, act.revision, act.lock_version, act.total_lines


def _value(html: str, field: str) -> str | None:
    match = re.search(rf'id="f-{re.escape(field)}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*id="f-{re.escape(field)}"',
                      html)
    return (match.group(1) or match.group(2)) if match else None


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_page_offers_it_and_the_attach_hint_no_longer_suggests_lines_are_imported(world, browser):
    _act, task = _bilim()
    page = browser("accountant").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="lines-file-form"' in page and f'action="/tasks/{task.id}/lines-from-file"' in page
    assert "iin, full_name, grade, days_attended" in page
    assert "fills nothing in the form" in page and "kept with the task" in page


def test_a_good_file_fills_the_form_and_saves_nothing(world, browser):
    act, task = _bilim()
    before = _state(act)
    lines = prefill_lines(act)[:3]
    # Titles as the form shows them, in Kazakh and Russian, any case, ";" as Excel writes it on a Russian Windows.
    rows = [["ЖСН", "ФИО", "grade", "DAYS ATTENDED", "comment"]] + [
        [line["iin"], line["full_name"], line["grade"], 19 - i, "x"] for i, line in enumerate(lines)]
    page = browser("accountant")
    answer = _send(page, task.id, _csv(rows, ";"), current={"note": "Рассчитано по журналу", "lines.0.iin": "1"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(r'id="lines-file-counts">\s*3 lines read\.', html)
    assert "Columns not used: comment" in html
    for i, line in enumerate(lines):
        assert _value(html, f"lines-{i}-iin") == line["iin"]
        assert _value(html, f"lines-{i}-days_attended") == str(19 - i)
    assert _value(html, "lines-3-iin") in (None, ""), "only the file's lines: the prefilled ones are replaced"
    assert "Рассчитано по журналу" in html, "the note is kept"
    _unchanged(act, task, before)

    # The person then submits the form as usual: the file's lines are the act's.
    submitted = page.post(f"/tasks/{task.id}", lines_form(
        [{**line, "days_attended": 19 - i} for i, line in enumerate(lines)]))
    assert submitted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Act, act.id).total_lines == 3


def test_the_report_refuses_what_submit_would_days_outside_the_month(world, browser):
    """Probe of this feature: days 0 and 31 of a 30-day month passed the file's report (the form's schema allows
    0–31) and were refused only on Submit. The report asks the task what it would refuse."""
    from calendar import monthrange

    act, task = _bilim()
    days_in_month = monthrange(act.period.year, act.period.month)[1]
    good = prefill_lines(act)[:3]
    rows = [["iin", "full_name", "grade", "days_attended"],
            [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 20],
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], 0],
            [good[2]["iin"], good[2]["full_name"], good[2]["grade"], days_in_month + 1]]
    html = _send(browser("accountant"), task.id, _csv(rows)).get_data(as_text=True)
    assert re.search(r"3 lines read, 2 refused\.", html), html[html.find("lines-file-report"):][:400]
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    assert [int(n) for n in re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*><code>days_attended</code>", report)] == [3, 4]
    assert _value(html, "lines-0-iin") == good[0]["iin"] and _value(html, "lines-1-iin") in (None, "")


def test_the_report_names_a_column_as_the_files_heading_does(world, browser):
    """The report's column read "iin" where the accountant's file said "ИИН"."""
    act, task = _bilim()
    good = prefill_lines(act)[:1]
    wrong = good[0]["iin"][:-1] + str((int(good[0]["iin"][-1]) + 1) % 10)
    rows = [["ИИН", "ФИО", "Класс", "Дней посещения"], [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 20],
            [wrong, "Wrong Check", 5, 20]]
    html = _send(browser("accountant"), task.id, _csv(rows, ";")).get_data(as_text=True)
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*><code>([^<]+)</code>", report) == [("3", "ИИН")]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_report_writes_each_column_as_the_files_heading_writes_it(world, browser, kind):
    """Users probe: the report named the accountant's columns as the importer keys them — "days_attended",
    "пікір", "жсн" — where her file's header said "Days attended", "Пікір", "ЖСН"."""
    act, task = _bilim()
    good = prefill_lines(act)[:2]
    rows = [["ЖСН", "Full Name", "Grade", "Days Attended", "Пікір"],
            [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 99, "x"],
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], "=10+11" if kind == "xlsx" else 20, ""]]
    data = _xlsx(rows) if kind == "xlsx" else _csv(rows, ";")
    html = _send(browser("accountant"), task.id, data, f"act.{kind}").get_data(as_text=True)
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    columns = re.findall(r"<td[^>]*><code>([^<]+)</code>", report)
    assert columns[0] == "Days Attended"
    if kind == "xlsx":
        assert columns[1] == "Days Attended", "the formula cell's column"
    assert re.search(r'id="lines-file-unused">[^<]*Пікір<', html)


def test_whole_numbers_written_with_a_decimal_part_are_read_as_a_spreadsheet_cell_would_be(world, browser):
    """A CSV saved from a spreadsheet may write the grade 4 as "4.0" (or "4,0" on a Russian Windows): the same
    value in an XLSX cell was accepted, in the CSV it was refused. A real fraction stays refused."""
    act, task = _bilim()
    good = prefill_lines(act)[:3]
    rows = [["iin", "full_name", "grade", "days_attended"],
            [good[0]["iin"], good[0]["full_name"], f"{good[0]['grade']}.0", "20.0"],
            [good[1]["iin"], good[1]["full_name"], f"{good[1]['grade']},00", "19"],
            [good[2]["iin"], good[2]["full_name"], good[2]["grade"], "19.5"]]
    html = _send(browser("accountant"), task.id, _csv(rows, ";")).get_data(as_text=True)
    assert re.search(r"3 lines read, 1 refused\.", html), html[html.find("lines-file-report"):][:400]
    assert _value(html, "lines-0-grade") == str(good[0]["grade"]) and _value(html, "lines-0-days_attended") == "20"
    assert _value(html, "lines-1-grade") == str(good[1]["grade"])
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*><code>([^<]+)</code>", report) == [("4", "days_attended")]


def test_a_deeply_nested_current_form_is_ignored_not_a_500(world, browser):
    act, task = _bilim()
    good = prefill_lines(act)[:1]
    rows = [["iin", "full_name", "grade", "days_attended"],
            [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 20]]
    form = {"file": (io.BytesIO(_csv(rows)), "act.csv"), "current": '{"a":' * 5000}
    answer = browser("accountant").post(f"/tasks/{task.id}/lines-from-file", form, content_type="multipart/form-data")
    assert answer.status_code == 200 and _value(answer.get_data(as_text=True), "lines-0-iin") == good[0]["iin"]


def test_bad_rows_are_reported_line_by_line_and_the_good_ones_fill_the_form(world, browser):
    act, task = _bilim()
    before = _state(act)
    good = prefill_lines(act)[:2]
    wrong_check = good[0]["iin"][:-1] + str((int(good[0]["iin"][-1]) + 1) % 10)
    rows = [["iin", "full_name", "grade", "days_attended"],
            [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 20],   # line 2: good
            [wrong_check, "Wrong Check", 5, 20],                           # line 3: IIN check digit
            [good[1]["iin"], good[1]["full_name"], 12, 20],                # line 4: grade out of bounds
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], "abc"],  # line 5: not a number
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"]],      # line 6: short row
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], 18]]   # line 7: good
    answer = _send(browser("accountant"), task.id, _csv(rows))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(r"6 lines read, 4 refused\.", html)
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    cells = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*><code>(\w+)</code></td>"
                       r"<td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", report)
    assert [(line, column) for line, column, _v, _r in cells] == [
        ("3", "iin"), ("4", "grade"), ("5", "days_attended"), ("6", "days_attended")]
    assert "Not a valid IIN" in cells[0][3] and cells[0][2] == wrong_check
    assert "at most 11" in cells[1][3] and "whole number" in cells[2][3] and "fewer values" in cells[3][3]
    assert _value(html, "lines-0-iin") == good[0]["iin"] and _value(html, "lines-1-days_attended") == "18"
    assert _value(html, "lines-2-iin") in (None, "")
    _unchanged(act, task, before)


def test_the_report_is_in_the_users_language(world, browser):
    _act, task = _bilim()
    page = browser("accountant")
    page.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    html = _send(page, task.id, _csv([["iin", "full_name", "grade", "days_attended"],
                                      ["123", "Кто-то", 5, 20]])).get_data(as_text=True)
    # The reasons are the form's own messages, in the reader's language (the page's new words are not translated yet).
    assert ">Неверный ИИН: 12 цифр с правильной контрольной цифрой.</td>" in html and "Not a valid IIN" not in html


def test_an_xlsx_with_numbers_for_iins_and_a_formula_cell(world, browser):
    act, task = _bilim()
    before = _state(act)
    good = prefill_lines(act)[:2]
    rows = [["IIN", "Full name", "Grade", "Days attended"],
            [int(good[0]["iin"]), good[0]["full_name"], good[0]["grade"], 21],     # the IIN became a number
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], "=10+11"]]    # a formula, no saved value
    html = _send(browser("accountant"), task.id, _xlsx(rows), "act.xlsx").get_data(as_text=True)
    assert re.search(r"2 lines read, 1 refused\.", html)
    assert "formula with no saved value" in html and "=10+11" in html
    assert _value(html, "lines-0-iin") == good[0]["iin"] and _value(html, "lines-1-iin") in (None, "")
    _unchanged(act, task, before)


@pytest.mark.parametrize(("data", "name", "says"), [
    (b"PK\x03\x04" + b"\x00garbage" * 100, "act.xlsx", "cannot be read as CSV"),          # corrupt workbook
    (b"iin,full_name\n", "act.csv", "the file has no line the form can take"),               # nothing to take
    (_csv([["name", "days"], ["A", 1]]), "act.csv", "lacks required columns: iin, full_name, grade, days_attended"),
    (b"iin,full_name,grade,days_attended\n" + b"x" * (4 * 1024 * 1024 + 512 * 1024), "act.csv", "larger than 4 MB"),
    (b"iin;full_name;grade;days_attended\n" + b"000000000000;A;1;1\n" * 3001, "act.csv", "the form takes at most 3000"),
    (b"%PDF-1.4 hello", "act.xlsx", "does not match its extension"),
    (b"hello", "act.pdf", "Only CSV and XLSX"),
])
def test_hostile_or_useless_files_change_nothing(world, browser, data, name, says):
    act, task = _bilim()
    before = _state(act)
    typed = {"lines.0.iin": "typed-by-hand", "note": "kept"}
    answer = _send(browser("accountant"), task.id, data, name, current=typed)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Nothing was changed:" in html and says in html
    assert _value(html, "lines-0-iin") == "typed-by-hand" and "kept" in html, "the form as it was"
    _unchanged(act, task, before)


def test_a_zip_bomb_workbook_is_refused_before_parsing(world, browser):
    act, task = _bilim()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (3 * 1024 * 1024) + b"</worksheet>")
    html = _send(browser("accountant"), task.id, out.getvalue(), "act.xlsx").get_data(as_text=True)
    assert "Nothing was changed:" in html and "too large" in html
    _unchanged(act, task, _state(act))


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _shared_strings_bomb(count: int) -> bytes:
    """A valid workbook whose one row (the act's header) points into a shared-strings table of ``count`` short
    strings, as Excel writes text: under 100 KB sent, 8 MB once unpacked, well within the per-member ratio bound."""
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    header = ["iin", "full_name", "grade", "days_attended"]
    cells = "".join(f'<c r="{chr(65 + n)}1" t="s"><v>{n}</v></c>' for n in range(len(header)))
    strings = "".join(f"<si><t>{name}</t></si>" for name in header) + "".join(
        f"<si><t>{n % 997}</t></si>" for n in range(count))
    parts = {
        "[Content_Types].xml": f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{xlsx}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{xlsx}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{xlsx}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" '
        f'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets><sheet name="Act" sheetId="1" '
        f'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{_DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:D1"/><sheetData><row r="1">'
        f"{cells}</row></sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}">{strings}</sst>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


def test_a_workbook_far_larger_unpacked_than_any_act_is_refused_before_parsing(world, browser):
    """73 KB of XLSX whose shared strings unpack to 9 MB passed the import's bounds (200 MB unpacked, made for
    registry files of a million rows): openpyxl read the whole table into memory on each of its two passes — 25 s of
    a web process for 73 KB, 8 minutes and 1.6 GB for 1.4 MB, from any school accountant's task page. The lines of
    an act (at most 3000) come to about 2 MB unpacked; a file to fill them from is refused beyond a few times that."""
    act, task = _bilim()
    bomb = _shared_strings_bomb(500_000)
    assert len(bomb) < 100_000
    html = _send(browser("accountant"), task.id, bomb, "act.xlsx").get_data(as_text=True)
    assert "Nothing was changed:" in html and "too large" in html
    _unchanged(act, task, _state(act))


def test_a_full_act_of_3000_lines_still_fits(world, browser):
    act, task = _bilim()
    lines = prefill_lines(act)
    rows = [["iin", "full_name", "grade", "days_attended", "note"]]
    rows += [[line["iin"], line["full_name"] + " Сұлтанбекұлы Нұрмағамбетов", line["grade"], 20, f"row {n}"]
             for n, line in ((n, lines[n % len(lines)]) for n in range(3000))]
    html = _send(browser("accountant"), task.id, _xlsx(rows), "act.xlsx").get_data(as_text=True)
    assert "too large" not in html and "3000 lines read" in html


def test_only_who_may_act_on_the_open_task_may_send_a_file(world, browser):
    act, task = _bilim()
    line = prefill_lines(act)[0]
    data = _csv([["iin", "full_name", "grade", "days_attended"], [line["iin"], line["full_name"], line["grade"], 20]])
    assert _send(browser("accountant2"), task.id, data).status_code == 404  # another school's accountant
    assert _send(browser("official"), task.id, data).status_code == 404      # sees the task, may not act on it
    assert _send(browser("accountant"), 999_999, data).status_code == 404
    anonymous = browser()
    assert anonymous.post(f"/tasks/{task.id}/lines-from-file", {"file": (io.BytesIO(data), "a.csv")},
                          content_type="multipart/form-data").status_code == 302  # to the login page
    accountant = browser("accountant")
    no_csrf = accountant.post(f"/tasks/{task.id}/lines-from-file", {"file": (io.BytesIO(data), "a.csv")}, csrf=False,
                              content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    assert accountant.post(f"/tasks/{task.id}", lines_form(prefill_lines(act))).status_code == 302
    assert _send(accountant, task.id, data).status_code == 409  # the task is closed


def test_files_are_read_at_a_bounded_rate_per_person(world, browser, throttled, monkeypatch):
    """Reading a workbook holds a web process for up to seconds: one person sends so many a minute
    (LINES_FILE_LIMIT); beyond it the page says when to send again, keeps what was typed and reads nothing."""
    monkeypatch.setitem(throttled.config, "LINES_FILE_LIMIT", "2/minute;60/hour")
    act, task = _bilim()
    accountant = browser("accountant")
    accountant.get(f"/tasks/{task.id}")
    data = _csv([["iin", "full_name", "grade", "days_attended"], ["791028302728", "Тест Тестов", "3", "20"]])
    for _number in range(2):
        assert _send(accountant, task.id, data).status_code == 200
    typed = {"note": "kept while waiting"}
    refused = _send(accountant, task.id, data, current=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert re.search(r"You have sent many files in a short time\. You can send one again in \d+ min", page)
    assert "kept while waiting" in page, "what was typed comes back"
    assert "791028302728" not in page, "the refused file was not read"
    assert _send(browser("accountant2"), open_task(act_of_school("Nur Private School"), "submit_act").id,
                 data).status_code == 200, "each person's own count"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_heading_spaced_or_cased_otherwise_names_its_column(world, browser, kind):
    """Users probe: "Days  attended" (two spaces), "Full name" with a non-breaking space, "GRADE " with a trailing
    space, "\\ufeffIIN" (a byte-order mark left inside the cell) were refused as missing columns — the registry
    import and the act's lines now match a heading the same way (one function)."""
    act, task = _bilim()
    good = prefill_lines(act)[:1]
    rows = [["Full\u00a0name", "\ufeffIIN", "GRADE ", "Days  attended"],
            [good[0]["full_name"], good[0]["iin"], good[0]["grade"], 99]]
    data = _xlsx(rows) if kind == "xlsx" else _csv(rows, ";")
    html = _send(browser("accountant"), task.id, data, f"act.{kind}").get_data(as_text=True)
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<td[^>]*><code>([^<]+)</code>", report) == ["Days attended"]


@pytest.mark.parametrize(("language", "iin", "days"),
                         [("ru", "ИИН", "Дней посещения"), ("kk", "ЖСН", "Қатысқан күндер")])
def test_the_columns_are_named_with_the_forms_titles_in_the_readers_language(world, browser, language, iin, days):
    """New-user probe: a Russian accountant's file headed "Посещено дней" was refused as lacking "days_attended" —
    an English word she could not match to the form's «Дней посещения»; the hint above the file field listed the same
    English names. Both now name each column with its title as the form shows it in her language."""
    act, task = _bilim()
    before = _state(act)
    page = browser("accountant")
    page.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    html = page.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"iin ({iin})" in html and f"days_attended ({days})" in html
    answer = _send(page, task.id, "ИИН;ФИО;Класс;Посещено дней\n141018619079;Ким Олег;3;20\n".encode("cp1251"))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(rf":\s*days_attended \({days}\)", html), "the missing column is named as the form names it"
    _unchanged(act, task, before)


def test_an_xlsx_whose_header_is_in_row_3_after_the_acts_title(world, browser):
    """An act's lines as a school keeps them: the act's title in row 1, an empty row, the header in row 3. The
    header was taken from row 1 and the file refused as lacking every column; it is searched for now as the
    registry imports search for theirs, and a refused row is named by the sheet's own row number."""
    act, task = _bilim()
    before = _state(act)
    good = prefill_lines(act)[:2]
    rows = [["Акт оказанных услуг за месяц — Bilim Innovation School"], [],
            ["ИИН", "ФИО", "Класс", "days_attended"],
            [good[0]["iin"], good[0]["full_name"], good[0]["grade"], 20],
            [good[1]["iin"], good[1]["full_name"], good[1]["grade"], 99]]
    html = _send(browser("accountant"), task.id, _xlsx(rows), "act.xlsx").get_data(as_text=True)
    assert re.search(r"2 lines read, 1 refused\.", html), html[html.find("lines-file"):][:400]
    report = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*><code>([^<]+)</code>", report) == [("5", "days_attended")]
    assert _value(html, "lines-0-iin") == good[0]["iin"]
    _unchanged(act, task, before)


def test_a_workbook_whose_first_sheet_is_instructions_is_read_from_the_sheet_with_the_lines(world, browser):
    from openpyxl import Workbook

    act, task = _bilim()
    good = prefill_lines(act)[:2]
    wb = Workbook()
    wb.active.title = "Нұсқаулық"
    for text in ("Заполните лист «Жолдар»", "Один ученик — одна строка", "ИИН — 12 цифр"):
        wb.active.append([text])
    lines = wb.create_sheet("Жолдар")
    lines.append(["iin", "full_name", "grade", "days_attended"])
    for line in good:
        lines.append([line["iin"], line["full_name"], line["grade"], 18])
    out = io.BytesIO()
    wb.save(out)
    html = _send(browser("accountant"), task.id, out.getvalue(), "act.xlsx").get_data(as_text=True)
    assert re.search(r'id="lines-file-counts">\s*2 lines read\.', html), html[html.find("lines-file"):][:400]
    assert [_value(html, f"lines-{i}-iin") for i in range(2)] == [line["iin"] for line in good]


def test_a_temporary_folder_that_cannot_be_written_is_said_and_changes_nothing(world, browser, monkeypatch, tmp_path):
    """The server's temporary folder full or gone (here: a path that is not a folder, as the system says for a folder
    that cannot be made): the person is told and nothing changes — it had answered 500 "Something went wrong"."""
    import tempfile

    act, task = _bilim()
    before = _state(act)
    not_a_folder = tmp_path / "tmp"
    not_a_folder.write_bytes(b"")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    lines = prefill_lines(act)[:2]
    rows = [["iin", "full_name", "grade", "days_attended"]] + [
        [line["iin"], line["full_name"], line["grade"], 18] for line in lines]
    answer = _send(browser("accountant"), task.id, _csv(rows))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Nothing was changed:" in html and "temporary storage is full or unavailable" in html
    assert "lines read" not in html
    assert not list(not_a_folder.parent.glob("tapsyrys-lines-*")), "nothing of the file is left"
    _unchanged(act, task, before)
