"""Reading registry files (CSV or XLSX) row by row, validating each row, and upserting the valid ones.

Every rejected row is reported with its line number (the header is line 1, as a spreadsheet shows it)
and a reason code; valid rows land whatever happens to the others. Rows are upserted on the table's
natural key, so re-importing a file updates rather than duplicates — and only the columns the file has.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.database import in_sets
from app.extensions import db
from app.registry.cells import (
    Serial1904,
    UnreadableIdentifier,
    excel_serial_date,
    has_control_characters,
    has_lost_letters,
    identifier_of,
    in_one_script,
    squeeze_spaces,
    whole_number_of,
)
from app.registry.earlier_rows import EarlierRows
from app.registry.headings import columns_by_heading
from app.registry.identifiers import has_non_ascii_digits, iin_birth_date, is_valid_bin, is_valid_iin
from app.registry.models import LEVELS, BusinessRecord, Licence, NedbEnrollment, NedbIinMerge
from app.user_input import calendar_date

BATCH = 2000
MAX_REPORTED_ERRORS = 1000

# Reason codes stored with each rejected row; shown in the reader's language.
REASONS = {
    "missing": _l("required value is missing"),
    "invalid_iin": _l("not a valid IIN (12 digits with a correct check digit)"),
    "invalid_bin": _l("not a valid BIN (12 digits with a correct check digit)"),
    "non_ascii_digits": _l("use the digits 0–9 only (the value has full-width or other non-Latin digits)"),
    "leading_zero_lost": _l("11 digits: the number's leading 0 was lost (a spreadsheet took the column for numbers); "
                            "format the column as text, type the 0 and save the file again"),
    "invalid_date": _l("not a date (use YYYY-MM-DD or DD.MM.YYYY)"),
    "scientific_notation": _l("the number is written as 1.23457E+11: the spreadsheet dropped its last digits when the "
                              "file was saved; format the column as text, type the numbers in full and save the file "
                              "again"),
    "control_character": _l("the value holds a control character (such as a NUL byte): the file is damaged or is not "
                            "a text file; export it from the registry again"),
    "lost_letters": _l("the name has “?” in place of letters: the file was saved in an encoding without Kazakh "
                       "letters; save it as “CSV UTF-8” (or as XLSX) and import it again"),
    "same_iin": _l("the retired IIN and the surviving IIN are the same number"),
    "before_birth": _l("the enrolment date is before the birth date the IIN carries"),
    "several_sheets": _l("more than one sheet of the workbook has the registry's columns; keep one sheet per file"),
    "duplicate_columns": _l("two columns of the file are the same registry column; keep one of them"),
    "invalid_grade": _l("grade must be a whole number from 0 (the pre-school class) to 12"),
    "invalid_kind": _l("school kind must be 'private' or 'state'"),
    "invalid_levels": _l("levels must be a list of primary, basic, secondary"),
    "invalid_status": _l("status must be 'active' or 'liquidated'"),
    "invalid_oked": _l("activity code must look like 85.31"),
    "liquidated_not_status": _l("a liquidation date needs the status 'liquidated'"),
    "invalid_licence_status": _l("a licence's status must be 'active' (valid) or 'revoked', 'suspended', "
                                 "'terminated'"),
    "ended_needs_end": _l("a revoked, suspended or terminated licence needs the last day it was valid in the end "
                          "date column; without it the licence would be read as indefinite and go on being paid"),
    "end_before_start": _l("the end date is before the start date"),
    "far_future": _l("the date is more than a year ahead"),
    "too_long": _l("value is too long"),
    "formula": _l("the cell holds a formula with no saved value; save the file with values (or open and save it "
                  "in Excel) and import it again"),
    "short_row": _l("the row has fewer values than the header has columns: put a separator for every column, "
                    "empty cells included"),
    "long_row": _l("the row has more values than the header has columns (a name with a comma needs quotes)"),
    "missing_columns": _l("the header lacks required columns"),
    "unreadable": _l("the file cannot be read as CSV (UTF-8 or Windows-1251) or XLSX"),
    "too_large": _l("the file is too large to import: too much data once unpacked, too many rows or columns"),
    "file_missing": _l("the uploaded file is no longer there; upload it again"),
    "worker_lost": _l("the worker running the import stopped responding; start the import again"),
    "time_limit": _l("the import ran longer than the time limit for background jobs and was stopped; the rows of "
                     "its finished batches stay loaded, the batch under way was undone; upload the file again"),
    "error": _l("the import stopped on an unexpected error"),
    "starter_withdrawn": _l("the person who started the import may no longer import (deactivated, or moved to "
                            "another role): the rest of the file was not imported; someone who may, imports it again"),
    "interrupted": _l("the import was stopped on the command line (Ctrl-C) before its end"),
    "snapshot_refused": _l("as a complete register, the file would take out more than the allowed share of a "
                           "school's rows (listed below) — is the file cut short? Nothing was imported and nothing "
                           "was taken out. Check the file; if the removals are right, import it again with the "
                           "removals confirmed"),
}


class RowError(ValueError):
    def __init__(self, column: str, code: str):
        super().__init__(code)
        self.column = column
        self.code = code


class FileUnreadable(ValueError):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


# --- value parsers ---------------------------------------------------------------------------------


#: the key a parser's record carries its notes under (codes of :data:`ROW_NOTES`); taken off before it is written
NOTES = "_notes"
#: what a loaded row's value was read as, said beside the row in the import's report
ROW_NOTES = {
    "merged_iin": _l("NEDB merged this IIN into another one of the same child: the row was loaded under the surviving "
                     "IIN (see the merge list)"),
    "name_one_script": _l("the name mixed Latin and Cyrillic letters that look alike; each word was stored in its own "
                          "script (the name check counts both spellings the same)"),
    "licence_active_past_end": _l("the file says the licence is active, but its end date has passed: it was loaded "
                                  "with that end date, so its days after it are not paid; if the licence was "
                                  "extended, import it with its new end date (an empty cell: indefinite)"),
    "liquidation_date_not_read": _l("the file says the organisation is active and has no liquidation date column: "
                                    "the liquidation date kept from an earlier file stays stored but is not read "
                                    "while the register says active"),
    "licence_end_cleared": _l("the file says the licence is active and has no end date column: the end date kept "
                              "from an earlier file had passed, and the licence is now read as indefinite"),
}


def _text(row: dict, column: str, max_len: int, required: bool = True) -> str | None:
    value = row.get(column)
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise RowError(column, "missing")
        return None
    if has_control_characters(value):
        # refused, not stripped: a NUL where a letter was is a damaged file, and what the letter was is lost
        raise RowError(column, "control_character")
    if len(value) > max_len:
        raise RowError(column, "too_long")
    return value


def _name(row: dict, column: str, max_len: int) -> str:
    """An organisation's name: one space wherever the cell had a line break or a run of spaces."""
    return squeeze_spaces(_text(row, column, max_len))


def _person_name(row: dict, column: str, record: dict) -> str:
    """A person's name as NEDB gives it: spaced once (:func:`cells.squeeze_spaces`), refused with letters an encoding
    lost ("?"), each word in one script (:func:`cells.in_one_script` — noted in the record, see :data:`ROW_NOTES`)."""
    value = _name(row, column, 200)
    if has_lost_letters(value):
        raise RowError(column, "lost_letters")
    fixed = in_one_script(value)
    if fixed != value:
        record.setdefault(NOTES, []).append("name_one_script")
    return fixed


def _ident(row: dict, column: str, check: Callable[[str], bool], code: str) -> str:
    value = row.get(column)
    if value is not None and value != "":
        # a number cell's lost leading 0, "150101 600107", "1501-0160-0107", "'150101600107": the same 12 digits, read
        # as the NEDB service's are (cells.identifier_of)
        try:
            value = identifier_of(value)
        except UnreadableIdentifier as unreadable:
            raise RowError(column, code if unreadable.code == "invalid" else unreadable.code) from None
    value = _text({column: value}, column, 12)
    if not check(value):
        # Excel saving a CSV drops the leading 0 of every IIN of a child born in 2000–2009 and of a BIN starting
        # with 0: "not a valid IIN" sent the operator looking for a wrong digit. Said as what it is, and not padded
        # here: an 11-digit value is also a number typed with a digit missing, and the file is the registry's word.
        if re.fullmatch(r"[0-9]{11}", value) and check("0" + value):
            raise RowError(column, "leading_zero_lost")
        raise RowError(column, code)
    return value


#: a time of midnight after a date, as a database's or a program's export writes a date column ("2026-09-01
#: 00:00:00", "01.09.2026 0:00"): the date is the day. Another time is refused: which day it belongs to depends on a
#: time zone the file does not give.
_MIDNIGHT = re.compile(r"[ T]0?0:00(?::00(?:\.0+)?)?$")


def _date(row: dict, column: str, required: bool = True) -> date | None:
    value = row.get(column)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(column, value)
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise RowError(column, "missing")
        return None
    if re.fullmatch(r"[0-9]{5}", text):  # a CSV saved from a date column formatted as General: the day's number
        return _serial(column, int(text))
    # DD/MM/YYYY is not read: an English-locale Excel writes MM/DD/YYYY, and 03/04/2026 is then another day. Digits
    # are ASCII (app/user_input.py): strptime read "12.11.٢٠٢٦" as a day of 2026, and the row loaded.
    day = calendar_date(_MIDNIGHT.sub("", text), day_first=True)
    if day is None:
        raise RowError(column, "non_ascii_digits" if has_non_ascii_digits(text) else "invalid_date")
    return day


def _serial(column: str, number: float) -> date:
    day = excel_serial_date(number)
    if day is None:
        raise RowError(column, "invalid_date")
    return day


def _whole_number(row: dict, column: str, low: int, high: int, code: str) -> int:
    value = row.get(column)
    number = whole_number_of(value, max_digits=6)
    if number is None:
        raise RowError(column, "missing" if value in (None, "") else code)
    if not low <= number <= high:
        raise RowError(column, code)
    return number


#: The grades NEDB keeps: the pre-school class (0) and grades 1 to 12. The state order funds grades 1–11 only
#: (app.acts.rules.FUNDED_GRADES), but a row of another grade is still a fact about the child: a pre-school class at a
#: state school on the days a private school claims the child in grade 1 is a ``double_enrolment``. Refused at import,
#: such a row was never seen, and the private school was paid for a child the state funded the same days.
NEDB_GRADES = (0, 12)


def _grade(row: dict) -> int:
    return _whole_number(row, "grade", *NEDB_GRADES, "invalid_grade")


def _period(row: dict, start: str, end: str) -> tuple[date, date | None]:
    """A required first day and an optional end that may not come before it."""
    first = _date(row, start)
    last = _date(row, end, required=False)
    if last is not None and last < first:
        raise RowError(end, "end_before_start")
    return first, last


# --- kinds -----------------------------------------------------------------------------------------


def enrolment_dates(row: dict, iin: str) -> tuple[date, date | None]:
    """An enrolment's dates, refused where no registry could mean them: a typed year (2030, 2062) more than a year
    ahead — a withdrawal that far ahead kept a child who left "enrolled", and paid, for years —, and an enrolment
    before the birth date the IIN carries (1926 for 2026)."""
    enrolled, withdrawn = _period(row, "enrolled_on", "withdrawn_on")
    ahead = clock.today() + timedelta(days=366)
    if enrolled > ahead:
        raise RowError("enrolled_on", "far_future")
    if withdrawn is not None and withdrawn > ahead:
        raise RowError("withdrawn_on", "far_future")
    born = iin_birth_date(iin)
    if born is not None and enrolled < born:
        raise RowError("enrolled_on", "before_birth")
    return enrolled, withdrawn


def parse_nedb(row: dict) -> dict:
    kind = (_text(row, "school_kind", 8, required=False) or "private").lower()
    if kind not in ("private", "state"):
        raise RowError("school_kind", "invalid_kind")
    iin = _ident(row, "iin", is_valid_iin, "invalid_iin")
    enrolled, withdrawn = enrolment_dates(row, iin)
    # A school not in the business register is loaded all the same: NEDB lists every school of the country (the
    # state ones are in no register we import), and the registries arrive in any order. Verification decides what a
    # school's absence from the register means for its acts (rule no_business_record), on the registers of that day.
    record: dict = {}
    record.update({"iin": iin, "full_name": _person_name(row, "full_name", record),
                   "school_bin": _ident(row, "school_bin", is_valid_bin, "invalid_bin"), "school_kind": kind,
                   "grade": _grade(row), "enrolled_on": enrolled, "withdrawn_on": withdrawn})
    return record


#: A licence register's status of a licence (optional column ``status``, read, not stored: ``registry_licence`` has
#: no status — a licence's days are its dates). "Active" is the register's word that the licence is valid today;
#: "ended" that it no longer is (revoked, suspended, terminated) — as of the day in ``valid_until``.
LICENCE_ACTIVE = frozenset({"active", "valid", "действующая", "действует", "действительна", "қолданыста",
                            "қолданыстағы", "жарамды"})
LICENCE_ENDED = frozenset({"revoked", "suspended", "terminated", "expired", "отозвана", "приостановлена",
                           "прекращена", "аннулирована", "истекла", "кері қайтарылды", "тоқтатылды",
                           "тоқтатыла тұрды", "мерзімі өтті"})
#: the key a licence record carries "the register says it is active today" under; taken off before it is written
#: (app.registry.importers.import_file: a kept end date it contradicts is cleared, :func:`stale_ends`)
ACTIVE_TODAY = "_active_today"


def parse_licence(row: dict) -> dict:
    """A licence row. Its ``status`` (optional) is checked against its end date, whose empty cell means "no end date"
    (indefinite) — never "keep the stored one":

    - ended (revoked, suspended …) needs the last valid day in ``valid_until``: read as indefinite, a licence the
      register revoked went on paying its school — the status column was not read at all, and an empty end cell made
      a revoked licence unlimited (42,300.00 ₸ a month for a pupil of the basic level); refused (``ended_needs_end``),
      nothing is written, and the operator is told which day is missing;
    - active with an end date already past: the register contradicts itself (an export's lag, or an extension the
      date did not follow); loaded as written, and said beside the row (``licence_active_past_end``)."""
    levels = [x for x in re.split(r"[\s,;|]+", (_text(row, "levels", 60) or "").lower()) if x]
    if not levels or any(x not in LEVELS for x in levels):
        raise RowError("levels", "invalid_levels")
    valid_from, valid_until = _period(row, "valid_from", "valid_until")
    status = " ".join((_text(row, "status", 40, required=False) or "").lower().split())
    if status and status not in LICENCE_ACTIVE | LICENCE_ENDED:
        raise RowError("status", "invalid_licence_status")
    if status in LICENCE_ENDED and valid_until is None:
        raise RowError("valid_until", "ended_needs_end")
    record = {"number": _text(row, "number", 40), "bin": _ident(row, "bin", is_valid_bin, "invalid_bin"),
              "valid_from": valid_from, "valid_until": valid_until,
              "levels": ",".join(x for x in LEVELS if x in levels)}
    if status in LICENCE_ACTIVE:
        record[ACTIVE_TODAY] = True
        if valid_until is not None and valid_until < clock.today():
            record[NOTES] = ["licence_active_past_end"]
    return record


def parse_business(row: dict) -> dict:
    status = (_text(row, "status", 16) or "").lower()
    if status not in ("active", "liquidated"):
        raise RowError("status", "invalid_status")
    oked = _text(row, "oked", 16)
    if not re.fullmatch(r"[0-9]{2}(\.[0-9]{1,2}(\.[0-9]{1,2})?)?", oked):  # ASCII: \d took "８５.31" as education
        raise RowError("oked", "non_ascii_digits" if has_non_ascii_digits(oked) else "invalid_oked")
    # The day the organisation was liquidated (optional; an empty cell: no date known). Its days before it are paid.
    liquidated_on = _date(row, "liquidated_on", required=False)
    if liquidated_on is not None:
        if status != "liquidated":
            raise RowError("liquidated_on", "liquidated_not_status")
        if liquidated_on > clock.today() + timedelta(days=366):  # a typed year (2052)
            raise RowError("liquidated_on", "far_future")
    return {"bin": _ident(row, "bin", is_valid_bin, "invalid_bin"), "name": _name(row, "name", 255),
            "status": status, "oked": oked, "liquidated_on": liquidated_on}


def parse_merge(row: dict) -> dict:
    """A line of NEDB's merge list: the IIN NEDB retired and the one it kept for the same child."""
    retired = _ident(row, "retired_iin", is_valid_iin, "invalid_iin")
    surviving = _ident(row, "surviving_iin", is_valid_iin, "invalid_iin")
    if retired == surviving:
        raise RowError("surviving_iin", "same_iin")
    return {"retired_iin": retired, "surviving_iin": surviving}


@dataclass(frozen=True)
class ImportKind:
    name: str
    model: type
    columns: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...]
    parse: Callable[[dict], dict]
    #: an enrolment registry (key: iin, school, enrolled_on): the import names the rows that may correct an earlier
    #: one (:mod:`app.registry.earlier_rows`)
    enrolments: bool = False
    #: what a record of this kind says about acts, for the open acts an import re-verifies (:func:`touched_acts`):
    #: (``"iin"`` — a student's lines — or ``"bin"`` — an organisation's acts —, the column holding it); None: none
    touches: tuple[str, str] | None = None
    #: columns the parser reads and no record stores (a licence's status: checked against its dates)
    read_only: tuple[str, ...] = ()

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def headings(self) -> dict[str, str]:
        """{normalised heading: column}: the columns' names and their Russian and Kazakh headings
        (:mod:`app.registry.headings`)."""
        return columns_by_heading((*self.columns, *self.read_only), heading_key)


KINDS: dict[str, ImportKind] = {
    "nedb": ImportKind("nedb", NedbEnrollment,
                       ("iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"),
                       ("iin", "full_name", "school_bin", "grade", "enrolled_on"),
                       ("iin", "school_bin", "enrolled_on"), parse_nedb, enrolments=True, touches=("iin", "iin")),
    "licences": ImportKind("licences", Licence, ("number", "bin", "valid_from", "valid_until", "levels"),
                           ("number", "bin", "valid_from", "levels"), ("number",), parse_licence,
                           touches=("bin", "bin"), read_only=("status",)),
    "business": ImportKind("business", BusinessRecord, ("bin", "name", "status", "oked", "liquidated_on"),
                           ("bin", "name", "status", "oked"), ("bin",), parse_business, touches=("bin", "bin")),
    # NEDB's merge list: the open acts with a line of a retired IIN; those of the surviving IIN whose rows the
    # merge moves are added once the merges are applied (app.registry.merges)
    "nedb_merges": ImportKind("nedb_merges", NedbIinMerge, ("retired_iin", "surviving_iin"),
                              ("retired_iin", "surviving_iin"), ("retired_iin",), parse_merge,
                              touches=("iin", "retired_iin")),
}


# --- files -----------------------------------------------------------------------------------------


#: characters a spreadsheet or an editor leaves in a heading that show as nothing: a byte-order mark (a UTF-8 file
#: saved twice, a BOM inside an XLSX cell), zero-width spaces and joiners
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))
_HEADING_GAPS = re.compile(r"[\s_]+")


def heading_key(text) -> str:
    """A column's heading as every import compares it (the registries' files, an act's lines from a file): words
    joined by one underscore whatever spaces them (a doubled or non-breaking space, a line break, underscores),
    without leading or trailing space, invisible marks or case — "Full  name", "FULL_NAME\u00a0" and "\ufefffull name"
    are the column full_name. A heading typed with a doubled space was refused as a missing column."""
    if text is None:
        return ""
    return "_".join(part for part in _HEADING_GAPS.split(str(text).translate(_INVISIBLE)) if part).casefold()


def _normalise_header(cells) -> list[str]:
    return [heading_key(c) for c in cells]


# --- upload bounds (issue 13 §5) ---------------------------------------------------------------------
# Checked before any parser runs: a 308 KB workbook can unpack to a gigabyte of XML or declare a sheet of
# 16,384 columns that read-only openpyxl would still pad every row to. Rows and cells are bounded again
# while streaming, because a sheet's <dimension> is only what the file claims.

#: Excel's own limit (1,048,576 rows a sheet, one of them the header): a sheet Excel can save is never refused for
#: its rows — an agency's export filled to the last row, or a sheet whose used range a stray cell stretched to it.
MAX_ROWS = 1_048_575
MAX_COLUMNS = 64
MAX_XLSX_ENTRIES = 100
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_XLSX_RATIO = 200  # unpacked / packed size of one archive member
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ord(ch) - 64)
    return number


def check_bounds(path: Path, max_unpacked_bytes: int = MAX_XLSX_UNPACKED_BYTES) -> None:
    """Refuse, before parsing, a file whose unpacked size, rows or columns exceed the import's bounds.
    ``max_unpacked_bytes``: a reader of smaller files bounds the work it takes on more tightly (openpyxl holds a
    workbook's whole shared-strings table in memory, read again on each pass)."""
    if _is_xlsx(path):
        _check_xlsx_bounds(path, max_unpacked_bytes)


def _check_xlsx_bounds(path: Path, max_unpacked_bytes: int) -> None:
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_XLSX_ENTRIES:
                raise FileUnreadable("too_large", f"{len(infos)} archive members")
            if sum(i.file_size for i in infos) > max_unpacked_bytes:
                raise FileUnreadable("too_large", "unpacked size")
            for info in infos:
                if info.flag_bits & 0x1:
                    raise FileUnreadable("unreadable", f"{info.filename} is encrypted")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise FileUnreadable("unreadable", f"{info.filename}: unsupported compression")
                if info.file_size > 1024 * 1024 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                    raise FileUnreadable("too_large", f"{info.filename} compressed suspiciously well")
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with zf.open(info) as fh:
                        head = fh.read(64 * 1024)  # the <dimension> element comes first in a sheet
                    match = _DIMENSION.search(head)
                    if match and match.group(4):
                        rows = int(match.group(4)[:9])
                        columns = _column_number(match.group(3).decode("ascii"))
                        if rows > MAX_ROWS + 1 or columns > MAX_COLUMNS:
                            raise FileUnreadable("too_large", f"sheet dimension {rows} rows × {columns} columns")
    except FileUnreadable:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            ValueError, OSError) as err:
        raise FileUnreadable("unreadable", str(err)[:200]) from err


def count_rows(path: Path, known: Collection[str] | None = None) -> int:
    """Rows below the header of the sheet the import reads — for the progress bar; cheap compared to the import.
    ``known``: the kind's headings, by which :func:`find_layout` finds that sheet and header row (a workbook whose
    first sheet is instructions was counted by the instructions, and the bar ran past its end or stopped short).

    0 for a file the import will refuse: :func:`import_file` reports why (the job fails with that reason).
    """
    try:
        check_bounds(path)
        layout = find_layout(path, known)
    except FileUnreadable:
        return 0
    if _is_xlsx(path):
        from openpyxl import load_workbook

        with open(path, "rb") as fh:  # a file object: openpyxl would insist on an .xlsx file name otherwise
            try:
                wb = load_workbook(fh, read_only=True)
            except Exception:  # a corrupt archive: import_file raises FileUnreadable for it
                return 0
            try:
                return max((wb.worksheets[layout.sheet].max_row or 1) - layout.header, 0)
            finally:
                wb.close()
    with open(path, "rb") as fh:
        return max(sum(1 for _ in fh) - layout.header, 0)


@contextlib.contextmanager
def _workbook(path: Path, data_only: bool = True):
    """The workbook at ``path``, read-only and streamed, closed after; a damaged one is FileUnreadable — opened and
    read (a damaged member is found while reading: a bad CRC, truncated XML). Opened through a file object: stored
    uploads do not keep the .xlsx name openpyxl would insist on."""
    from openpyxl import load_workbook

    with open(path, "rb") as fh:
        try:
            wb = load_workbook(fh, read_only=True, data_only=data_only)
        except Exception as err:  # openpyxl raises many kinds for a corrupt archive
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        try:
            yield wb
        except FileUnreadable:
            raise
        except Exception as err:  # a damaged member
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        finally:
            wb.close()


def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


@dataclass(frozen=True)
class Layout:
    """Where a file's table is: the sheet (XLSX), the header's row — a spreadsheet's row number, or a CSV's line — and
    the CSV's delimiter (None: the header line's most frequent of , ; tab)."""

    sheet: int = 0
    header: int = 1
    delimiter: str | None = None


#: the rows searched for the header: a title, the export's date and an empty row or two come before it
HEADER_SEARCH_ROWS = 20


def _is_header(cells, known: Collection[str]) -> bool:
    return sum(heading_key(c) in known for c in cells if c is not None) >= 2


def find_layout(path: Path, known: Collection[str] | None) -> Layout:
    """Where the table of a file is, its header recognised by ``known`` (normalised headings, at least two in one
    row): the first of :data:`HEADER_SEARCH_ROWS` rows — after an empty first row, a title merged over the columns,
    the export's date — and, in a workbook, the one sheet that has such a row (an instructions sheet or a list of
    codes beside it is not read). Two sheets with the columns are refused (``several_sheets``): which one is meant
    (September's or October's) is not the import's to choose, and reading one silently left the other unloaded.
    No such row: the first row of the first sheet, whose missing columns the import names.

    Hidden rows and columns are read like the others: hiding is how a sheet is shown, not what the registry sent
    (the same sheet saved as CSV has them), and a hidden column the import does not know is named in its report."""
    if not known:
        return Layout()
    if _is_xlsx(path):
        return _xlsx_layout(path, known)
    try:
        with open(path, encoding=csv_encoding(path), newline="") as fh:
            head = fh.read(64 * 1024)
    except (UnicodeDecodeError, OSError):
        return Layout()  # the reading refuses it, with its reason
    for number, text in enumerate(re.split(r"\r\n|\r|\n", head)[:HEADER_SEARCH_ROWS], start=1):
        for delimiter in (",", ";", "\t"):
            if _is_header(next(csv.reader([text], delimiter=delimiter), []), known):
                return Layout(header=number, delimiter=delimiter)
    return Layout()


def _xlsx_layout(path: Path, known: Collection[str]) -> Layout:
    check_bounds(path)
    found = []
    with _workbook(path) as wb:
        for index, sheet in enumerate(wb.worksheets):
            rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS, max_row=HEADER_SEARCH_ROWS)
            for number, row in enumerate(rows, start=1):
                if _is_header(row, known):
                    found.append((index, number, sheet.title))
                    break
    if len(found) > 1:
        raise FileUnreadable("several_sheets", ", ".join(title for _, _, title in found))
    return Layout(found[0][0], found[0][1]) if found else Layout()


def read_rows(path: Path, formulas: dict | None = None, layout: Layout | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, {column: value}) for each non-empty data row; raises FileUnreadable. ``formulas`` (from
    :func:`scan`): an XLSX cell that holds a formula with no saved value is given as a :class:`Formula`.
    ``layout``: where the table is (:func:`find_layout`; default: the first sheet's first row)."""
    if _is_xlsx(path):
        yield from _read_xlsx(path, formulas or {}, layout or Layout())
    else:
        yield from _read_csv(path, layout or Layout())


class Formula(str):
    """An XLSX cell's formula whose value the file does not hold (a workbook written by a program, never opened in
    Excel): read as values, it was an empty cell — and an empty withdrawal date cleared a real one."""


@dataclass
class Scan:
    rows: int  # data rows
    formulas: dict  # {(row, column): formula text} of the XLSX cells that hold a formula
    layout: Layout = Layout()  # where the table is (:func:`find_layout`)


MAX_FORMULAS = 100_000


def scan(path: Path, known: Collection[str] | None = None) -> Scan:
    """Read the whole file once before a row is written: a file that cannot be read to its end (a field over the
    CSV limit, a broken encoding, a damaged workbook member, too many rows) raises FileUnreadable here, so a bad
    file changes nothing — the import had committed the batches before the bad line. Also counts the rows (the
    progress bar), finds an XLSX's formula cells and, by the headings ``known``, where the table is."""
    layout = find_layout(path, known)
    if not _is_xlsx(path):
        return Scan(sum(1 for _ in _read_csv(path, layout)), {}, layout)
    formulas: dict = {}
    count = 0
    for number, header, row in _xlsx_rows(path, data_only=False, layout=layout):
        if any(c not in (None, "") for c in row):
            count += 1
        for column, value in zip(header, row, strict=False):
            if isinstance(value, str) and value.startswith("="):
                if len(formulas) >= MAX_FORMULAS:
                    raise FileUnreadable("too_large", f"more than {MAX_FORMULAS} formulas")
                formulas[(number, column)] = value
    return Scan(count, formulas, layout)


#: the files an import reads
SPREADSHEET_SUFFIXES = (".csv", ".xlsx")


def spreadsheet_upload_problem(upload, max_bytes: int, too_large: str | None = None) -> str | None:
    """Why an uploaded file is not a CSV or XLSX file to read, in the user's language; None if it may be. Its size is
    read from the stream (nothing is loaded); ``too_large``: what to say of a file over ``max_bytes``."""
    from flask_babel import gettext as _

    if upload is None or not upload.filename:
        return _("Choose a CSV or XLSX file.")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        return _("Only CSV and XLSX files can be imported.")
    head = upload.stream.read(4)
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if size == 0:
        return _("The file is empty.")
    if size > max_bytes:
        return too_large or _("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024))
    if (suffix == ".xlsx") != (head == b"PK\x03\x04"):
        return _("The file's content does not match its extension.")
    return None


def csv_encoding(path: Path) -> str:
    """The text encoding of a CSV upload: UTF-8 (with or without its BOM), UTF-16 with a BOM, else Windows-1251 —
    what Excel on a Russian or Kazakh Windows writes as "CSV" (a registry officer's export was refused as not
    UTF-8). Read in chunks, so a file of millions of rows is checked without holding it.

    Windows-1251 is read as KZ-1048, Kazakhstan's standard variant of it: the same bytes for every Russian letter,
    and the Kazakh letters (ә, ғ, қ, ң, ө, ұ, ү, һ) in the 16 places where 1251 has Serbian, Macedonian, Ukrainian
    and Belarusian ones (ј, ѓ, ќ, ѕ, ґ, ў, ї, ћ) that no Kazakhstan registry writes. Read as 1251, a file of a
    Kazakh-language Windows loaded "Әлиев" as "Јлиев", silently."""
    import codecs

    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        # UTF-16 without its mark (a program's "Unicode" export): every other byte of the Latin heading is 0. Read
        # as UTF-8, where a NUL is valid, the file was refused as lacking every column.
        if len(head) == 4 and head[0] and head[2] and not head[1] and not head[3]:
            return "utf-16-le"
        if len(head) == 4 and head[1] and head[3] and not head[0] and not head[2]:
            return "utf-16-be"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "kz1048"
    return "utf-8-sig"


def _csv_reader(fh, layout: Layout = Layout()) -> tuple[csv.reader, int]:
    """A reader positioned at the header line, and the lines skipped before it (a title, the export's date)."""
    for _ in range(layout.header - 1):
        fh.readline()  # newline="": a line ends at \n, \r\n or \r, as find_layout counted them
    start = fh.tell()
    delimiter = layout.delimiter or max(",;\t", key=fh.read(8192).split("\n", 1)[0].count)
    fh.seek(start)
    return csv.reader(fh, delimiter=delimiter), layout.header - 1


def _read_csv(path: Path, layout: Layout = Layout()) -> Iterator[tuple[int, dict]]:
    try:
        with open(path, encoding=csv_encoding(path), newline="") as fh:
            reader, skipped = _csv_reader(fh, layout)
            header = _normalise_header(next(reader, [])[:MAX_COLUMNS + 1])
            if len(header) > MAX_COLUMNS:
                raise FileUnreadable("too_large", "columns")
            # A row is numbered as a spreadsheet shows it — the header's row, then one a record — not by the text
            # line it ends on: a quoted cell holding a line break made every later row's number one too high.
            for number, row in enumerate(reader, start=skipped + 2):
                if reader.line_num > MAX_ROWS + 1 or len(row) > MAX_COLUMNS:
                    raise FileUnreadable("too_large", f"line {number}")
                if any(cell.strip() for cell in row):
                    yield number, _cells(header, row)
    except UnicodeDecodeError as err:
        raise FileUnreadable("unreadable", str(err)) from err
    except csv.Error as err:
        raise FileUnreadable("unreadable", str(err)) from err


class Misaligned(str):
    """A CSV cell that is not there (the row is short) or a value no column names (the row is long): the row is
    refused. Read as an empty cell, a short row's missing withdrawal date cleared a real one; a long row is the
    mark of an unquoted comma that moved every value after it into the wrong column."""

    def __new__(cls, value: str, code: str):
        cell = super().__new__(cls, value)
        cell.code = code
        return cell


def _cells(header: list[str], row: list[str]) -> dict:
    cells = dict(zip(header, row, strict=False))
    for column in header[len(row):]:
        cells[column] = Misaligned("", "short_row")
    surplus = [cell for cell in row[len(header):] if cell.strip()]
    if surplus and header:  # a trailing separator (an empty last value) is not a misalignment
        cells[header[-1]] = Misaligned(cells[header[-1]], "long_row")
    return cells


def _xlsx_rows(path: Path, data_only: bool, layout: Layout = Layout()) -> Iterator[tuple[int, list[str], tuple]]:
    """(row number, header, cells) of the data rows below the header (``layout``), streamed; ``data_only``: the
    values a workbook saved for its formulas (else the formulas). A damaged or oversized workbook raises
    FileUnreadable. A workbook in the 1904 date system gives its numbers as :class:`cells.Serial1904`."""
    from openpyxl import load_workbook
    from openpyxl.utils.datetime import MAC_EPOCH

    check_bounds(path)
    with open(path, "rb") as fh:  # a file object: stored uploads do not keep the .xlsx name
        try:
            wb = load_workbook(fh, read_only=True, data_only=data_only)
        except Exception as err:  # openpyxl raises many kinds for a corrupt archive
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        try:
            # max_col: a row is never padded beyond the columns an import can have (streamed, read-only).
            sheets = wb.worksheets
            if not sheets:
                return
            rows = sheets[layout.sheet].iter_rows(values_only=True, max_col=MAX_COLUMNS, min_row=layout.header)
            header = _normalise_header(next(rows, ()) or ())
            mac = wb.epoch == MAC_EPOCH
            for number, row in enumerate(rows, start=layout.header + 1):
                if number - layout.header > MAX_ROWS:
                    raise FileUnreadable("too_large", f"more than {MAX_ROWS} rows")
                if mac:
                    row = tuple(Serial1904(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                                for v in row)
                yield number, header, row
        except FileUnreadable:
            raise
        except Exception as err:  # a damaged member found while streaming (bad CRC, truncated XML)
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        finally:
            wb.close()


def _read_xlsx(path: Path, formulas: dict, layout: Layout = Layout()) -> Iterator[tuple[int, dict]]:
    for number, header, row in _xlsx_rows(path, data_only=True, layout=layout):
        values = dict(zip(header, row, strict=False))
        for column, value in values.items():
            if value is None and (number, column) in formulas:
                values[column] = Formula(formulas[(number, column)])
        if any(c not in (None, "") for c in values.values()):
            yield number, values


def _header_cells(path: Path, layout: Layout) -> list:
    """The header's cells as the file writes them; FileUnreadable for a file that cannot be read."""
    try:
        if _is_xlsx(path):
            check_bounds(path)
            cells = _xlsx_header(path, layout)
        else:
            with open(path, encoding=csv_encoding(path), newline="") as fh:
                cells = next(_csv_reader(fh, layout)[0], [])
    except (UnicodeDecodeError, csv.Error) as err:
        raise FileUnreadable("unreadable", str(err)[:200]) from err
    return list(cells)[:MAX_COLUMNS]


def headings_as_written(path: Path, layout: Layout | None = None) -> dict[str, str]:
    """{column as the rows name it (normalised: "full_name"): its heading as the file writes it ("Full name")} — a
    message to a person names a column as their file does. Read after :func:`scan`, so the file is known to be
    readable; {} if it is not."""
    try:
        cells = _header_cells(path, layout or Layout())
    except FileUnreadable:
        return {}
    written: dict[str, str] = {}
    for column, cell in zip(_normalise_header(cells), cells, strict=False):
        if column and cell is not None:
            written.setdefault(column, " ".join(str(cell).translate(_INVISIBLE).split()))
    return written


def _xlsx_header(path: Path, layout: Layout) -> tuple:
    with _workbook(path) as wb:
        if not wb.worksheets:
            return ()
        return next(wb.worksheets[layout.sheet].iter_rows(values_only=True, max_col=MAX_COLUMNS,
                                                          min_row=layout.header, max_row=layout.header), ())


def header_of(path: Path, layout: Layout | None = None) -> list[str]:
    """The file's columns as the rows name them (normalised headings), in the file's order, a repeated one twice."""
    return _normalise_header(_header_cells(path, layout or Layout()))


# --- upsert ----------------------------------------------------------------------------------------


def upsert(kind: ImportKind, rows: list[dict], columns: Collection[str] | None = None,
           changed: set | None = None) -> int:
    """INSERT … ON CONFLICT (natural key) DO UPDATE — on SQLite and PostgreSQL alike. Returns the records written:
    rows of the batch with the same key are one record (the last wins).

    ``columns``: the file's columns (default: all of the kind's). An existing record is updated in those only: a
    column the file does not have keeps its stored value — the parsers' defaults (not withdrawn, no licence end,
    full-time) are for a new record, and a file without ``withdrawn_on`` had un-withdrawn every child it named. An
    empty cell of a column the file has is a value (empty ``withdrawn_on``: not withdrawn) and is written.

    ``changed``: collects the ``kind.touches`` value (IIN or BIN) of every record added or changed — a record the
    file repeats as it is stored is not rewritten, and names no act to verify again."""
    if not rows:
        return 0
    by_key = {tuple(r[k] for k in kind.key): r for r in rows}  # last row of a key in the batch wins
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(kind.table)
    present = kind.columns if columns is None else columns
    updated = {c: stmt.excluded[c] for c in kind.columns if c not in kind.key and c in present}
    # A row that is all key (a dormitory's bed), or a file of key columns only, has nothing to update: the record
    # exists or it is added.
    track = changed is not None and kind.touches is not None
    # tracked: a record the file repeats as stored is not rewritten, so RETURNING names only what was added or changed
    differs = or_(*(kind.table.c[c].is_distinct_from(stmt.excluded[c]) for c in updated)) if track and updated \
        else None
    stmt = (stmt.on_conflict_do_update(index_elements=list(kind.key), set_=updated, where=differs) if updated
            else stmt.on_conflict_do_nothing(index_elements=list(kind.key)))
    if track:
        if kind.touches[1] in updated:  # the file writes the column: a record may move to another BIN
            changed.update(_moved_from(kind, by_key))
        changed.update(db.session.execute(stmt.returning(kind.table.c[kind.touches[1]]),
                                          list(by_key.values())).scalars().all())
    else:
        db.session.execute(stmt, list(by_key.values()))
    return len(by_key)


def _moved_from(kind: ImportKind, by_key: dict[tuple, dict]) -> set[str]:
    """The stored ``kind.touches`` values (BINs) of the records the batch moves to another one: a licence whose number
    (the key) the registry now files under another BIN — a typo in the BIN corrected. RETURNING gives the new BIN
    only: the school that lost the licence kept its open act verified on it, accepted and paid for a licence it never
    had. Read before the upsert, for the kinds whose key does not hold the value (a licence's number, a dormitory's
    document); a key of one column (every such kind's)."""
    column = kind.touches[1]
    if len(kind.key) != 1:
        return set()
    key = kind.key[0]
    wanted = {k[0]: row[column] for k, row in by_key.items() if column in row}
    keys, moved = sorted(wanted), set()
    for i in range(0, len(keys), 900):  # bound parameters per IN (…) stay under SQLite's limit
        for stored_key, stored in db.session.execute(select(kind.table.c[key], kind.table.c[column]).where(
                kind.table.c[key].in_(keys[i : i + 900]))):
            if stored != wanted[stored_key]:
                moved.add(stored)
    return moved


@dataclass
class ImportResult:
    total: int = 0
    loaded: int = 0
    rejected: int = 0
    errors: list[dict] | None = None
    columns: list[str] | None = None  # the kind's columns the file has: the only ones an update writes
    notices: list[dict] | None = None  # rows loaded that may correct an earlier row (first MAX_REPORTED_ERRORS)
    noticed: int = 0
    repeated: int = 0  # rows whose key an earlier row of the file had: they replaced it (not counted as loaded)
    #: the file's headings that name no column of the kind, as written: their values were not read
    ignored_columns: list[str] | None = None
    #: the acts not yet decided (submitted or verified) that the records added or changed concern
    touched_acts: set[int] | None = None


def touched_acts(kind: ImportKind, values: Collection[str]) -> set[int]:
    """The acts not yet decided (submitted, or verified and awaiting acceptance) that records of ``kind`` with these
    IINs or BINs (``kind.touches``) may decide differently: those listing one of the students, or those of one of
    the organisations. An accepted act is final; its corrections are adjustments on the next act.

    A student's record touches the open acts of every school with a line of the student — not only those listing
    the student: a correction of a paid month is settled on the school's open act (:mod:`app.acts.adjustments`), which
    need not list the student — a pupil NEDB had until the month's end, then says left on the 11th, is on October's
    paid act and not on November's. November was accepted without the claw-back, left for a later act the school
    may never submit. (The schools come from the (iin, period, school_id) index alone, no act row per line.)

    A student NEDB merged (app.registry.merges) is also listed under a retired IIN: a line claiming it is judged as
    the surviving child, so a record of the surviving IIN touches the schools with a line of a retired one too. Only
    the lines of the IIN itself were looked for: an act listing the retired IIN stayed verified on the registry's old
    word — NEDB withdrew the child from the 1st and the act was still accepted and paid the month's norm."""
    from app.acts.models import Act, ActLine
    from app.acts.operations import VERIFIABLE
    from app.people.models import Organisation

    if kind.touches is None or not values:
        return set()
    wanted, found = sorted(values), set()
    for i in range(0, len(wanted), 900):  # bound parameters per IN (…) stay under SQLite's limit
        chunk = wanted[i : i + 900]
        if kind.touches[0] == "iin":
            retired = select(NedbIinMerge.retired_iin).where(NedbIinMerge.surviving_iin.in_(chunk))
            schools = (select(ActLine.school_id).where(or_(ActLine.iin.in_(chunk), ActLine.iin.in_(retired)))
                       .distinct().scalar_subquery())
            query = select(Act.id).where(Act.school_id.in_(schools), Act.status.in_(VERIFIABLE))
        else:
            query = (select(Act.id).join(Organisation, Organisation.id == Act.school_id)
                     .where(Organisation.bin.in_(chunk), Act.status.in_(VERIFIABLE)))
        found.update(db.session.scalars(query))
    return found


def _columns_of(kind: ImportKind, header: list[str], written: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """{file's heading: kind's column} and the headings the kind does not know (as written). Two headings of one
    column are refused: a row read into a dict kept the last one's value and dropped the other's unsaid."""
    known = kind.headings
    mapping = {heading: known[heading] for heading in header if heading in known}
    seen: dict[str, list[str]] = {}
    for heading in header:
        if heading in known:
            seen.setdefault(known[heading], []).append(written.get(heading, heading))
    doubled = [" / ".join(names) for names in seen.values() if len(names) > 1]
    if doubled:
        raise FileUnreadable("duplicate_columns", "; ".join(doubled))
    ignored = [written.get(heading, heading) for heading in dict.fromkeys(header) if heading and heading not in known]
    return mapping, ignored


def file_columns(kind: ImportKind, path: Path, layout: Layout) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """The file's headings read as the kind's columns: {heading: column}, the headings not read (as written), and
    {column: its heading as the file writes it} — a rejected row's column is named as the file's heading writes it
    ("Full name", "ЖСН"), not as the rows are keyed ("full_name"): the person looks for it in their file.
    FileUnreadable when a required column is missing."""
    header = header_of(path, layout)
    as_written = headings_as_written(path, layout)
    mapping, ignored = _columns_of(kind, header, as_written)
    written = {mapping.get(heading, heading): as_written.get(heading, heading) for heading in header}
    missing = [c for c in kind.required if c not in mapping.values()]
    if missing:
        raise FileUnreadable("missing_columns", ", ".join(missing))
    return mapping, ignored, written


def parsed_rows(kind: ImportKind, path: Path, formulas: dict | None, layout: Layout,
                mapping: dict[str, str]) -> Iterator[tuple[int, dict, dict | RowError]]:
    """(line, the row keyed by column, its record — or the :class:`RowError` it is rejected for) for every row of the
    file: what an import loads, and what a complete register's removals are planned on (app.registry.snapshot)."""
    renamed = any(heading != column for heading, column in mapping.items())
    for line, row in read_rows(path, formulas, layout):
        if renamed:
            row = {mapping.get(heading, heading): value for heading, value in row.items()}
        try:
            for column, value in row.items():
                if isinstance(value, Formula):
                    raise RowError(column, "formula")
                if isinstance(value, Misaligned):
                    raise RowError(column, value.code)
            outcome: dict | RowError = kind.parse(row)
        except RowError as err:
            outcome = err
        yield line, row, outcome


def _clear_stale_ends(kind: ImportKind, batch: list[tuple[int, dict]],
                      columns: Collection[str]) -> list[tuple[int, dict]]:
    """The rows of the batch whose licence the register says is active today (:data:`ACTIVE_TODAY`, taken off every
    record here) from a file without a ``valid_until`` column, while the end date stored from an earlier file has
    passed: their ``valid_until`` is set to None (indefinite), to be written.

    A column a file lacks keeps its stored value (:func:`upsert`), and a licence register's usual export of
    indefinite licences has no end date column: a licence renewed without an end date kept its old one, and from the
    day after it the school's every line was ``licence_expired`` — 42,300.00 ₸ a month for a pupil of the basic level
    unpaid although the register listed the licence "active". The register's word about today outranks a date kept
    from a file it has replaced; a stored end date not yet passed is not contradicted by "active" and is kept."""
    active = {record[kind.key[0]] for _, record in batch if record.pop(ACTIVE_TODAY, False)}
    if not active or "valid_until" not in kind.columns or "valid_until" in columns:
        return []
    key, today, stale = kind.table.c[kind.key[0]], clock.today(), set()
    for chunk in in_sets(key, sorted(active)):
        stale.update(db.session.scalars(select(key).where(chunk, kind.table.c.valid_until < today)))
    cleared = [(line, record) for line, record in batch if record[kind.key[0]] in stale]
    for _, record in cleared:
        record["valid_until"] = None
    return cleared


def _kept_liquidation_dates(kind: ImportKind, batch: list[tuple[int, dict]],
                            columns: Collection[str]) -> list[tuple[int, str]]:
    """(line, BIN) of the business register's rows saying "active" from a file without a ``liquidated_on`` column
    while the record keeps a liquidation date from an earlier file: the date stays stored and is not read while the
    register says active (app.registry.business.liquidation_day) — said beside the row, so the operator knows a date
    is there should the register list the organisation liquidated again without giving its new date."""
    if kind.model is not BusinessRecord or "liquidated_on" in columns:
        return []
    active = sorted({record["bin"] for _, record in batch if record["status"] == "active"})
    dated: set[str] = set()
    for chunk in in_sets(BusinessRecord.bin, active):
        dated.update(db.session.scalars(select(BusinessRecord.bin).where(
            chunk, BusinessRecord.liquidated_on.is_not(None))))
    return [(line, record["bin"]) for line, record in batch if record["bin"] in dated and record["status"] == "active"]


def merged_iins() -> dict[str, str]:
    """NEDB's merge list as {retired IIN: surviving IIN} (chains kept flat by app.registry.merges). Small: NEDB merges
    a few thousand IINs a year at most."""
    return dict(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)).all())


def import_file(kind_name: str, path: Path, progress: Callable[[int, int, int], None] | None = None,
                formulas: dict | None = None, touched: set[int] | None = None,
                layout: Layout | None = None) -> ImportResult:
    """Validate and upsert every row of ``path``; ``progress(processed, loaded, rejected)`` after each batch.

    The caller owns the transaction boundary; ``progress`` may commit (the import then lands batch by batch), so
    the caller runs :func:`scan` first (``formulas`` is what it found). ``loaded`` counts records: two rows of a
    batch with the same key are one record. ``touched``: the set ``result.touched_acts`` collects into (the caller
    keeps it with each committed batch, see :func:`app.registry.operations.run_import`). ``layout``: where the
    table is (:attr:`Scan.layout`; found here when not given).

    A column is named by our heading or its Russian or Kazakh one (:mod:`app.registry.headings`), in any order;
    the headings that name no column are reported (``ignored_columns``), their values not read.
    """
    kind = KINDS[kind_name]
    result = ImportResult(errors=[])
    if layout is None:
        layout = find_layout(path, kind.headings)
    mapping, result.ignored_columns, written = file_columns(kind, path, layout)
    result.columns = [c for c in kind.columns if c in mapping.values()]
    # NEDB's merges (app.registry.merges): a row of a retired IIN is the surviving child's enrolment — stored under
    # the retired one, it was a second child verification never read and a complete register then removed
    merged = merged_iins() if kind.name == "nedb" else {}
    # The keys of the file's rows so far, as 64-bit hashes (a million rows in tens of MB; a collision could only
    # name a row as repeated that is not, never change what is written).
    in_file: set[int] = set()
    earlier = EarlierRows(kind.key, kind.model, in_file) if kind.enrolments else None
    batch: list[tuple[int, dict]] = []
    repeats: list[dict] = []
    notes: list[dict] = []  # loaded rows whose value was read as other than written (ROW_NOTES)

    result.touched_acts = touched if touched is not None else set()

    def flush() -> None:
        """Write the batch. A row whose key an earlier row of the file had (the same student, school and enrolment
        date twice) replaces it — the last row wins, as the registry's latest word — and is named with the line it
        replaced, so the counts add up (rows = loaded + rejected + repeated) and nothing is merged unsaid."""
        lines: dict[tuple, int] = {}
        for line, record in batch:
            key = tuple(record[k] for k in kind.key)
            if key in lines or hash(key) in in_file:
                result.repeated += 1
                if len(repeats) < MAX_REPORTED_ERRORS:
                    repeats.append({"line": line, "code": "repeated_in_file", "iin": str(key[0]),
                                    "earlier_line": lines.get(key)})
            lines[key] = line
        changed: set[str] = set()
        cleared = _clear_stale_ends(kind, batch, result.columns)
        for line, record in cleared:
            if len(notes) < MAX_REPORTED_ERRORS:
                notes.append({"line": line, "code": "licence_end_cleared", "iin": str(record[kind.key[0]])})
        rewritten = {id(record) for _, record in cleared}
        upsert(kind, [record for _, record in batch if id(record) not in rewritten], result.columns, changed)
        if cleared:  # these rows write their end date too: none (indefinite)
            upsert(kind, [record for _, record in cleared], [*result.columns, "valid_until"], changed)
        for line, key in _kept_liquidation_dates(kind, batch, result.columns):
            if len(notes) < MAX_REPORTED_ERRORS:
                notes.append({"line": line, "code": "liquidation_date_not_read", "iin": key})
        if changed:
            result.touched_acts.update(touched_acts(kind, changed))
        in_file.update(hash(k) for k in lines)
        result.loaded = result.total - result.rejected - result.repeated  # every row read so far is decided
        if earlier is not None and batch:
            earlier.check(batch)
        batch.clear()
        if progress:
            progress(result.total, result.loaded, result.rejected)

    for line, row, record in parsed_rows(kind, path, formulas, layout, mapping):
        result.total += 1
        if isinstance(record, RowError):
            err = record
            result.rejected += 1
            if len(result.errors) < MAX_REPORTED_ERRORS:
                value = row.get(err.column)
                result.errors.append({"line": line, "column": err.column,
                                      "heading": written.get(err.column, err.column), "code": err.code,
                                      "value": "" if value is None else str(value)[:60]})
        else:
            if merged and record["iin"] in merged:
                record["iin"] = merged[record["iin"]]
                record.setdefault(NOTES, []).append("merged_iin")
            for code in record.pop(NOTES, ()):
                if len(notes) < MAX_REPORTED_ERRORS:
                    notes.append({"line": line, "code": code, "iin": str(record[kind.key[0]])})
            batch.append((line, record))
        if len(batch) >= BATCH:
            flush()
    flush()
    overlapping = earlier.notices() if earlier is not None else []
    result.noticed = len(overlapping)
    result.notices = sorted(repeats + overlapping + notes, key=lambda n: n["line"])[:MAX_REPORTED_ERRORS]
    return result
