"""Dates and amounts of money are read in the digits 0–9, by one helper each, on every path that reads them.

``datetime.strptime`` reads Arabic-Indic and full-width digits: a NEDB row enrolled on "01.09.٢٠٢٦", a licence valid
from "１２.１１.２０２６", a resident who moved in on "05.11.٢٠٢٦" in an act's file were loaded as days of 2026, from
digits no form takes. ``date.fromisoformat`` reads "20261105" and the week date "2026-W45-4". Two copies of a tenge
parser read amounts two ways: the contract amendment refused "1500.255" as if it were no amount at all, neither took
the narrow no-break space kk and ru write 1 500 000 with. Now every date is read by
:func:`app.user_input.calendar_date` and every typed amount by :func:`app.user_input.tiyn_of_tenge`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.registry.importers import KINDS, RowError, import_file
from app.registry.models import NedbEnrollment
from app.user_input import NotTenge, calendar_date, tiyn_of_tenge
from tests.registry.conftest import iin

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _year_in(digits) -> object:
    """The date with its year only in other digits: what strptime's ``%Y`` reads (its ``%d`` and ``%m`` do not)."""
    return lambda text: re.sub(r"[0-9]{4}", lambda year: year[0].translate(digits), text)


#: the spellings of a date in other digits: all of it, or its year only (strptime read the year)
SPELLINGS = {"arabic-indic": lambda text: text.translate(ARABIC_INDIC),
             "full-width": lambda text: text.translate(FULL_WIDTH),
             "arabic-indic year": _year_in(ARABIC_INDIC), "full-width year": _year_in(FULL_WIDTH)}


# --- dates -------------------------------------------------------------------------------------------------------


def test_the_date_helper_reads_ascii_calendar_dates_only():
    assert calendar_date("2026-11-05") == calendar_date("2026-11-5") == date(2026, 11, 5)
    assert calendar_date("05.11.2026", day_first=True) == date(2026, 11, 5)
    assert calendar_date("5.11.2026", day_first=True) == date(2026, 11, 5)
    assert calendar_date("05.11.2026") is None, "day first only where the field or file takes it"
    for text in ("05.11.2026".translate(ARABIC_INDIC), "2026-11-05".translate(FULL_WIDTH), "05.11.٢٠٢٦", "٢٠٢٦-11-05",
                 "20261105", "2026-W45-4", "2026-02-30", " 2026-11-05", "2026-11-05x", "", None, 20261105):
        assert calendar_date(text, day_first=True) is None, text


def test_no_module_reads_a_date_with_strptime(project_root):
    """The class: a new ``strptime`` is found here the day it is written (it reads every script's digits)."""
    found = [f"{path.relative_to(project_root)}:{number}"
             for path in sorted((Path(project_root) / "app").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "strptime(" in line]
    assert found == [], "read it with app.user_input.calendar_date:\n" + "\n".join(found)


def _app_kinds():
    import app.dormitories.registry  # noqa: F401 - registers the dormitory kinds


#: every date column of every registry file: (kind, a good row, the date column)
_NEDB = {"iin": iin(1), "full_name": "Алиев Арман", "school_bin": "950440001673", "school_kind": "private",
         "grade": "5", "enrolled_on": "01.09.2026", "withdrawn_on": "15.10.2026"}
_STUDENT = {"iin": iin(1), "full_name": "Алиев Арман", "institution_bin": "950440001673", "course": "2",
            "study_form": "full_time", "home_region": "ASTANA", "enrolled_on": "01.09.2026", "withdrawn_on": ""}
_LICENCE = {"number": "KZ-1", "bin": "950440001673", "valid_from": "2025-09-01", "valid_until": "31.08.2027",
            "levels": "primary"}
_BUSINESS = {"bin": "950440001673", "name": "Bilim", "status": "liquidated", "oked": "85.31",
             "liquidated_on": "01.10.2026"}
_DOCUMENT = {"number": "D-1", "dormitory_bin": "950440001673", "kind": "ownership", "valid_from": "01.09.2025",
             "valid_until": "2030-09-01"}
DATE_CELLS = [("nedb", _NEDB, "enrolled_on"), ("nedb", _NEDB, "withdrawn_on"), ("students", _STUDENT, "enrolled_on"),
              ("licences", _LICENCE, "valid_from"), ("licences", _LICENCE, "valid_until"),
              ("business", _BUSINESS, "liquidated_on"), ("dormitory_documents", _DOCUMENT, "valid_from"),
              ("dormitory_documents", _DOCUMENT, "valid_until")]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("kind, row, column", DATE_CELLS, ids=[f"{k}.{c}" for k, _r, c in DATE_CELLS])
def test_a_registry_date_in_other_digits_is_refused_with_the_reason(app_ctx, kind, row, column, spelling):
    _app_kinds()
    parse = KINDS[kind].parse
    assert parse(dict(row))[column] is not None, "the row in ASCII digits loads"
    with pytest.raises(RowError) as refused:
        parse({**row, column: SPELLINGS[spelling](row[column])})
    assert (refused.value.column, refused.value.code) == (column, "non_ascii_digits")


def test_an_activity_code_in_other_digits_is_refused_with_the_reason(app_ctx):
    with pytest.raises(RowError) as refused:
        KINDS["business"].parse({**_BUSINESS, "oked": "８５.31"})
    assert refused.value.code == "non_ascii_digits"


def test_a_nedb_file_with_a_date_in_other_digits_loads_its_other_rows_only(app_ctx, tmp_path):
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n"
                    f"{iin(1)},Алиев Арман,950440001673,private,5,01.09.2026,\n"
                    f"{iin(2)},Бекова Дана,950440001673,private,5,01.09.٢٠٢٦,\n",
                    encoding="utf-8")
    result = import_file("nedb", path)
    db.session.commit()
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [(3, "enrolled_on", "non_ascii_digits")]
    assert db.session.scalars(select(NedbEnrollment.iin)).all() == [iin(1)]


def test_an_act_files_date_in_other_digits_is_a_refused_line(app_ctx, tmp_path):
    from app.inbox.lines_from_file import LinesReport, read_lines

    schema = {"type": "object", "properties": {"lines": {"type": "array", "items": {
        "type": "object", "required": ["iin", "moved_in"],
        "properties": {"iin": {"type": "string", "format": "iin"}, "moved_in": {"type": "string", "format": "date"}}}}}}
    path = tmp_path / "act.csv"
    path.write_text(f"iin,moved_in\n{iin(1)},05.11.2026\n{iin(2)},05.11.٢٠٢٦\n{iin(3)},05.11.２０２６\n"
                    f"{iin(4)},{'05.11.2026'.translate(ARABIC_INDIC)}\n", encoding="utf-8")
    report = LinesReport()
    read_lines(path, schema, {}, "lines", report)
    assert report.lines == [{"iin": iin(1), "moved_in": "2026-11-05"}]
    assert [(p["line"], p["column"]) for p in report.problems] == [(3, "moved_in"), (4, "moved_in"), (5, "moved_in")]
    assert all("digits 0–9" in p["reason"] for p in report.problems), report.problems


@pytest.mark.parametrize("typed", ["20261105", "2026-W45-4", "05.11.٢٠٢٦"])
def test_a_typed_date_is_a_calendar_date_in_every_contract_form(app_ctx, typed):
    from app.contracts import amendments, settlements
    from app.engine.errors import FormInvalid

    with pytest.raises(FormInvalid) as amendment:
        amendments.parse_form({"period_end": typed, "effective_from": typed})
    assert {"period_end", "effective_from"} <= set(amendment.value.errors)
    with pytest.raises(FormInvalid) as settlement:
        settlements.parse_form({"line_id": "1", "seen": "0", "amount": "10", "order_number": "PP-1",
                                "paid_on": typed}, "paid")
    assert set(settlement.value.errors) == {"paid_on"}


def test_an_order_window_typed_as_a_week_date_is_refused_and_no_order_placed(world, browser):
    from app.orders.models import StateOrder

    official = browser("official")
    orders = db.session.scalar(select(func.count()).select_from(StateOrder))
    page = official.post("/orders/new", {"academic_year": "2027/2028", "budget": "1500000",
                                         "window_opens": "2026-W45-4", "window_closes": "20270630"})
    assert page.status_code == 422 and "Window opens: enter a date." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == orders


@pytest.mark.parametrize("typed", ["2026-W45-4", "20261105", "٢٠٢٦-11-05"])
def test_a_filters_date_is_a_calendar_date_or_is_said_to_be_ignored(world, browser, typed):
    official, operator = browser("official"), browser("operator")
    inbox = official.get("/inbox", query_string={"due_before": typed})
    assert inbox.status_code == 200 and "must be a date" in inbox.get_data(as_text=True)
    cockpit = operator.get("/instances", query_string={"started_from": typed})
    assert cockpit.status_code == 200 and "Dates are written YYYY-MM-DD" in cockpit.get_data(as_text=True)
    assert "must be a date" not in official.get("/inbox?due_before=2026-12-1").get_data(as_text=True)
    assert "Dates are written" not in operator.get("/instances?started_from=2026-11-5").get_data(as_text=True)


# --- money -------------------------------------------------------------------------------------------------------

ASKS = "Enter the amount, e.g. 1500."
DECIMALS = "Enter at most two digits after the decimal mark: a tiyn is the smallest amount."
TOO_LARGE = "The amount is too large: at most 15 digits of tenge."


@pytest.mark.parametrize("typed, tiyn", [
    ("1500", 150_000), ("1500.5", 150_050), ("1500,50", 150_050), ("1500.", 150_000), ("1 500 000", 150_000_000),
    ("1\u00a0500\u00a0000,25", 150_000_025), ("1\u202f500\u202f000", 150_000_000), ("1\u2009500", 150_000),
    (" 1 500 ₸ ", 150_000), ("1500₸", 150_000), ("0", 0), ("0.01", 1), ("00012", 1_200),
    ("9" * 15 + ".99", 10**17 - 1), ("0" * 5000 + "7", 700),
])
def test_the_amount_helper_reads_tenge_as_people_write_them(app_ctx, typed, tiyn):
    assert tiyn_of_tenge(typed, ASKS) == tiyn


@pytest.mark.parametrize("typed, message", [
    ("1500.255", DECIMALS), ("1,500", DECIMALS), ("1500,000", DECIMALS), ("9" * 16, TOO_LARGE),
    ("9" * 5000, TOO_LARGE), ("1" + " 000" * 6, TOO_LARGE),
    ("١٥٠٠", ASKS), ("１５００", ASKS), ("1500.٥", ASKS), ("-5", ASKS), ("\u22125", ASKS), ("+5", ASKS),
    ("1 50", ASKS), ("15 00 000", ASKS), ("1,500,000", ASKS), ("1.500.000", ASKS), ("1e6", ASKS), ("", ASKS),
    (".5", ASKS), ("1_500", ASKS), ("abc", ASKS), (None, ASKS), ("1500\n1", ASKS),
])
def test_the_amount_helper_refuses_with_the_reason(app_ctx, typed, message):
    with pytest.raises(NotTenge) as refused:
        tiyn_of_tenge(typed, ASKS)
    assert refused.value.message == message
    assert tiyn_of_tenge("-5", ASKS, negative=True) == -500


def _order_budget(typed: str):
    from app.engine.errors import DomainRefused
    from app.orders.views import _parse_tenge

    try:
        return _parse_tenge(typed), None
    except DomainRefused as refused:
        return None, str(refused)


def _amendment_amount(typed: str):
    from app.contracts.amendments import parse_form
    from app.engine.errors import FormInvalid

    form = {"places_primary": "1", "places_basic": "0", "places_secondary": "0", "amount": typed,
            "period_end": "2027-05-31", "effective_from": "2026-12", "rationale": "More places were allocated.",
            "confirm": "true", "revision": "1"}
    try:
        return parse_form(form).amount_cap_tiyn, None
    except FormInvalid as refused:
        return None, refused.errors["amount"]


def _settlement_amount(typed: str):
    from app.contracts.settlements import parse_form
    from app.engine.errors import FormInvalid

    try:
        return parse_form({"line_id": "1", "seen": "0", "amount": typed, "reason": "Grade checked with the school."},
                          "written_off").amount_tiyn, None
    except FormInvalid as refused:
        return None, refused.errors["amount"]


#: every field a person types an amount into, and what it asks for when the value is no amount
AMOUNT_FIELDS = {
    "order budget": (_order_budget, "Enter the budget in tenge, e.g. 1500000000."),
    "amendment amount cap": (_amendment_amount, "Enter the amount in tenge, e.g. 150000000 or 150000000.50."),
    "settlement amount": (_settlement_amount, "Enter the amount in tenge, e.g. 150000000 or 150000000.50."),
}


@pytest.mark.parametrize("field", AMOUNT_FIELDS)
def test_every_amount_field_reads_and_refuses_amounts_alike(app_ctx, field):
    read, asks = AMOUNT_FIELDS[field]
    assert read("1\u202f500\u202f000,50") == (150_000_050, None), "grouped as kk and ru print it"
    assert read("1 500 000.5 ₸") == (150_000_050, None)
    assert read("1500.255") == (None, DECIMALS), "a third decimal is refused with its reason, never rounded"
    assert read("9" * 5000) == (None, TOO_LARGE)
    assert read("9" * 20) == (None, TOO_LARGE), "20 digits overflowed the bigint column"
    for typed in ("１５００", "١٥٠٠", "-1500", "1,500,000"):
        assert read(typed) == (None, asks), typed


def test_a_budget_in_other_digits_or_with_a_third_decimal_places_no_order(world, browser):
    from app.orders.models import StateOrder

    official = browser("official")
    orders = db.session.scalar(select(func.count()).select_from(StateOrder))
    for budget, said in (("1500000.255", DECIMALS), ("9" * 5000, TOO_LARGE)):
        page = official.post("/orders/new", {"academic_year": "2027/2028", "budget": budget,
                                             "window_opens": "2026-11-05", "window_closes": "2027-06-30"})
        assert page.status_code == 422 and said in page.get_data(as_text=True)
        dorm = official.post("/orders/new", {
            "instrument": "dormitory", "first_year": "2027", "years": "3", "locality": "urban", "places": "30",
            "budget": budget, "window_opens": "2026-11-05", "window_closes": "2027-06-30"})
        assert dorm.status_code == 422 and said in dorm.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == orders
    assert not re.search(r"Traceback|Internal Server Error", page.get_data(as_text=True))
