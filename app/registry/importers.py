"""Reading registry files (CSV or XLSX) row by row, validating each row, and upserting the valid ones.

Every rejected row is reported with its line number (the header is line 1, as a spreadsheet shows it)
and a reason code; valid rows land whatever happens to the others. Rows are upserted on the table's
natural key, so re-importing a file updates rather than duplicates — and only the columns the file has.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.extensions import db
from app.registry.earlier_rows import EarlierRows
from app.registry.identifiers import has_non_ascii_digits, is_valid_bin, is_valid_iin
from app.registry.models import LEVELS, BusinessRecord, Licence, NedbEnrollment

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
    "invalid_grade": _l("grade must be a whole number from 1 to 11"),
    "invalid_kind": _l("school kind must be 'private' or 'state'"),
    "invalid_levels": _l("levels must be a list of primary, basic, secondary"),
    "invalid_status": _l("status must be 'active' or 'liquidated'"),
    "invalid_oked": _l("activity code must look like 85.31"),
    "liquidated_not_status": _l("a liquidation date needs the status 'liquidated'"),
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
    "interrupted": _l("the import was stopped on the command line (Ctrl-C) before its end"),
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


def _text(row: dict, column: str, max_len: int, required: bool = True) -> str | None:
    value = row.get(column)
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise RowError(column, "missing")
        return None
    if len(value) > max_len:
        raise RowError(column, "too_long")
    return value


def _ident(row: dict, column: str, check: Callable[[str], bool], code: str) -> str:
    value = row.get(column)
    if isinstance(value, int | float) and not isinstance(value, bool):  # a spreadsheet turned it into a number
        value = f"{int(value):012d}"
    value = _text({column: value}, column, 12)
    if has_non_ascii_digits(value):
        raise RowError(column, "non_ascii_digits")
    if not check(value):
        # Excel saving a CSV drops the leading 0 of every IIN of a child born in 2000–2009 and of a BIN starting
        # with 0: "not a valid IIN" sent the operator looking for a wrong digit. Said as what it is, and not padded
        # here: an 11-digit value is also a number typed with a digit missing, and the file is the registry's word.
        if re.fullmatch(r"[0-9]{11}", value) and check("0" + value):
            raise RowError(column, "leading_zero_lost")
        raise RowError(column, code)
    return value


def _date(row: dict, column: str, required: bool = True) -> date | None:
    value = row.get(column)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise RowError(column, "missing")
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise RowError(column, "invalid_date")


def _whole_number(row: dict, column: str, low: int, high: int, code: str) -> int:
    value = row.get(column)
    try:
        number = int(str(value).strip().removesuffix(".0"))
    except (TypeError, ValueError):
        raise RowError(column, "missing" if value in (None, "") else code) from None
    if not low <= number <= high:
        raise RowError(column, code)
    return number


def _grade(row: dict) -> int:
    return _whole_number(row, "grade", 1, 11, "invalid_grade")


def _period(row: dict, start: str, end: str) -> tuple[date, date | None]:
    """A required first day and an optional end that may not come before it."""
    first = _date(row, start)
    last = _date(row, end, required=False)
    if last is not None and last < first:
        raise RowError(end, "end_before_start")
    return first, last


# --- kinds -----------------------------------------------------------------------------------------


def parse_nedb(row: dict) -> dict:
    kind = (_text(row, "school_kind", 8, required=False) or "private").lower()
    if kind not in ("private", "state"):
        raise RowError("school_kind", "invalid_kind")
    enrolled, withdrawn = _period(row, "enrolled_on", "withdrawn_on")
    if enrolled > clock.today() + timedelta(days=366):  # a typed year (2030): no registry enrols that far ahead
        raise RowError("enrolled_on", "far_future")
    return {"iin": _ident(row, "iin", is_valid_iin, "invalid_iin"), "full_name": _text(row, "full_name", 200),
            "school_bin": _ident(row, "school_bin", is_valid_bin, "invalid_bin"), "school_kind": kind,
            "grade": _grade(row), "enrolled_on": enrolled, "withdrawn_on": withdrawn}


def parse_licence(row: dict) -> dict:
    levels = [x for x in re.split(r"[\s,;|]+", (_text(row, "levels", 60) or "").lower()) if x]
    if not levels or any(x not in LEVELS for x in levels):
        raise RowError("levels", "invalid_levels")
    valid_from, valid_until = _period(row, "valid_from", "valid_until")
    return {"number": _text(row, "number", 40), "bin": _ident(row, "bin", is_valid_bin, "invalid_bin"),
            "valid_from": valid_from, "valid_until": valid_until,
            "levels": ",".join(x for x in LEVELS if x in levels)}


def parse_business(row: dict) -> dict:
    status = (_text(row, "status", 16) or "").lower()
    if status not in ("active", "liquidated"):
        raise RowError("status", "invalid_status")
    oked = _text(row, "oked", 16)
    if not re.fullmatch(r"\d{2}(\.\d{1,2}(\.\d{1,2})?)?", oked):
        raise RowError("oked", "invalid_oked")
    # The day the organisation was liquidated (optional; an empty cell: no date known). Its days before it are paid.
    liquidated_on = _date(row, "liquidated_on", required=False)
    if liquidated_on is not None:
        if status != "liquidated":
            raise RowError("liquidated_on", "liquidated_not_status")
        if liquidated_on > clock.today() + timedelta(days=366):  # a typed year (2052)
            raise RowError("liquidated_on", "far_future")
    return {"bin": _ident(row, "bin", is_valid_bin, "invalid_bin"), "name": _text(row, "name", 255),
            "status": status, "oked": oked, "liquidated_on": liquidated_on}


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

    @property
    def table(self) -> Table:
        return self.model.__table__


KINDS: dict[str, ImportKind] = {
    "nedb": ImportKind("nedb", NedbEnrollment,
                       ("iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"),
                       ("iin", "full_name", "school_bin", "grade", "enrolled_on"),
                       ("iin", "school_bin", "enrolled_on"), parse_nedb, enrolments=True, touches=("iin", "iin")),
    "licences": ImportKind("licences", Licence, ("number", "bin", "valid_from", "valid_until", "levels"),
                           ("number", "bin", "valid_from", "levels"), ("number",), parse_licence,
                           touches=("bin", "bin")),
    "business": ImportKind("business", BusinessRecord, ("bin", "name", "status", "oked", "liquidated_on"),
                           ("bin", "name", "status", "oked"), ("bin",), parse_business, touches=("bin", "bin")),
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

MAX_ROWS = 1_000_000
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


def count_rows(path: Path) -> int:
    """Data rows (without the header) — for the progress bar; cheap compared to the import itself.

    0 for a file the import will refuse: :func:`import_file` reports why (the job fails with that reason).
    """
    try:
        check_bounds(path)
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
                return max((wb.worksheets[0].max_row or 1) - 1, 0)
            finally:
                wb.close()
    with open(path, "rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def read_rows(path: Path, formulas: dict | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, {column: value}) for each non-empty data row; raises FileUnreadable. ``formulas`` (from
    :func:`scan`): an XLSX cell that holds a formula with no saved value is given as a :class:`Formula`."""
    if _is_xlsx(path):
        yield from _read_xlsx(path, formulas or {})
    else:
        yield from _read_csv(path)


class Formula(str):
    """An XLSX cell's formula whose value the file does not hold (a workbook written by a program, never opened in
    Excel): read as values, it was an empty cell — and an empty withdrawal date cleared a real one."""


@dataclass
class Scan:
    rows: int  # data rows
    formulas: dict  # {(row, column): formula text} of the XLSX cells that hold a formula


MAX_FORMULAS = 100_000


def scan(path: Path) -> Scan:
    """Read the whole file once before a row is written: a file that cannot be read to its end (a field over the
    CSV limit, a broken encoding, a damaged workbook member, too many rows) raises FileUnreadable here, so a bad
    file changes nothing — the import had committed the batches before the bad line. Also counts the rows (the
    progress bar) and finds an XLSX's formula cells."""
    if not _is_xlsx(path):
        return Scan(sum(1 for _ in _read_csv(path)), {})
    formulas: dict = {}
    count = 0
    for number, header, row in _xlsx_rows(path, data_only=False):
        if any(c not in (None, "") for c in row):
            count += 1
        for column, value in zip(header, row, strict=False):
            if isinstance(value, str) and value.startswith("="):
                if len(formulas) >= MAX_FORMULAS:
                    raise FileUnreadable("too_large", f"more than {MAX_FORMULAS} formulas")
                formulas[(number, column)] = value
    return Scan(count, formulas)


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
    UTF-8). Read in chunks, so a file of millions of rows is checked without holding it."""
    import codecs

    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1251"
    return "utf-8-sig"


def _csv_reader(fh):
    sample = fh.read(8192)
    fh.seek(0)
    return csv.reader(fh, delimiter=max(",;\t", key=sample.split("\n", 1)[0].count))


def _read_csv(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with open(path, encoding=csv_encoding(path), newline="") as fh:
            reader = _csv_reader(fh)
            header = _normalise_header(next(reader, [])[:MAX_COLUMNS + 1])
            if len(header) > MAX_COLUMNS:
                raise FileUnreadable("too_large", "columns")
            for row in reader:
                if reader.line_num > MAX_ROWS + 1 or len(row) > MAX_COLUMNS:
                    raise FileUnreadable("too_large", f"line {reader.line_num}")
                if any(cell.strip() for cell in row):
                    yield reader.line_num, _cells(header, row)
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


def _xlsx_rows(path: Path, data_only: bool) -> Iterator[tuple[int, list[str], tuple]]:
    """(row number, header, cells) of the first sheet's data rows, streamed; ``data_only``: the values a workbook
    saved for its formulas (else the formulas). A damaged or oversized workbook raises FileUnreadable."""
    from openpyxl import load_workbook

    check_bounds(path)
    with open(path, "rb") as fh:  # a file object: stored uploads do not keep the .xlsx name
        try:
            wb = load_workbook(fh, read_only=True, data_only=data_only)
        except Exception as err:  # openpyxl raises many kinds for a corrupt archive
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        try:
            # max_col: a row is never padded beyond the columns an import can have (streamed, read-only).
            rows = wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
            header = _normalise_header(next(rows, ()) or ())
            for number, row in enumerate(rows, start=2):
                if number > MAX_ROWS + 1:
                    raise FileUnreadable("too_large", f"more than {MAX_ROWS} rows")
                yield number, header, row
        except FileUnreadable:
            raise
        except Exception as err:  # a damaged member found while streaming (bad CRC, truncated XML)
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        finally:
            wb.close()


def _read_xlsx(path: Path, formulas: dict) -> Iterator[tuple[int, dict]]:
    for number, header, row in _xlsx_rows(path, data_only=True):
        values = dict(zip(header, row, strict=False))
        for column, value in values.items():
            if value is None and (number, column) in formulas:
                values[column] = Formula(formulas[(number, column)])
        if any(c not in (None, "") for c in values.values()):
            yield number, values


def headings_as_written(path: Path) -> dict[str, str]:
    """{column as the rows name it (normalised: "full_name"): its heading as the file writes it ("Full name")} — a
    message to a person names a column as their file does. Read after :func:`scan`, so the file is known to be
    readable; {} if it is not."""
    try:
        if _is_xlsx(path):
            cells = _xlsx_header(path)
        else:
            with open(path, encoding=csv_encoding(path), newline="") as fh:
                cells = next(_csv_reader(fh), [])
    except (FileUnreadable, UnicodeDecodeError, csv.Error):
        return {}
    cells = list(cells)[:MAX_COLUMNS]
    written: dict[str, str] = {}
    for column, cell in zip(_normalise_header(cells), cells, strict=False):
        if column and cell is not None:
            written.setdefault(column, " ".join(str(cell).translate(_INVISIBLE).split()))
    return written


def _xlsx_header(path: Path) -> tuple:
    from openpyxl import load_workbook

    with open(path, "rb") as fh:
        try:
            wb = load_workbook(fh, read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many kinds for a corrupt archive
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        try:
            return next(wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS, max_row=1), ())
        except Exception as err:  # a damaged member
            raise FileUnreadable("unreadable", str(err)[:200]) from err
        finally:
            wb.close()


def header_of(path: Path) -> list[str]:
    for _, row in read_rows(path):
        return list(row.keys())
    if _is_xlsx(path):
        return []
    with open(path, encoding=csv_encoding(path), errors="replace", newline="") as fh:
        first = fh.readline()
    return _normalise_header(next(csv.reader(io.StringIO(first), delimiter=max(",;\t", key=first.count)), []))


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
    may never submit. (The schools come from the (iin, period, school_id) index alone, no act row per line.)"""
    from app.acts.models import Act, ActLine
    from app.acts.operations import VERIFIABLE
    from app.people.models import Organisation

    if kind.touches is None or not values:
        return set()
    wanted, found = sorted(values), set()
    for i in range(0, len(wanted), 900):  # bound parameters per IN (…) stay under SQLite's limit
        chunk = wanted[i : i + 900]
        if kind.touches[0] == "iin":
            schools = select(ActLine.school_id).where(ActLine.iin.in_(chunk)).distinct().scalar_subquery()
            query = select(Act.id).where(Act.school_id.in_(schools), Act.status.in_(VERIFIABLE))
        else:
            query = (select(Act.id).join(Organisation, Organisation.id == Act.school_id)
                     .where(Organisation.bin.in_(chunk), Act.status.in_(VERIFIABLE)))
        found.update(db.session.scalars(query))
    return found


def import_file(kind_name: str, path: Path, progress: Callable[[int, int, int], None] | None = None,
                formulas: dict | None = None, touched: set[int] | None = None) -> ImportResult:
    """Validate and upsert every row of ``path``; ``progress(processed, loaded, rejected)`` after each batch.

    The caller owns the transaction boundary; ``progress`` may commit (the import then lands batch by batch), so
    the caller runs :func:`scan` first (``formulas`` is what it found). ``loaded`` counts records: two rows of a
    batch with the same key are one record. ``touched``: the set ``result.touched_acts`` collects into (the caller
    keeps it with each committed batch, see :func:`app.registry.operations.run_import`).
    """
    kind = KINDS[kind_name]
    result = ImportResult(errors=[])
    header = header_of(path)
    missing = [c for c in kind.required if c not in header]
    if missing:
        raise FileUnreadable("missing_columns", ", ".join(missing))
    result.columns = [c for c in kind.columns if c in header]
    # a rejected row's column is named as the file's heading writes it ("Full name", "ЖСН"), not as the rows are
    # keyed ("full_name"): the person looks for it in their file
    written = headings_as_written(path)
    # The keys of the file's rows so far, as 64-bit hashes (a million rows in tens of MB; a collision could only
    # name a row as repeated that is not, never change what is written).
    in_file: set[int] = set()
    earlier = EarlierRows(kind.key, kind.model, in_file) if kind.enrolments else None
    batch: list[tuple[int, dict]] = []
    repeats: list[dict] = []

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
        upsert(kind, [record for _, record in batch], result.columns, changed)
        if changed:
            result.touched_acts.update(touched_acts(kind, changed))
        in_file.update(hash(k) for k in lines)
        result.loaded = result.total - result.rejected - result.repeated  # every row read so far is decided
        if earlier is not None and batch:
            earlier.check(batch)
        batch.clear()
        if progress:
            progress(result.total, result.loaded, result.rejected)

    for line, row in read_rows(path, formulas):
        result.total += 1
        try:
            for column, value in row.items():
                if isinstance(value, Formula):
                    raise RowError(column, "formula")
                if isinstance(value, Misaligned):
                    raise RowError(column, value.code)
            batch.append((line, kind.parse(row)))
        except RowError as err:
            result.rejected += 1
            if len(result.errors) < MAX_REPORTED_ERRORS:
                value = row.get(err.column)
                result.errors.append({"line": line, "column": err.column,
                                      "heading": written.get(err.column, err.column), "code": err.code,
                                      "value": "" if value is None else str(value)[:60]})
        if len(batch) >= BATCH:
            flush()
    flush()
    overlapping = earlier.notices() if earlier is not None else []
    result.noticed = len(overlapping)
    result.notices = sorted(repeats + overlapping, key=lambda n: n["line"])[:MAX_REPORTED_ERRORS]
    return result
