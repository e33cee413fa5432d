"""The registry importers' rules cell by cell, on values and small hand-made files (the sixteenth mutation round,
benchmarks/MUTATION.md): what each parser reads a cell as, and the exact reason code of every row it refuses — a
wrong reading pays a child who left, or withholds a school's money. Pure functions first (no database), then a few
files through :func:`import_file` with the exact rows, errors and notes."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.registry import cells, importers
from app.registry.cells import Serial1904, UnreadableIdentifier
from app.registry.identifiers import is_valid_bin, is_valid_iin
from app.registry.importers import (
    KINDS,
    NOTES,
    FileUnreadable,
    Layout,
    Misaligned,
    RowError,
    _cells,
    _columns_of,
    _csv_reader,
    _date,
    _ident,
    _is_header,
    _name,
    _period,
    _person_name,
    _text,
    _whole_number,
    csv_encoding,
    enrolment_dates,
    file_columns,
    find_layout,
    header_of,
    heading_key,
    headings_as_written,
    import_file,
    parse_business,
    parse_licence,
    parse_merge,
    parse_nedb,
    read_rows,
    scan,
)
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, NedbIinMerge

CHILD = "150101600107"  # born 2015-01-01
CHILD2 = "150101600206"
ZERO_CHILD = "050301500008"  # born 2005-03-01: its leading 0 is what a spreadsheet drops
SCHOOL_BIN = "950440001673"
OTHER_BIN = "950440000000"
TODAY = date(2026, 11, 5)


@pytest.fixture(autouse=True)
def _today():
    clock.set_clock(lambda: datetime(2026, 11, 5, 9, 0, tzinfo=UTC))  # 14:00 in Astana: today is 5 November
    yield
    clock.reset_clock()


def code_of(func, *args):
    with pytest.raises(RowError) as raised:
        func(*args)
    return raised.value.column, raised.value.code


# --- cells.py --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (150101600107, "150101600107"), (50301500008, ZERO_CHILD), (0, "000000000000"), (999_999_999_999, "9" * 12),
    (150101600107.0, "150101600107"), ("150101 600107", CHILD), ("1501-0160-0107", CHILD),
    ("150101\u00a0600107", CHILD), ("1501\u20130160\u20140107", CHILD), ("1501\u22120160\u20120107", CHILD),
    ("1501\u20100160\u20110107", CHILD), ("1501\u20070160\u2009" "0107", CHILD), ("150101\u202f600107", CHILD),
    ("  '150101600107 ", CHILD), ("150101600107.0", CHILD), ("'050301500008", ZERO_CHILD), ("12ab", "12ab"),
    ("1.5", "1.5"), ("15E+111", "15E+111"), ("X150101600107", "X150101600107"), ("'X'1", "X'1"),
])
def test_identifier_of_reads_the_twelve_digits(value, expected):
    assert cells.identifier_of(value) == expected


@pytest.mark.parametrize(("value", "code"), [
    (True, "invalid"), (False, "invalid"), (None, "invalid"), ([1], "invalid"), (1.5, "invalid"), (-1, "invalid"),
    (10**12, "invalid"), (1e12, "invalid"), ("1.50101E+11", "scientific_notation"),
    ("1,50101e11", "scientific_notation"),
    ("1E+11", "scientific_notation"), ("1.5e1", "scientific_notation"), ("１５0101600107", "non_ascii_digits"),
    ("١٥٠١٠١٦٠٠١٠٧", "non_ascii_digits"),
])
def test_identifier_of_refuses_what_is_no_twelve_digits(value, code):
    with pytest.raises(UnreadableIdentifier) as raised:
        cells.identifier_of(value)
    assert raised.value.code == code
    assert str(raised.value) == code


@pytest.mark.parametrize(("value", "expected"), [
    ("5", 5), (5, 5), (5.0, 5), ("5.0", 5), (" 7 ", 7), ("0", 0), ("123456", 123456), (12, 12),
    (5.9, None), (True, None), (False, None), ("١٢", None), ("1_0", None), ("-1", None), ("1234567", None),
    ("", None), (None, None), ("5.5", None), ("+5", None),
])
def test_whole_number_of(value, expected):
    assert cells.whole_number_of(value, max_digits=6) == expected


def test_whole_number_of_counts_the_digits_allowed():
    assert cells.whole_number_of("12", max_digits=2) == 12
    assert cells.whole_number_of("123", max_digits=2) is None
    assert cells.whole_number_of(123, max_digits=3) == 123


@pytest.mark.parametrize("ch", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\x7f", "\x80", "\x9f"])
def test_control_characters_are_found(ch):
    assert cells.has_control_characters(f"Ал{ch}иев")


@pytest.mark.parametrize("ch", ["\t", "\n", "\r", " ", "\xa0", "\x20", "~", "ә", "\u00a1"])
def test_white_space_and_letters_are_no_control_characters(ch):
    assert not cells.has_control_characters(f"Ал{ch}иев")


def test_lost_letters_and_squeezed_spaces():
    assert cells.has_lost_letters("Ж?нiс") and cells.has_lost_letters("Ж\ufffdніс")
    assert not cells.has_lost_letters("Жәніс!")
    assert cells.squeeze_spaces("  Алиев \n\u00a0 Нурлан\t ") == "Алиев Нурлан"
    assert cells.identifier_text(" 15 01-01\u00a06 ") == "1501016"


@pytest.mark.parametrize(("name", "expected"), [
    ("Aлиев", "Алиев"),  # a Latin A among Cyrillic letters
    ("Oлeг Пeтрoв", "Олег Петров"),
    ("Pаul", "Paul"),  # a Cyrillic а among Latin letters with no Cyrillic twin
    ("Ivaнov", "Ivaнov"),  # foreign letters of both scripts without a twin: as written
    ("Аo", "Аo"),  # one letter of each, both twins: a tie, as written
    ("CОC", "COC"),  # both could be: towards the script most letters are in
    ("СoС", "СоС"),
    ("Алиев", "Алиев"), ("Smith", "Smith"), ("Aлиев-Smith", "Алиев-Smith"), ("Hелен", "Нелен"), ("Xан", "Хан"),
    ("Yлан", "Улан"), ("Iнкар", "Інкар"), ("Мaxат", "Махат"),
])
def test_a_name_is_written_in_one_script_where_certain(name, expected):
    assert cells.in_one_script(name) == expected


def test_scripts_of_characters():
    assert cells._script("ж") == "cyrillic" and cells._script("\u0400") == "cyrillic"
    assert cells._script("\u04ff") == "cyrillic" and cells._script("\u0500") is None
    assert cells._script("z") == "latin" and cells._script("1") is None and cells._script("é") is None
    assert cells._script("\u03ff") is None


@pytest.mark.parametrize(("value", "expected"), [
    ("kz86 125k zt50 0410 0100", "KZ86125KZT5004100100"), ("КZ86125КZТ5004100100", "KZ86125KZT5004100100"),
    ("KZ86-125K-ZT50\u00a00410\u202f0100", "KZ86125KZT5004100100"), (None, ""), (123, ""), ("", ""),
])
def test_iban_text(value, expected):
    assert cells.iban_text(value) == expected


@pytest.mark.parametrize(("number", "expected"), [
    (46266, date(2026, 9, 1)), (46266.0, date(2026, 9, 1)), (32874, date(1990, 1, 1)), (32873, None),
    (73050, date(2099, 12, 31)), (73051, None), (46266.5, None), (0, None), (-46266, None), (100_000, None),
    (Serial1904(44804), date(2026, 9, 1)), (Serial1904(0), None), (Serial1904(44804.5), None),
])
def test_excel_serial_dates(number, expected):
    assert cells.excel_serial_date(number) == expected


def test_excel_serial_date_upper_bound_is_checked_before_the_day():
    # 99,999 is 2173: refused by its year; 100,000 and more by the bound (a date overflow otherwise)
    assert cells.excel_serial_date(99_999) is None
    assert cells.excel_serial_date(10**9) is None


# --- the row parsers ---------------------------------------------------------------------------------------------


def test_text():
    assert _text({"a": "  x  "}, "a", 1) == "x"
    assert _text({"a": 12}, "a", 2) == "12"
    assert _text({"a": "abc"}, "a", 3) == "abc"
    assert code_of(_text, {"a": "abcd"}, "a", 3) == ("a", "too_long")
    assert code_of(_text, {"a": None}, "a", 3) == ("a", "missing")
    assert code_of(_text, {}, "a", 3) == ("a", "missing")
    assert code_of(_text, {"a": "   "}, "a", 3) == ("a", "missing")
    assert _text({"a": " "}, "a", 3, required=False) is None
    assert _text({}, "a", 3, False) is None
    assert code_of(_text, {"a": "a\x00b"}, "a", 3) == ("a", "control_character")
    assert code_of(_text, {"a": "a\x00bcd"}, "a", 3) == ("a", "control_character")  # said before the length
    assert _text({"a": 0}, "a", 3) == "0"


def test_names():
    assert _name({"n": " ТОО  «Мектеп»\nplus "}, "n", 20) == "ТОО «Мектеп» plus"
    record: dict = {}
    assert _person_name({"full_name": "Aлиев  Нурлан"}, "full_name", record) == "Алиев Нурлан"
    assert record == {NOTES: ["name_one_script"]}
    record = {NOTES: ["merged_iin"]}
    _person_name({"full_name": "Oлeг"}, "full_name", record)
    assert record == {NOTES: ["merged_iin", "name_one_script"]}
    record = {}
    assert _person_name({"full_name": "Алиев Нурлан"}, "full_name", record) == "Алиев Нурлан"
    assert record == {}
    assert code_of(_person_name, {"full_name": "Ж?ніс"}, "full_name", {}) == ("full_name", "lost_letters")
    assert code_of(_person_name, {"full_name": "Ж\ufffdніс"}, "full_name", {}) == ("full_name", "lost_letters")
    assert _person_name({"full_name": "а" * 200}, "full_name", {}) == "а" * 200
    assert code_of(_person_name, {"full_name": "а" * 201}, "full_name", {}) == ("full_name", "too_long")
    assert code_of(_person_name, {"full_name": ""}, "full_name", {}) == ("full_name", "missing")


@pytest.mark.parametrize(("value", "expected"), [
    (CHILD, CHILD), (150101600107, CHILD), (50301500008, ZERO_CHILD), ("150101 600107", CHILD),
    ("'050301500008", ZERO_CHILD), (150101600107.0, CHILD),
])
def test_ident_reads(value, expected):
    assert _ident({"iin": value}, "iin", is_valid_iin, "invalid_iin") == expected


@pytest.mark.parametrize(("value", "code"), [
    (None, "missing"), ("", "missing"), ("  ", "missing"), (True, "invalid_iin"), (1.5, "invalid_iin"),
    ("1.50101E+11", "scientific_notation"), ("１５0101600107", "non_ascii_digits"),
    ("50301500008", "leading_zero_lost"), (50301500008.5, "invalid_iin"), ("50301500000", "invalid_iin"),
    ("150101600108", "invalid_iin"), ("1501016001070", "too_long"), ("15010160011", "invalid_iin"),
    ("abc", "invalid_iin"), ("1501016001\x00", "control_character"),
    ("X150101600107", "too_long"),  # only a text mark's apostrophe is taken off, no letter before the digits
    ("'X150101600107", "too_long"), ("X'150101600107", "too_long"), ("X15010160010", "invalid_iin"),
])
def test_ident_refuses(value, code):
    assert code_of(_ident, {"iin": value}, "iin", is_valid_iin, "invalid_iin") == ("iin", code)


def test_ident_of_a_bin_says_bin():
    assert _ident({"bin": 950440001673}, "bin", is_valid_bin, "invalid_bin") == SCHOOL_BIN
    assert code_of(_ident, {"bin": "950440001674"}, "bin", is_valid_bin, "invalid_bin") == ("bin", "invalid_bin")
    assert code_of(_ident, {"bin": 1.5}, "bin", is_valid_bin, "invalid_bin") == ("bin", "invalid_bin")
    assert code_of(_ident, {"bin": "1E+11"}, "bin", is_valid_bin, "invalid_bin") == ("bin", "scientific_notation")


@pytest.mark.parametrize(("value", "expected"), [
    (datetime(2026, 9, 1, 13, 5), date(2026, 9, 1)), (date(2026, 9, 1), date(2026, 9, 1)),
    (46266, date(2026, 9, 1)), (46266.0, date(2026, 9, 1)), (Serial1904(44804), date(2026, 9, 1)),
    ("46266", date(2026, 9, 1)), (" 46266 ", date(2026, 9, 1)),
    ("2026-09-01", date(2026, 9, 1)), ("01.09.2026", date(2026, 9, 1)), (" 2026-09-01 ", date(2026, 9, 1)),
    ("2026-09-01 00:00:00", date(2026, 9, 1)), ("2026-09-01T00:00", date(2026, 9, 1)),
    ("01.09.2026 0:00", date(2026, 9, 1)), ("2026-09-01 00:00:00.000", date(2026, 9, 1)),
    ("2026-09-01 00:00", date(2026, 9, 1)),
])
def test_dates_read(value, expected):
    assert _date({"d": value}, "d") == expected


@pytest.mark.parametrize(("value", "code"), [
    (None, "missing"), ("", "missing"), ("  ", "missing"), ("2026-09-01 12:00", "invalid_date"),
    ("2026-09-01 00:00:01", "invalid_date"), ("01/09/2026", "invalid_date"), ("2026-02-30", "invalid_date"),
    ("12.11.٢٠٢٦", "non_ascii_digits"), ("２０２６-09-01", "non_ascii_digits"), (46266.5, "invalid_date"),
    (32873, "invalid_date"), ("32873", "invalid_date"), ("123456", "invalid_date"), ("4626", "invalid_date"),
    (True, "invalid_date"), ("next monday", "invalid_date"), (0, "invalid_date"),
])
def test_dates_refused(value, code):
    assert code_of(_date, {"d": value}, "d") == ("d", code)


def test_an_optional_date():
    assert _date({"d": ""}, "d", required=False) is None
    assert _date({}, "d", required=False) is None
    assert code_of(_date, {"d": "x"}, "d", False) == ("d", "invalid_date")


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("12", 12), (5, 5), (5.0, 5), ("5.0", 5), (" 7 ", 7), (0, 0), (12.0, 12),
])
def test_grades_read(value, expected):
    assert _whole_number({"grade": value}, "grade", 0, 12, "invalid_grade") == expected


@pytest.mark.parametrize(("value", "code"), [
    (None, "missing"), ("", "missing"), ("13", "invalid_grade"), (13, "invalid_grade"), ("-1", "invalid_grade"),
    (-1, "invalid_grade"), (5.5, "invalid_grade"), (True, "invalid_grade"), ("١٢", "invalid_grade"),
    ("1234567", "invalid_grade"), ("five", "invalid_grade"), ("  ", "invalid_grade"),
])
def test_grades_refused(value, code):
    assert code_of(_whole_number, {"grade": value}, "grade", 0, 12, "invalid_grade") == ("grade", code)


def test_course_limits():
    assert _whole_number({"course": "1"}, "course", 1, 7, "invalid_course") == 1
    assert _whole_number({"course": "7"}, "course", 1, 7, "invalid_course") == 7
    assert code_of(_whole_number, {"course": "0"}, "course", 1, 7, "invalid_course") == ("course", "invalid_course")
    assert code_of(_whole_number, {"course": "8"}, "course", 1, 7, "invalid_course") == ("course", "invalid_course")
    assert _whole_number({"n": "999999"}, "n", 0, 10**6, "x") == 999999
    assert code_of(_whole_number, {}, "course", 1, 7, "invalid_course") == ("course", "missing")


def test_periods():
    assert _period({"a": "2026-09-01", "b": ""}, "a", "b") == (date(2026, 9, 1), None)
    assert _period({"a": "2026-09-01", "b": "2026-09-01"}, "a", "b") == (date(2026, 9, 1), date(2026, 9, 1))
    assert code_of(_period, {"a": "2026-09-02", "b": "2026-09-01"}, "a", "b") == ("b", "end_before_start")
    assert code_of(_period, {"a": "", "b": "2026-09-01"}, "a", "b") == ("a", "missing")
    assert code_of(_period, {"a": "2026-09-01", "b": "x"}, "a", "b") == ("b", "invalid_date")


def test_enrolment_dates_limits():
    ahead = date(2027, 11, 6)  # today (5 November 2026) + 366 days
    assert enrolment_dates({"enrolled_on": ahead, "withdrawn_on": ahead}, CHILD) == (ahead, ahead)
    assert code_of(enrolment_dates, {"enrolled_on": date(2027, 11, 7), "withdrawn_on": None}, CHILD) == \
        ("enrolled_on", "far_future")
    assert code_of(enrolment_dates, {"enrolled_on": date(2026, 9, 1), "withdrawn_on": date(2027, 11, 7)}, CHILD) == \
        ("withdrawn_on", "far_future")
    assert enrolment_dates({"enrolled_on": date(2015, 1, 1)}, CHILD) == (date(2015, 1, 1), None)
    assert code_of(enrolment_dates, {"enrolled_on": date(2014, 12, 31)}, CHILD) == ("enrolled_on", "before_birth")
    assert enrolment_dates({"enrolled_on": date(2005, 3, 1)}, ZERO_CHILD) == (date(2005, 3, 1), None)
    assert code_of(enrolment_dates, {"enrolled_on": date(2005, 2, 28)}, ZERO_CHILD) == ("enrolled_on", "before_birth")
    # an IIN that carries no birth date (century digit 0) is not held to one
    assert enrolment_dates({"enrolled_on": date(1990, 1, 1)}, "150101000000") == (date(1990, 1, 1), None)


def _nedb(**cells_):
    row = {"iin": CHILD, "full_name": "Алиев Нурлан", "school_bin": SCHOOL_BIN, "grade": "5",
           "enrolled_on": "01.09.2026", "withdrawn_on": ""}
    row.update(cells_)
    return row


def test_parse_nedb_reads_every_column():
    assert parse_nedb(_nedb()) == {"iin": CHILD, "full_name": "Алиев Нурлан", "school_bin": SCHOOL_BIN,
                                   "school_kind": "private", "grade": 5, "enrolled_on": date(2026, 9, 1),
                                   "withdrawn_on": None}
    record = parse_nedb(_nedb(iin=50301500008, full_name="Aлиев", school_kind=" STATE ", grade=0,
                              withdrawn_on="2026-10-11", school_bin=950440001673))
    assert record == {NOTES: ["name_one_script"], "iin": ZERO_CHILD, "full_name": "Алиев", "school_bin": SCHOOL_BIN,
                      "school_kind": "state", "grade": 0, "enrolled_on": date(2026, 9, 1),
                      "withdrawn_on": date(2026, 10, 11)}
    assert list(record) == [NOTES, "iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on",
                            "withdrawn_on"]
    assert parse_nedb(_nedb(school_kind="Private"))["school_kind"] == "private"


@pytest.mark.parametrize(("cells_", "error"), [
    ({"school_kind": "public"}, ("school_kind", "invalid_kind")),
    ({"school_kind": "privately"}, ("school_kind", "too_long")),
    ({"iin": "150101600108"}, ("iin", "invalid_iin")),
    ({"iin": "50301500008"}, ("iin", "leading_zero_lost")),
    ({"iin": ""}, ("iin", "missing")),
    ({"full_name": ""}, ("full_name", "missing")),
    ({"full_name": "Ж?ніс"}, ("full_name", "lost_letters")),
    ({"school_bin": "950440001674"}, ("school_bin", "invalid_bin")),
    ({"school_bin": ""}, ("school_bin", "missing")),
    ({"grade": "13"}, ("grade", "invalid_grade")),
    ({"grade": ""}, ("grade", "missing")),
    ({"enrolled_on": ""}, ("enrolled_on", "missing")),
    ({"enrolled_on": "2014-12-31"}, ("enrolled_on", "before_birth")),
    ({"withdrawn_on": "2026-08-31"}, ("withdrawn_on", "end_before_start")),
    ({"school_kind": "public", "iin": "x"}, ("school_kind", "invalid_kind")),  # the first column checked
    ({"iin": "x", "enrolled_on": "x"}, ("iin", "invalid_iin")),
    ({"enrolled_on": "x", "full_name": ""}, ("enrolled_on", "invalid_date")),
    ({"full_name": "", "school_bin": ""}, ("full_name", "missing")),
    ({"school_bin": "", "grade": ""}, ("school_bin", "missing")),
])
def test_parse_nedb_refuses(cells_, error):
    assert code_of(parse_nedb, _nedb(**cells_)) == error


def _licence(**cells_):
    row = {"number": "KZ-1", "bin": SCHOOL_BIN, "valid_from": "2020-01-01", "valid_until": "", "levels": "primary"}
    row.update(cells_)
    return row


def test_parse_licence():
    assert parse_licence(_licence()) == {"number": "KZ-1", "bin": SCHOOL_BIN, "valid_from": date(2020, 1, 1),
                                         "valid_until": None, "levels": "primary"}
    record = parse_licence(_licence(levels=" Secondary;basic |PRIMARY, basic", valid_until="31.12.2030"))
    assert record["levels"] == "primary,basic,secondary"
    assert record["valid_until"] == date(2030, 12, 31)
    assert parse_licence(_licence(levels="secondary\tprimary"))["levels"] == "primary,secondary"
    assert parse_licence(_licence(number="N" * 40))["number"] == "N" * 40


@pytest.mark.parametrize(("cells_", "error"), [
    ({"levels": ""}, ("levels", "missing")), ({"levels": "higher"}, ("levels", "invalid_levels")),
    ({"levels": ",;|"}, ("levels", "invalid_levels")), ({"levels": "primary,higher"}, ("levels", "invalid_levels")),
    ({"levels": "p" * 61}, ("levels", "too_long")), ({"number": "N" * 41}, ("number", "too_long")),
    ({"number": ""}, ("number", "missing")), ({"bin": "950440001674"}, ("bin", "invalid_bin")),
    ({"valid_from": ""}, ("valid_from", "missing")),
    ({"valid_until": "2019-12-31"}, ("valid_until", "end_before_start")),
    ({"levels": "higher", "valid_from": ""}, ("levels", "invalid_levels")),
    ({"valid_from": "", "number": ""}, ("valid_from", "missing")),
    ({"number": "", "bin": ""}, ("number", "missing")),
])
def test_parse_licence_refuses(cells_, error):
    assert code_of(parse_licence, _licence(**cells_)) == error


def _business(**cells_):
    row = {"bin": SCHOOL_BIN, "name": "ТОО «Мектеп»", "status": "active", "oked": "85.31", "liquidated_on": ""}
    row.update(cells_)
    return row


def test_parse_business():
    assert parse_business(_business()) == {"bin": SCHOOL_BIN, "name": "ТОО «Мектеп»", "status": "active",
                                           "oked": "85.31", "liquidated_on": None}
    record = parse_business(_business(status=" LIQUIDATED ", liquidated_on="2027-11-06", name=" A\n  B "))
    assert record == {"bin": SCHOOL_BIN, "name": "A B", "status": "liquidated", "oked": "85.31",
                      "liquidated_on": date(2027, 11, 6)}
    for oked in ("85", "85.3", "85.31", "85.31.1", "85.3.12", "85.31.12"):
        assert parse_business(_business(oked=oked))["oked"] == oked
    assert parse_business(_business(name="N" * 255))["name"] == "N" * 255


@pytest.mark.parametrize(("cells_", "error"), [
    ({"status": "closed"}, ("status", "invalid_status")), ({"status": ""}, ("status", "missing")),
    ({"status": "l" * 17}, ("status", "too_long")), ({"oked": "851"}, ("oked", "invalid_oked")),
    ({"oked": "85.312"}, ("oked", "invalid_oked")), ({"oked": "85."}, ("oked", "invalid_oked")),
    ({"oked": "85.31.123"}, ("oked", "invalid_oked")), ({"oked": "8"}, ("oked", "invalid_oked")),
    ({"oked": "８５.31"}, ("oked", "non_ascii_digits")), ({"oked": ""}, ("oked", "missing")),
    ({"oked": "1" * 17}, ("oked", "too_long")),
    ({"liquidated_on": "2026-01-01"}, ("liquidated_on", "liquidated_not_status")),
    ({"status": "liquidated", "liquidated_on": "2027-11-07"}, ("liquidated_on", "far_future")),
    ({"status": "liquidated", "liquidated_on": "x"}, ("liquidated_on", "invalid_date")),
    ({"bin": "950440001674"}, ("bin", "invalid_bin")), ({"name": ""}, ("name", "missing")),
    ({"name": "N" * 256}, ("name", "too_long")),
    ({"status": "closed", "oked": "x"}, ("status", "invalid_status")),
    ({"oked": "x", "liquidated_on": "x"}, ("oked", "invalid_oked")),
    ({"liquidated_on": "x", "bin": "x"}, ("liquidated_on", "invalid_date")),
    ({"bin": "x", "name": ""}, ("bin", "invalid_bin")),
])
def test_parse_business_refuses(cells_, error):
    assert code_of(parse_business, _business(**cells_)) == error


def test_parse_merge():
    assert parse_merge({"retired_iin": CHILD, "surviving_iin": 50301500008}) == \
        {"retired_iin": CHILD, "surviving_iin": ZERO_CHILD}
    assert code_of(parse_merge, {"retired_iin": CHILD, "surviving_iin": "150101 600107"}) == \
        ("surviving_iin", "same_iin")
    assert code_of(parse_merge, {"retired_iin": "x", "surviving_iin": "y"}) == ("retired_iin", "invalid_iin")
    assert code_of(parse_merge, {"retired_iin": CHILD, "surviving_iin": "y"}) == ("surviving_iin", "invalid_iin")


# --- headings and rows -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (None, ""), ("", ""), ("Full  name", "full_name"), ("FULL_NAME\u00a0", "full_name"),
    ("\ufefffull name", "full_name"),
    ("__a__ _b__", "a_b"), ("Дата\nвыбытия", "дата_выбытия"), ("fu\u200bll\u200c_na\u200dme\u2060", "full_name"),
    (12, "12"), ("Straße", "strasse"),
])
def test_heading_key(text, expected):
    assert heading_key(text) == expected


def test_columns_of_names_doubles_and_ignored_headings():
    kind = KINDS["nedb"]
    mapping, ignored = _columns_of(kind, ["iin", "фио", "class", "", "class", "grade"],
                                   {"iin": "IIN", "фио": "ФИО", "class": "Class"})
    assert mapping == {"iin": "iin", "фио": "full_name", "grade": "grade"}
    assert ignored == ["Class"]
    with pytest.raises(FileUnreadable) as raised:
        _columns_of(kind, ["iin", "full_name", "жсн", "фио", "grade"], {"жсн": "ЖСН"})
    assert (raised.value.code, raised.value.detail) == ("duplicate_columns", "iin / ЖСН; full_name / фио")


def test_cells_mark_short_and_long_rows():
    assert _cells(["a", "b"], ["1", "2"]) == {"a": "1", "b": "2"}
    short = _cells(["a", "b", "c"], ["1"])
    assert short == {"a": "1", "b": "", "c": ""}
    assert [type(short[c]) for c in "abc"] == [str, Misaligned, Misaligned]
    assert short["b"].code == short["c"].code == "short_row"
    long = _cells(["a", "b"], ["1", "2", "3", ""])
    assert long == {"a": "1", "b": "2"} and isinstance(long["b"], Misaligned) and long["b"].code == "long_row"
    assert not isinstance(_cells(["a", "b"], ["1", "2", " ", ""])["b"], Misaligned)
    assert _cells([], ["1"]) == {}


# --- files -------------------------------------------------------------------------------------------------------


def _csv(tmp_path, text: str, name: str = "f.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path, rows, name: str = "f.xlsx"):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def _run(path, kind: str = "nedb"):
    scanned = scan(path, KINDS[kind].headings)
    result = import_file(kind, path, formulas=scanned.formulas, layout=scanned.layout)
    db.session.commit()
    return result


def _nedb_rows():
    return db.session.execute(select(NedbEnrollment.iin, NedbEnrollment.full_name, NedbEnrollment.school_bin,
                                     NedbEnrollment.school_kind, NedbEnrollment.grade, NedbEnrollment.enrolled_on,
                                     NedbEnrollment.withdrawn_on).order_by(NedbEnrollment.iin,
                                                                           NedbEnrollment.enrolled_on)).all()


def test_a_csv_with_a_title_russian_headings_and_every_kind_of_bad_row(app_ctx, tmp_path):
    path = _csv(tmp_path, "Выгрузка НОБД;;;;;\n"
                          "\n"
                          "ИИН;ФИО;БИН школы;Класс;Дата зачисления;Дата выбытия;Примечание\n"
                          f"{CHILD};Aлиев  Нурлан;{SCHOOL_BIN};5;01.09.2026;;\n"
                          f"50301500008;Б;{SCHOOL_BIN};5;01.09.2026;;\n"
                          ";;;;;;\n"
                          f"{CHILD2};В;{SCHOOL_BIN};13;01.09.2026;;\n"
                          f"{CHILD2};В;{SCHOOL_BIN};5;2026-09-01 00:00;2026-10-11;\n"
                          f"{CHILD2};В;{SCHOOL_BIN};6\n"
                          f"{CHILD};Алиев Нурлан;{SCHOOL_BIN};6;01.09.2026;;;extra\n"
                          f"{CHILD};Алиев Нурлан;{SCHOOL_BIN};7;01.09.2026;;\n"
                          f"'050301500008;Ж?ніс;{SCHOOL_BIN};1;01.09.2026;;\n")
    assert find_layout(path, KINDS["nedb"].headings) == Layout(header=3, delimiter=";")
    result = _run(path)
    assert (result.total, result.loaded, result.rejected, result.repeated) == (8, 2, 5, 1)
    assert result.columns == ["iin", "full_name", "school_bin", "grade", "enrolled_on", "withdrawn_on"]
    assert result.ignored_columns == ["Примечание"]
    assert result.errors == [
        {"line": 5, "column": "iin", "heading": "ИИН", "code": "leading_zero_lost", "value": "50301500008"},
        {"line": 7, "column": "grade", "heading": "Класс", "code": "invalid_grade", "value": "13"},
        {"line": 9, "column": "enrolled_on", "heading": "Дата зачисления", "code": "short_row", "value": ""},
        {"line": 10, "column": "примечание", "heading": "Примечание", "code": "long_row", "value": ""},
        {"line": 12, "column": "full_name", "heading": "ФИО", "code": "lost_letters", "value": "Ж?ніс"},
    ]
    assert result.notices == [
        {"line": 4, "code": "name_one_script", "iin": CHILD},
        {"line": 11, "code": "repeated_in_file", "iin": CHILD, "earlier_line": 4},
    ]
    assert _nedb_rows() == [
        (CHILD, "Алиев Нурлан", SCHOOL_BIN, "private", 7, date(2026, 9, 1), None),
        (CHILD2, "В", SCHOOL_BIN, "private", 5, date(2026, 9, 1), date(2026, 10, 11)),
    ]


def test_an_xlsx_with_number_cells_dates_and_a_formula_without_its_value(app_ctx, tmp_path):
    path = _xlsx(tmp_path, [
        ["Report"],
        [],
        ["iin", "full_name", "school_bin", "grade", "enrolled_on", "withdrawn_on"],
        [50301500008, "Б", 950440001673, 5, datetime(2026, 9, 1), None],
        [int(CHILD), "А", SCHOOL_BIN, 5.0, 46266, "=DATE(2026,10,11)"],
        [None, None, None, None, None, None],
        [int(CHILD2), "В", SCHOOL_BIN, 5, date(2026, 9, 2), 46266.5],
        [int(CHILD2), "В", SCHOOL_BIN, 5, "2026-09-03", date(2026, 9, 2)],
        ["1.50101E+11", "Г", SCHOOL_BIN, 5, "2026-09-03", None],
    ])
    result = _run(path)
    assert (result.total, result.loaded, result.rejected, result.repeated) == (5, 1, 4, 0)
    assert [(e["line"], e["column"], e["code"], e["value"]) for e in result.errors] == [
        (5, "withdrawn_on", "formula", "=DATE(2026,10,11)"),
        (7, "withdrawn_on", "invalid_date", "46266.5"),
        (8, "withdrawn_on", "end_before_start", "2026-09-02 00:00:00"),
        (9, "iin", "scientific_notation", "1.50101E+11"),
    ]
    assert _nedb_rows() == [(ZERO_CHILD, "Б", SCHOOL_BIN, "private", 5, date(2026, 9, 1), None)]


def test_a_file_without_required_columns_or_with_one_twice_is_refused(app_ctx, tmp_path):
    path = _csv(tmp_path, "iin,full_name,school_kind\n1,2,3\n")
    with pytest.raises(FileUnreadable) as raised:
        file_columns(KINDS["nedb"], path, Layout())
    assert (raised.value.code, raised.value.detail) == ("missing_columns", "school_bin, grade, enrolled_on")
    path = _csv(tmp_path, "ИИН,IIN,full_name,school_bin,grade,enrolled_on\n", name="g.csv")
    with pytest.raises(FileUnreadable) as raised:
        file_columns(KINDS["nedb"], path, Layout())
    assert (raised.value.code, raised.value.detail) == ("duplicate_columns", "ИИН / IIN")
    path = _csv(tmp_path, "IIN ,Full  Name,БИН,grade,enrolled_on,x\n", name="h.csv")
    mapping, ignored, written = file_columns(KINDS["nedb"], path, Layout())
    assert mapping == {"iin": "iin", "full_name": "full_name", "бин": "school_bin", "grade": "grade",
                       "enrolled_on": "enrolled_on"}
    assert ignored == ["x"]
    assert written == {"iin": "IIN", "full_name": "Full Name", "school_bin": "БИН", "grade": "grade",
                       "enrolled_on": "enrolled_on", "x": "x"}


def test_licences_business_and_merges_files(app_ctx, tmp_path):
    licences = _csv(tmp_path, "Номер,БИН,Дата выдачи,Действует до,Уровни\n"
                              f"L1,{SCHOOL_BIN},01.01.2020,,\"basic, primary\"\n"
                              f"L2,{SCHOOL_BIN},01.01.2020,31.12.2019,primary\n"
                              f"L3,{OTHER_BIN},2020-01-01,2030-12-31,higher\n", encoding="cp1251")
    result = _run(licences, "licences")
    assert (result.loaded, result.rejected) == (1, 2)
    assert [(e["line"], e["heading"], e["code"]) for e in result.errors] == [
        (3, "Действует до", "end_before_start"), (4, "Уровни", "invalid_levels")]
    assert db.session.execute(select(Licence.number, Licence.bin, Licence.valid_from, Licence.valid_until,
                                     Licence.levels)).all() == [("L1", SCHOOL_BIN, date(2020, 1, 1), None,
                                                                 "primary,basic")]
    business = _csv(tmp_path, "bin\tname\tstatus\toked\tliquidated_on\n"
                              f"{SCHOOL_BIN}\tМектеп\tLiquidated\t85.31\t46266\n"
                              f"{OTHER_BIN}\tДругая\tactive\t85.31\t2026-01-01\n", name="b.csv")
    result = _run(business, "business")
    assert (result.loaded, result.rejected) == (1, 1)
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == \
        [(3, "liquidated_on", "liquidated_not_status")]
    assert db.session.execute(select(BusinessRecord.bin, BusinessRecord.status, BusinessRecord.liquidated_on)).all() \
        == [(SCHOOL_BIN, "liquidated", date(2026, 9, 1))]
    merges = _csv(tmp_path, f"retired_iin,surviving_iin\n{CHILD2},{CHILD}\n{CHILD},{CHILD}\n", name="m.csv")
    result = _run(merges, "nedb_merges")
    assert (result.loaded, result.rejected) == (1, 1)
    assert db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)).all() == [(CHILD2, CHILD)]
    nedb = _csv(tmp_path, f"iin,full_name,school_bin,grade,enrolled_on\n{CHILD2},В,{SCHOOL_BIN},3,2026-09-01\n",
                name="n.csv")
    result = _run(nedb)
    assert result.notices == [{"line": 2, "code": "merged_iin", "iin": CHILD}]
    assert [r[0] for r in _nedb_rows()] == [CHILD]


# --- reading files: encodings, delimiters, where the table is ------------------------------------------------------


@pytest.mark.parametrize(("data", "encoding"), [
    ("iin,ә\n".encode("utf-16"), "utf-16"), (codecs.BOM_UTF16_BE + "iin\n".encode("utf-16-be"), "utf-16"),
    ("iin,x\n".encode("utf-16-le"), "utf-16-le"), ("iin,x\n".encode("utf-16-be"), "utf-16-be"),
    ("iin,Әлиев\n".encode("kz1048"), "kz1048"), ("iin,Әлиев\n".encode(), "utf-8-sig"),
    (codecs.BOM_UTF8 + b"iin\n", "utf-8-sig"), (b"ab", "utf-8-sig"), (b"", "utf-8-sig"),
    (b"a\x00b\x00", "utf-16-le"), (b"\x00a\x00b", "utf-16-be"), (b"a\x00\x00\x00", "utf-8-sig"),
    (b"\x00a\x00\x00", "utf-8-sig"), (b"ab\x00\x00", "utf-8-sig"), (b"abc" + "ә".encode()[:1], "kz1048"),
])
def test_csv_encoding(tmp_path, data, encoding):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert csv_encoding(path) == encoding


def test_a_kazakh_windows_file_reads_its_kazakh_letters(app_ctx, tmp_path):
    path = _csv(tmp_path, f"iin;full_name;school_bin;grade;enrolled_on\n{CHILD};Әлиев Ұлан;{SCHOOL_BIN};5;2026-09-01\n",
                encoding="kz1048")
    assert _run(path).loaded == 1
    assert _nedb_rows()[0][1] == "Әлиев Ұлан"


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a;b,c;d\n1;2,3;4\n", ";"), ("a,b;c,d\n", ","), ("a\tb\tc;d,e\n", "\t"), ("a,b\n1;2;3;4;5\n", ","),
    ("a\n", ","),
])
def test_the_delimiter_is_the_header_lines_most_frequent(tmp_path, text, delimiter):
    path = _csv(tmp_path, text)
    with open(path, newline="") as fh:
        reader, skipped = _csv_reader(fh)
        assert (reader.dialect.delimiter, skipped) == (delimiter, 0)


def test_the_csv_reader_skips_to_the_header_of_the_layout(tmp_path):
    path = _csv(tmp_path, "title;;\r\nsecond\r\na,b\r\n1,2\r\n")
    with open(path, newline="") as fh:
        reader, skipped = _csv_reader(fh, Layout(header=3))
        assert skipped == 2 and next(reader) == ["a", "b"] and next(reader) == ["1", "2"]
    with open(path, newline="") as fh:
        reader, skipped = _csv_reader(fh, Layout(header=3, delimiter=";"))
        assert next(reader) == ["a,b"]


def test_csv_rows_their_lines_and_bounds(tmp_path):
    path = _csv(tmp_path, "x\n\nIIN,Name\n1,a\n , \n\n2,\"b\nc\"\n3,d\n")
    assert list(read_rows(path, layout=Layout(header=3, delimiter=","))) == [
        (4, {"iin": "1", "name": "a"}), (7, {"iin": "2", "name": "b\nc"}), (8, {"iin": "3", "name": "d"})]
    wide = _csv(tmp_path, ",".join(f"c{i}" for i in range(65)) + "\n", name="wide.csv")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(wide))
    assert (raised.value.code, raised.value.detail) == ("too_large", "columns")
    assert len(list(read_rows(_csv(tmp_path, ",".join(f"c{i}" for i in range(64)) + "\n" + "1," * 63 + "1\n",
                                   name="w64.csv")))) == 1
    long_row = _csv(tmp_path, "a,b\n1,2\n" + "1," * 64 + "1\n", name="long.csv")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(long_row, layout=Layout(header=1, delimiter=",")))
    assert (raised.value.code, raised.value.detail) == ("too_large", "line 3")
    titled = _csv(tmp_path, "t\na,b\n1,2\n" + "1," * 64 + "1\n", name="titled.csv")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(titled, layout=Layout(header=2, delimiter=",")))
    assert raised.value.detail == "line 4"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00")  # a UTF-16 mark and half a character
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(broken))
    assert raised.value.code == "unreadable"


def test_csv_row_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_ROWS", 2)
    path = _csv(tmp_path, "a,b\n1,2\n3,4\n")
    assert len(list(read_rows(path))) == 2
    path = _csv(tmp_path, "a,b\n1,2\n3,4\n5,6\n", name="g.csv")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(path))
    assert (raised.value.code, raised.value.detail) == ("too_large", "line 4")


def test_the_header_is_found_in_the_first_twenty_rows(tmp_path):
    known = KINDS["nedb"].headings
    assert find_layout(_csv(tmp_path, "t\n" * 19 + "iin,grade\n"), known) == Layout(header=20, delimiter=",")
    assert find_layout(_csv(tmp_path, "t\n" * 20 + "iin,grade\n", name="g.csv"), known) == Layout()
    assert find_layout(_csv(tmp_path, "iin,x\nt\n", name="h.csv"), known) == Layout()  # one known heading only
    assert find_layout(_csv(tmp_path, "t\r\nИИН\tКласс\r\n", name="i.csv"), known) == Layout(header=2, delimiter="\t")
    assert find_layout(_csv(tmp_path, "t\rx;iin;grade\r", name="j.csv"), known) == Layout(header=2, delimiter=";")
    assert find_layout(_csv(tmp_path, "iin,grade,x;y;z;w\n", name="k.csv"), known) == Layout(header=1, delimiter=",")
    assert find_layout(_csv(tmp_path, "iin,grade\n", name="l.csv"), None) == Layout()
    assert find_layout(_csv(tmp_path, "iin,grade\n", name="m.csv"), {}) == Layout()
    unreadable = tmp_path / "u.csv"
    unreadable.write_bytes(b"\xff\xfei\x00n\x00\x00")
    assert find_layout(unreadable, known) == Layout()
    assert _is_header(["iin", None, "grade"], known) and not _is_header(["iin", None, "x"], known)
    assert _is_header(["ИИН", "Класс"], known) and not _is_header([None, None], known)


def test_the_one_sheet_with_the_columns_is_read(app_ctx, tmp_path):
    wb = Workbook()
    wb.active.title = "Instructions"
    wb.active.append(["Fill in the sheet Data", "iin"])
    data = wb.create_sheet("Data")
    data.append(["title"])
    data.append(["iin", "full_name", "school_bin", "grade", "enrolled_on"])
    data.append([CHILD, "А", SCHOOL_BIN, 5, "2026-09-01"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert find_layout(path, KINDS["nedb"].headings) == Layout(sheet=1, header=2)
    result = _run(path)
    assert (result.total, result.loaded) == (1, 1)
    copy = wb.create_sheet("Copy")
    copy.append(["iin", "grade"])
    wb.save(path)
    with pytest.raises(FileUnreadable) as raised:
        find_layout(path, KINDS["nedb"].headings)
    assert (raised.value.code, raised.value.detail) == ("several_sheets", "Data, Copy")
    assert find_layout(_xlsx(tmp_path, [["x"], ["y"]], name="none.xlsx"), KINDS["nedb"].headings) == Layout()


def test_headings_as_written(tmp_path):
    path = _csv(tmp_path, "\ufeffFull\u00a0 Name,IIN ,iin,,\u200bGrade\n")
    assert headings_as_written(path) == {"full_name": "Full Name", "iin": "IIN", "grade": "Grade"}
    assert header_of(path) == ["full_name", "iin", "iin", "", "grade"]
    xlsx = _xlsx(tmp_path, [["t"], ["  ИИН ", None, 5, "Класс\n сынып"]])
    assert headings_as_written(xlsx, Layout(header=2)) == {"иин": "ИИН", "5": "5", "класс_сынып": "Класс сынып"}
    broken = tmp_path / "b.csv"
    broken.write_bytes(b"\xff\xfei\x00n\x00\x00")
    assert headings_as_written(broken) == {}


# --- what an import writes and reports ------------------------------------------------------------------------------


def test_batches_progress_and_repeats_across_batches(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH", 2)
    path = _csv(tmp_path, "iin,full_name,school_bin,grade,enrolled_on,withdrawn_on\n"
                          f"{CHILD},А,{SCHOOL_BIN},5,2026-09-01,\n"
                          f"{CHILD2},Б,{SCHOOL_BIN},5,2026-09-01,\n"
                          f"{CHILD},А,{SCHOOL_BIN},x,2026-09-01,\n"
                          f"{CHILD},А,{SCHOOL_BIN},6,2026-09-01,\n"
                          f"{CHILD2},Б,{SCHOOL_BIN},7,2026-09-01,2026-10-01\n")
    calls = []
    scanned = scan(path, KINDS["nedb"].headings)
    result = import_file("nedb", path, progress=lambda *a: calls.append(a), formulas=scanned.formulas)
    assert calls == [(2, 2, 0), (5, 2, 1), (5, 2, 1)]
    assert (result.total, result.loaded, result.rejected, result.repeated) == (5, 2, 1, 2)
    assert result.notices == [{"line": 5, "code": "repeated_in_file", "iin": CHILD, "earlier_line": None},
                              {"line": 6, "code": "repeated_in_file", "iin": CHILD2, "earlier_line": None}]
    assert [(r[0], r[4], r[6]) for r in _nedb_rows()] == [(CHILD, 6, None), (CHILD2, 7, date(2026, 10, 1))]


def test_the_reports_are_bounded(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_REPORTED_ERRORS", 2)
    lines = "".join(f"{CHILD},{'Я' * 70},{SCHOOL_BIN},13,2026-09-01\n" for _ in range(3))
    lines += "".join(f"{CHILD2},Oлeг,{SCHOOL_BIN},5,2026-09-0{d}\n" for d in (1, 2, 3))
    lines += "".join(f"{CHILD2},Олег,{SCHOOL_BIN},5,2026-09-01\n" for _ in range(3))
    result = _run(_csv(tmp_path, "iin,full_name,school_bin,grade,enrolled_on\n" + lines))
    assert (result.total, result.rejected, result.repeated) == (9, 3, 3)
    assert [e["line"] for e in result.errors] == [2, 3]
    assert [(n["line"], n["code"]) for n in result.notices] == [(5, "name_one_script"), (6, "name_one_script")]
    long = _run(_csv(tmp_path, f"iin,full_name,school_bin,grade,enrolled_on\n{CHILD},{'Я' * 70},{SCHOOL_BIN},x,"
                               "2026-09-01\n" f"{'1' * 70},А,{SCHOOL_BIN},5,2026-09-01\n", name="g.csv"))
    assert [(e["column"], e["value"]) for e in long.errors] == [("grade", "x"), ("iin", "1" * 60)]


def test_a_file_without_a_column_keeps_its_stored_values(app_ctx, tmp_path):
    header = "iin,full_name,school_bin,grade,enrolled_on"
    _run(_csv(tmp_path, f"{header},withdrawn_on\n{CHILD},А,{SCHOOL_BIN},5,2026-09-01,2026-10-11\n"))
    result = _run(_csv(tmp_path, f"{header}\n{CHILD},Б,{SCHOOL_BIN},6,2026-09-01\n", name="g.csv"))
    assert result.columns == ["iin", "full_name", "school_bin", "grade", "enrolled_on"]
    assert _nedb_rows() == [(CHILD, "Б", SCHOOL_BIN, "private", 6, date(2026, 9, 1), date(2026, 10, 11))]
    _run(_csv(tmp_path, f"{header},withdrawn_on,school_kind\n{CHILD},Б,{SCHOOL_BIN},6,2026-09-01,,state\n",
              name="h.csv"))
    assert _nedb_rows() == [(CHILD, "Б", SCHOOL_BIN, "state", 6, date(2026, 9, 1), None)]


def test_csv_cells_are_read_as_written(tmp_path):
    assert list(read_rows(_csv(tmp_path, ""))) == []
    path = _csv(tmp_path, 'a,b\r\n1,"x\r\ny"\r\n2,"z\rw"\r\n', name="g.csv")
    # numbered as a spreadsheet shows the rows (header 1, then one a record), whatever line breaks a cell holds
    assert list(read_rows(path)) == [(2, {"a": "1", "b": "x\r\ny"}), (3, {"a": "2", "b": "z\rw"})]
    titled = _csv(tmp_path, 'Export of 01.11.2026\na,b\n1,"x\ny"\n\n2,z\n', name="t.csv")
    assert list(read_rows(titled, layout=Layout(header=2, delimiter=","))) == [(3, {"a": "1", "b": "x\ny"}),
                                                                             (5, {"a": "2", "b": "z"})]


def test_an_unreadable_csv_says_why(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfea\x00\x00")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(broken))
    assert raised.value.code == "unreadable"
    assert raised.value.detail == "'utf-16-le' codec can't decode byte 0x00 in position 0: truncated data"
    huge = _csv(tmp_path, "a,b\n1," + "x" * 140_000 + "\n", name="huge.csv")
    with pytest.raises(FileUnreadable) as raised:
        list(read_rows(huge))
    assert (raised.value.code, raised.value.detail) == ("unreadable", "field larger than field limit (131072)")


def test_an_xlsx_row_with_any_value_is_read(app_ctx, tmp_path):
    path = _xlsx(tmp_path, [["iin", "full_name", "school_bin", "grade", "enrolled_on"],
                            ["XXXX", None, None, None, None], [None, None, None, None, None],
                            ["", None, None, None, None], [CHILD, None, SCHOOL_BIN, 5, "2026-09-01"]])
    result = _run(path)
    assert (result.total, result.rejected) == (2, 2)
    assert [(e["line"], e["column"], e["code"], e["value"]) for e in result.errors] == [
        (2, "iin", "invalid_iin", "XXXX"), (5, "full_name", "missing", "")]


def test_an_xlsx_header_below_the_twentieth_row_is_not_searched(tmp_path):
    rows = [["t"]] * 20 + [["iin", "grade"]]
    assert find_layout(_xlsx(tmp_path, rows), KINDS["nedb"].headings) == Layout()
    assert find_layout(_xlsx(tmp_path, rows[1:], name="g.xlsx"), KINDS["nedb"].headings) == Layout(0, 20)


def test_an_xlsx_without_its_dimension_reads_rows_longer_than_the_header(app_ctx, tmp_path):
    """A workbook written by a program that leaves out <dimension>, a row with a note beyond the last heading: the
    note is not read, the row loads (the read pads every row to the same 64 columns)."""
    import re as re_
    import zipfile

    plain = _xlsx(tmp_path, [["iin", "full_name", "school_bin", "grade", "enrolled_on"],
                             [CHILD, "А", SCHOOL_BIN, 5, "2026-09-01", "note"]], name="plain.xlsx")
    path = tmp_path / "nodim.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = re_.sub(rb"<dimension[^>]*/>", b"", data)
            target.writestr(info, data)
    result = _run(path)
    assert (result.total, result.loaded, result.errors) == (1, 1, [])


def test_the_delimiter_is_guessed_from_the_first_8192_characters(tmp_path):
    path = _csv(tmp_path, "x" * 8191 + ";" + ",,\n")  # one ";" in the first 8192 characters, the commas after
    with open(path, newline="") as fh:
        assert _csv_reader(fh)[0].dialect.delimiter == ";"


def test_an_import_finds_its_own_table_and_names_rows_that_may_correct_an_earlier_one(app_ctx, tmp_path):
    header = "iin,full_name,school_bin,grade,enrolled_on"
    first = _csv(tmp_path, f"Выгрузка\n{header}\n{CHILD},А,{SCHOOL_BIN},5,2026-09-01\n")
    result = import_file("nedb", first)  # no layout given: found by the kind's headings
    assert (result.total, result.loaded, result.errors) == (1, 1, [])
    db.session.commit()
    second = _csv(tmp_path, f"Выгрузка\n{header}\n{CHILD},А,{OTHER_BIN},5,2026-09-10\n", name="g.csv")
    result = import_file("nedb", second)
    assert (result.loaded, result.noticed) == (1, 1)
    assert [(n["line"], n["code"], n["school"]) for n in result.notices] == [(3, "overlaps_earlier", SCHOOL_BIN)]


def test_merges_are_applied_to_nedb_rows_only(app_ctx, tmp_path):
    merges = _csv(tmp_path, f"retired_iin,surviving_iin\n{CHILD2},{CHILD}\n")
    assert _run(merges, "nedb_merges").loaded == 1
    assert _run(merges, "nedb_merges").loaded == 1  # the list again: its own IINs are not read as merged
    licences = _csv(tmp_path, f"number,bin,valid_from,levels\nL1,{SCHOOL_BIN},2020-01-01,primary\n", name="l.csv")
    assert _run(licences, "licences").loaded == 1
    business = _csv(tmp_path, f"bin,name,status,oked\n{SCHOOL_BIN},М,active,85.31\n", name="b.csv")
    assert _run(business, "business").loaded == 1


def test_an_import_names_the_open_acts_its_changed_records_concern(country, tmp_path):
    school = country.school()
    act = country.act(school, [(CHILD, 5)])
    country.act(country.school(), [(CHILD2, 5)])  # another student's act: not touched
    db.session.commit()
    path = _csv(tmp_path, f"iin,full_name,school_bin,grade,enrolled_on\n{CHILD},А,{school.bin},5,2026-09-01\n")
    collected = {-1}
    result = import_file("nedb", path, touched=collected)
    assert result.touched_acts is collected and collected == {-1, act.id}
    db.session.commit()
    assert import_file("nedb", path).touched_acts == set()  # the same row again changes nothing


def test_the_header_of_a_kazakh_windows_file_is_found_in_its_first_64_kb(tmp_path):
    known = KINDS["nedb"].headings
    path = _csv(tmp_path, "Выгрузка НОБД\nИИН;ФИО;Класс\n", encoding="kz1048")
    assert find_layout(path, known) == Layout(header=2, delimiter=";")
    path = _csv(tmp_path, "Ә" * 10 + "\nИИН;ФИО;Класс\n", name="g.csv", encoding="kz1048")
    assert find_layout(path, known) == Layout(header=2, delimiter=";")
    far = _csv(tmp_path, "x" * 70_000 + "\niin,grade\n", name="far.csv")
    assert find_layout(far, known) == Layout()


def test_headings_read_as_written_or_as_their_key(app_ctx, tmp_path):
    assert _columns_of(KINDS["nedb"], ["iin", "grade", "x_y"], {})[1] == ["x_y"]
    empty = _csv(tmp_path, "")
    assert header_of(empty) == [] and headings_as_written(empty) == {}
    with pytest.raises(FileUnreadable) as raised:
        file_columns(KINDS["nedb"], empty, Layout())
    assert raised.value.detail == "iin, full_name, school_bin, grade, enrolled_on"
    # a header with a trailing separator: a long row is marked in its column with no heading
    path = _csv(tmp_path, f"iin,full_name,school_bin,grade,enrolled_on,\n{CHILD},А,{SCHOOL_BIN},5,2026-09-01,,x\n",
                name="g.csv")
    assert [(e["column"], e["heading"], e["code"]) for e in _run(path).errors] == [("", "", "long_row")]


def test_the_header_search_reads_64_kb_exactly(tmp_path):
    known = KINDS["nedb"].headings
    assert find_layout(_csv(tmp_path, "x" * 65_560 + "\niin,grade\n"), known) == Layout()
    assert find_layout(_csv(tmp_path, "x" * 65_524 + "\niin,grade\n", name="g.csv"), known) == \
        Layout(header=2, delimiter=",")


def test_an_unreadable_header_says_why(tmp_path):
    broken = tmp_path / "b.csv"
    broken.write_bytes(b"\xff\xfei\x00n\x00\x00")
    with pytest.raises(FileUnreadable) as raised:
        header_of(broken)
    assert (raised.value.code, raised.value.detail) == \
        ("unreadable", "'utf-16-le' codec can't decode byte 0x00 in position 0: truncated data")
