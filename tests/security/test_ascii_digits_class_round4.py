"""Digits of other scripts and other spellings, as a class: Python's ``\\d`` and ``\\w`` match every script's digits
("١٢٣", full-width "１２３"), ``str.isdigit`` says yes to them (and to "²"), and ``date.fromisoformat`` reads
"20261105" and the week date "2026-W45-4". An identifier, an amount, a date or a number a person typed or a file
gave is read in ASCII digits through app/user_input.py and app/registry/cells.py; the scans at the end hold every
new ``\\d``, ``\\w``, ``isdigit`` and ``fromisoformat`` in app/ to that (or to a reason written beside it).
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import ActLine
from app.engine import runtime
from app.engine.models import HumanTask
from app.engine.publishing import publish_version
from app.engine.schema_references import NOT_FOUND, pointer_target
from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation
from app.processes.masking import MASK, mask_value
from tests.helpers import act_of_school, lines_form, open_task, task_of, user
from tests.modeler.factory import chain_model, user_task

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
IIN = "791028302728"
GROUPINGS = ("791028 302728", "7910 2830 2728", "791028\u00a0302728", "7910-2830-2728")


# --- a task form's date -----------------------------------------------------------------------------------------------


@pytest.fixture()
def dated(world):
    """A running instance at a step whose form asks for a date."""
    form = {"type": "object", "required": ["when"], "properties": {"when": {"type": "string", "format": "date"}}}
    model = chain_model("dated", [("plan", "Operator", user_task("plan", "Plan", form="plan.schema.json", ui=None)),
                                  ("check", "Operator", user_task("check", "Check"))])
    model["plan.schema.json"] = json.dumps(form)
    publish_version(model)
    db.session.commit()
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)):
        instance = runtime.start_instance("dated", title="Dated plan", actor=user("owner"))
        db.session.commit()
    return instance


@pytest.mark.parametrize("typed", ["20261105", "2026-W45-4", "2026-309"])
def test_a_task_forms_date_in_a_compact_or_week_spelling_is_refused_and_the_task_stays_open(dated, browser, typed):
    """``date.fromisoformat`` took "20261105" and "2026-W45-4": the task was completed with them in its data."""
    operator = browser("operator")
    task = task_of(dated, "plan")
    page = operator.post(f"/tasks/{task.id}", {"when": typed})
    assert page.status_code == 422 and "Enter a real date as dd.mm.yyyy" in page.get_data(as_text=True), typed
    api = operator.post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {"when": typed}})
    assert api.status_code == 422 and "Enter a date as YYYY-MM-DD." in str(api.get_json()), typed
    db.session.expire_all()
    assert task_of(dated, "plan").status == "open"
    done = operator.post(f"/tasks/{task.id}", {"when": "05.11.2026"})
    assert done.status_code == 302 and task_of(dated, "plan").status == "completed"


# --- a task form's IIN ------------------------------------------------------------------------------------------------


def _lines(act) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(ActLine.iin).where(ActLine.act_id == act.id)))


@pytest.mark.parametrize("typed", GROUPINGS)
def test_an_iin_typed_in_groups_into_an_act_line_is_its_twelve_digits(world, browser, typed):
    """"791028 302728" was refused as "Not a valid IIN: 12 digits with a correct check digit." — which it is."""
    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    line = {"iin": typed, "full_name": "Тест Тестов", "grade": "3", "days_attended": "20"}
    page = browser("accountant").post(f"/tasks/{task.id}", lines_form([line]))
    assert page.status_code == 302, page.get_data(as_text=True)[:2000]
    assert _lines(act) == [IIN]


def test_an_iin_in_groups_of_other_digits_is_refused_with_the_reason_and_nothing_stored(world, browser):
    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    for typed in ("791028 302728".translate(ARABIC_INDIC), "791028 302728".translate(FULL_WIDTH)):
        line = {"iin": typed, "full_name": "Тест Тестов", "grade": "3", "days_attended": "20"}
        page = browser("accountant").post(f"/tasks/{task.id}", lines_form([line]))
        assert page.status_code == 422 and "ordinary digits 0–9" in page.get_data(as_text=True), typed
    assert _lines(act) == []


def test_a_lines_files_iin_in_groups_fills_its_line_and_one_in_other_digits_is_refused(world, browser):
    """A file's IIN cell is read as the form's field is: "791028 302728" was a refused row ("Not a valid IIN")."""
    import io

    from app.acts.operations import prefill_lines

    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    first, second = prefill_lines(act)[:2]
    rows = [["iin", "full_name", "grade", "days_attended"],
            [f"{first['iin'][:6]} {first['iin'][6:]}", first["full_name"], first["grade"], 20],
            [f"{second['iin'][:6]} {second['iin'][6:]}".translate(ARABIC_INDIC), second["full_name"],
             second["grade"], 20]]
    data = "\n".join(",".join(str(c) for c in row) for row in rows).encode("utf-8")
    html = browser("accountant").post(f"/tasks/{task.id}/lines-from-file", {"file": (io.BytesIO(data), "act.csv")},
                                      content_type="multipart/form-data").get_data(as_text=True)
    assert re.search(r"2 lines read, 1 refused\.", html)
    assert re.search(rf'id="f-lines-0-iin"[^>]*value="{first["iin"]}"|value="{first["iin"]}"[^>]*id="f-lines-0-iin"',
                     html)
    assert "ordinary digits 0–9" in html
    assert _lines(act) == []


def test_the_iin_field_lets_an_iin_be_typed_in_groups(world, browser):
    """The field's maxlength of 12 cut a pasted "791028 302728" to eleven digits, and its pattern refused it."""
    act = act_of_school("Bilim Innovation School")
    page = browser("accountant").get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="lines\.0\.iin"[^>]*>', page)[0]
    maxlength = int(re.search(r'maxlength="([0-9]+)"', field)[1])
    pattern = re.search(r'pattern="([^"]+)"', field)[1].replace("&#34;", '"')
    for typed in (IIN, *GROUPINGS):
        assert len(typed) <= maxlength and re.fullmatch(pattern, typed), typed
    for typed in (IIN[:-1], IIN.translate(ARABIC_INDIC), IIN + "0"):
        assert not re.fullmatch(pattern, typed), typed


def test_a_row_number_in_other_digits_is_no_row_of_the_form(world, browser):
    """``\\d`` in the field-name pattern took "lines.١.iin" for row 1, and the line was stored."""
    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    line = {"iin": IIN, "full_name": "Тест Тестов", "grade": "3", "days_attended": "20"}
    form = {"note": "", **{f"lines.{'٠'}.{key}": value for key, value in line.items()}}
    page = browser("accountant").post(f"/tasks/{task.id}", form)
    assert page.status_code == 422 and "Unexpected field: lines.٠." in page.get_data(as_text=True)
    assert _lines(act) == []


# --- an order's academic year -----------------------------------------------------------------------------------------


def test_an_order_for_an_academic_year_in_other_digits_is_refused_and_none_placed(world, browser):
    """``(\\d{4})/(\\d{4})`` took "٢٠٢٧/٢٠٢٨": the order was placed for that text, beside the one for 2027/2028."""
    official = browser("official")
    orders = db.session.scalar(select(func.count()).select_from(StateOrder))
    for year in ("2027/2028".translate(ARABIC_INDIC), "2027/2028".translate(FULL_WIDTH)):
        page = official.post("/orders/new", {"academic_year": year, "budget": "1000000",
                                             "window_opens": "2026-11-05", "window_closes": "2027-06-30"})
        assert page.status_code == 422 and "The academic year must look like 2026/2027." in page.get_data(
            as_text=True), year
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == orders


# --- a BIN in a search box --------------------------------------------------------------------------------------------


def _task_rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-task-id="([0-9]+)"', html)]


def _instance_rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-instance-id="([0-9]+)"', html)]


def test_the_inbox_finds_a_school_by_a_bin_in_groups_and_says_when_its_digits_are_others(world, browser):
    from tests.inbox.conftest import make_clean_acts

    make_clean_acts()
    official = browser("official")
    bilim = db.session.scalar(select(Organisation.bin).where(Organisation.name == "Bilim Innovation School"))
    by_bin = _task_rows(official.get("/inbox", query_string={"school": bilim}).get_data(as_text=True))
    assert len(by_bin) == 2 and {db.session.get(HumanTask, i).school_bin for i in by_bin} == {bilim}
    for grouped in (f"{bilim[:6]} {bilim[6:]}", f"{bilim[:4]}-{bilim[4:8]}-{bilim[8:]}"):
        page = official.get("/inbox", query_string={"school": grouped}).get_data(as_text=True)
        assert _task_rows(page) == by_bin, grouped
    everything = _task_rows(official.get("/inbox").get_data(as_text=True))
    for other in (bilim.translate(ARABIC_INDIC), f"{bilim[:6]} {bilim[6:]}".translate(FULL_WIDTH)):
        page = official.get("/inbox", query_string={"school": other}).get_data(as_text=True)
        assert "Type the BIN with the ordinary digits 0–9; the school filter was ignored." in page, other
        assert _task_rows(page) == everything, other


def test_the_instance_list_finds_an_organisation_by_a_bin_in_groups_and_says_when_its_digits_are_others(
        world, browser):
    operator = browser("operator")
    bilim = db.session.scalar(select(Organisation.bin).where(Organisation.name == "Bilim Innovation School"))
    by_bin = _instance_rows(operator.get("/instances", query_string={"org": bilim}).get_data(as_text=True))
    assert by_bin
    page = operator.get("/instances", query_string={"org": f"{bilim[:6]}\u00a0{bilim[6:]}"}).get_data(as_text=True)
    assert _instance_rows(page) == by_bin
    everything = _instance_rows(operator.get("/instances").get_data(as_text=True))
    page = operator.get("/instances", query_string={"org": bilim.translate(ARABIC_INDIC)}).get_data(as_text=True)
    assert "Type the BIN with the ordinary digits 0–9; the organisation filter was ignored." in page
    assert _instance_rows(page) == everything


@pytest.mark.parametrize("grouping", [lambda b: f"{b[:6]} {b[6:]}", lambda b: f"{b[:4]}-{b[4:8]}-{b[8:]}"])
def test_the_lists_search_boxes_find_an_organisation_by_a_bin_in_groups(world, browser, grouping):
    """The acts and contracts lists, the administrator's organisations and the registry look-up compared the text
    typed with the BIN as it was: "150849 718024" found nothing (the look-up took spaces, not dashes)."""
    from app.contracts.models import Contract

    operator = browser("operator")
    bilim = db.session.scalar(select(Organisation).where(Organisation.name == "Bilim Innovation School"))
    acts = operator.get("/acts", query_string={"q": bilim.bin}).get_data(as_text=True)
    found = re.search(r"Acts found: [0-9]+", acts)[0]
    assert found != "Acts found: 0"
    assert found in operator.get("/acts", query_string={"q": grouping(bilim.bin)}).get_data(as_text=True)

    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    holder = db.session.get(Organisation, contract.school_id)
    page = operator.get("/contracts", query_string={"q": grouping(holder.bin)}).get_data(as_text=True)
    assert f">{contract.number}</a>" in page

    admin = browser("admin").get("/admin/organisations", query_string={"q": grouping(bilim.bin)})
    assert "Bilim Innovation School" in admin.get_data(as_text=True)

    plain = operator.get("/registry/lookup", query_string={"q": bilim.bin}).get_data(as_text=True)
    typed = operator.get("/registry/lookup", query_string={"q": grouping(bilim.bin)}).get_data(as_text=True)
    assert "Enter a 12-digit IIN or BIN" not in typed and "Bilim Innovation School" in plain
    assert "Bilim Innovation School" in typed


# --- the smaller sites ------------------------------------------------------------------------------------------------


def test_configuration_numbers_are_ascii_digits(monkeypatch):
    """"²" passed ``isdigit`` and broke ``int`` at start-up (a traceback, not the configuration's message); "٥s"
    passed ``\\d`` and went to PostgreSQL's lock_timeout, whose refusal is what the check was written against."""
    from app import config

    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "\u00b2")
    with pytest.raises(config.ConfigError, match="TRUSTED_PROXY_HOPS"):
        config._proxy_hops()
    monkeypatch.setenv("MIGRATION_LOCK_TIMEOUT", "٥s")
    with pytest.raises(config.ConfigError, match="MIGRATION_LOCK_TIMEOUT"):
        config._lock_timeout()


def test_a_value_under_a_personal_key_that_is_no_iin_is_masked_whole():
    """Twelve Arabic-Indic digits were taken for an IIN and shown with their last four."""
    assert mask_value(IIN) == "••••••••2728"
    assert mask_value(IIN.translate(ARABIC_INDIC)) == MASK


def test_a_schema_pointer_names_an_item_in_ascii_digits():
    """The publishing check found "/items/١" (as item 1), which the form's validator then could not."""
    assert pointer_target({"items": ["a", "b"]}, "/items/1") == "b"
    assert pointer_target({"items": ["a", "b"]}, "/items/١") is NOT_FOUND


# --- the class, scanned -----------------------------------------------------------------------------------------------


def _sources(project_root) -> list[tuple[str, ast.Module, list[str]]]:
    found = []
    for path in sorted((Path(project_root) / "app").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found.append((str(path.relative_to(project_root)), ast.parse(text), text.splitlines()))
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {id(n.body[0].value) for n in nodes
            if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


#: ``\w`` where letters of every script are meant, each with its reason (a digit class is never: see below)
UNICODE_WORDS = {
    "app/registry/cells.py": "a name's words, Cyrillic and Latin (a word is put in one script)",
    "app/errors.py": "the names of a marshmallow message's placeholders ({min}), our library's own text",
    "app/engine/specs.py": "names in the script checker's own messages, read back to translate them",
    "app/engine/model_lint.py": "an element's tag in lxml's repr of it, read back to name the element",
}


def test_no_pattern_in_app_reads_a_digit_class(project_root):
    """``\\d`` matches every script's digits unless the pattern says ``re.ASCII``: write ``[0-9]``. Every text in
    app/ but a docstring is scanned, so a pattern kept in a table and compiled later is found too (bytes patterns
    are ASCII already)."""
    found = []
    for name, tree, lines in _sources(project_root):
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                    and re.search(r"\\[dD]", node.value):
                found.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()[:100]}")
    assert found == [], "write [0-9] (\\d also matches ١٢٣ and １２３):\n" + "\n".join(found)


def test_a_word_class_in_app_is_where_letters_of_every_script_are_meant(project_root):
    found = set()
    for name, tree, _lines in _sources(project_root):
        docs = _docstrings(tree)
        if any(isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
               and re.search(r"\\[wW]", node.value) for node in ast.walk(tree)):
            found.add(name)
    assert found == set(UNICODE_WORDS), ("\\w also matches ١٢٣: write [A-Za-z0-9_], or add the file with its "
                                         "reason to UNICODE_WORDS")


#: ``isdigit``/``isdecimal``/``isnumeric`` without ``isascii`` on the same line, each with its reason
OTHER_SCRIPTS_ASKED = {
    ("app/registry/identifiers.py", "has_non_ascii_digits"): "finds other scripts' digits, to name them",
    ("app/engine/forms.py", "_message"): "finds other scripts' digits in a refused value, to say so",
    ("app/registry/cells.py", "searched_identifier"): "tells twelve digits of another script from ASCII ones, "
                                                      "to refuse them with their reason",
    ("app/engine/model_lint.py", "engine_problem"): "the line number SpiffWorkflow's own exception gives",
}


def test_a_digit_test_in_app_is_an_ascii_digit_test(project_root):
    """``str.isdigit`` says yes to "١", "１" and "²" (which ``int`` then refuses): a number is
    ``app.user_input.is_ascii_digits`` (or ``isascii()`` beside the test)."""
    found = []
    for name, tree, lines in _sources(project_root):
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("isdigit", "isdecimal", "isnumeric") \
                    and "isascii()" not in lines[node.lineno - 1]:
                inside = min((f for f in functions if f.lineno <= node.lineno <= f.end_lineno),
                             key=lambda f: f.end_lineno - f.lineno, default=None)
                if (name, inside.name if inside else "") not in OTHER_SCRIPTS_ASKED:
                    found.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()[:100]}")
    assert found == [], "use app.user_input.is_ascii_digits:\n" + "\n".join(found)


#: ``fromisoformat`` reads "20261105" and "2026-W45-4" (and, for a date-time, "2026-11-05 10"): kept only where the
#: text is one this app wrote, or is checked first, or a timer's ISO 8601 (where those spellings are ISO 8601) —
#: how many times in each file, and why
ISO_TEXT_WRITTEN_BY_THE_APP = {
    "app/cli.py": (1, "f'{period}-01': a month typed as YYYY-MM; no other spelling of it ends in a readable -01"),
    "app/processes/readable.py": (3, "shows the process data the steps wrote (ISO days and moments) in the reader's "
                                      "format; only shown, never stored or compared; the raw value stays beside it"),
    "app/registry/cli.py": (2, "f'{period}-01', as app/cli.py"),
    "app/reports/views.py": (1, "f'{value}-01', as app/cli.py"),
    "app/i18n.py": (3, "shows a date the app stored or wrote (a month, a day); text that is none is shown as it is"),
    "app/dormitories/instrument.py": (1, "a date of the instrument's data, written by the app"),
    "app/public/open_contracting.py": (2, "a contract's period end, stored by the app as ISO text"),
    "app/config.py": (1, "checked against [0-9]{4}-[0-9]{2}-[0-9]{2} on the line before"),
    "app/engine/errors.py": (1, "a date a domain refusal carries, put there by the app"),
    "app/engine/specs.py": (2, "a BPMN timer: ISO 8601, whose basic and week forms are timers too"),
    "app/engine/timers.py": (4, "a BPMN timer, and the anchors and next times the engine wrote itself"),
    "app/engine/forms.py": (2, "checked against [0-9]{4}-[0-9]{2}-[0-9]{2} first (the date format, date_shown)"),
    "app/audit/chunked_walk.py": (1, "a time the audit walk wrote"),
    "app/audit/anchors.py": (1, "an anchor's creation time, written by the app"),
    "app/processes/queries.py": (1, "a filter's day, read by calendar_date first"),
    "app/processes/operations.py": (1, "a timer's due time, written by SpiffWorkflow"),
    "app/inbox/queries.py": (1, "the due-date filter, read by calendar_date first"),
    "app/payments/handlers.py": (1, "a date field of the payment form: the form's date format checked it"),
    "app/contracts/documents.py": (1, "a contract's period end, stored by the app as ISO text"),
    "app/contracts/handlers.py": (1, "a month the ticker's operation names, written by the app"),
    "app/contracts/operations.py": (1, "a contract's period end, stored by the app as ISO text"),
    "app/acts/listing.py": (1, "checked against the list's own day pattern first"),
    "app/acts/verification.py": (1, "a date of the act's data, written by the app"),
}


def test_fromisoformat_reads_only_text_the_app_wrote_or_checked(project_root):
    counts: dict[str, int] = {}
    for name, tree, _lines in _sources(project_root):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "fromisoformat":
                counts[name] = counts.get(name, 0) + 1
    assert counts == {name: n for name, (n, _why) in ISO_TEXT_WRITTEN_BY_THE_APP.items()}, (
        "a date a person typed or a file gave is read by app.user_input.calendar_date")
