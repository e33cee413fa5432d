"""Fill a task form's table (an act's ``lines``) from a CSV or XLSX file — read, checked, never saved.

The file is read with the registry importers' bounded readers (:mod:`app.registry.importers`: size and shape
bounds, CSV encodings, formula cells without a saved value, short and long rows refused). Its columns are the
table's own: a header cell names a column by its property name or by its title in any of the form's languages.
Each row is checked exactly as the task's form checks a submitted row (:func:`app.engine.forms.parse_form`, then
:func:`app.engine.forms.validate` — types, bounds, IIN/BIN check digits); a row that fails is reported (file line,
column, value, reason) and left out. The good rows become the form's values: the person reviews them and submits.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _

from app.engine.forms import field_label, is_table, parse_form, validate
from app.registry.headings import columns_by_heading
from app.registry.importers import (
    REASONS,
    FileUnreadable,
    Formula,
    Misaligned,
    check_bounds,
    heading_key,
    headings_as_written,
    read_rows,
    scan,
    spreadsheet_upload_problem,
)
from app.user_input import calendar_date

log = logging.getLogger(__name__)

#: check_line(line) → (column, reason) if the task refuses the line, else None
LineCheck = Callable[[dict], "tuple[str, str] | None"]
#: rows of the report listed on the page (all are counted)
MAX_REPORTED = 200
#: An act's 3000 lines come to about 2 MB of unpacked XLSX; the registry's bound (200 MB, for files of a million
#: rows) let 73 KB sent from a task page unpack to 9 MB of shared strings, 25 s of a web process (1.4 MB: 8 minutes).
MAX_UNPACKED_BYTES = 8 * 1024 * 1024


@dataclass
class LinesReport:
    filename: str = ""
    read: int = 0  # data rows of the file with a value in a column of the table
    lines: list[dict] = field(default_factory=list)  # the good rows, typed as the form's
    refused: int = 0
    problems: list[dict] = field(default_factory=list)  # {"line", "column", "value", "reason"}
    problem: str | None = None  # why nothing of the file was taken
    unused_columns: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.lines)


def table_of(schema: dict) -> str | None:
    """The form's table the file fills: ``lines`` if it is one, else the only table of the form."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return None
    tables = [key for key, sub in props.items() if is_table(sub) and isinstance(sub["items"].get("properties"), dict)]
    if "lines" in tables:
        return "lines"
    return tables[0] if len(tables) == 1 else None


def _titles(value) -> list[str]:
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def column_names(schema: dict, ui: dict, table: str) -> dict[str, str]:
    """{normalised header text: property}: each property's name, its schema title and its ``ui:title`` in every
    language the form has."""
    items = schema["properties"][table]["items"]
    items_ui = ((ui or {}).get(table) or {}).get("items") or {}
    names: dict[str, str] = {}
    for prop, sub in items["properties"].items():
        sub_ui = items_ui.get(prop) if isinstance(items_ui.get(prop), dict) else {}
        for text in [prop, *_titles(sub.get("title") if isinstance(sub, dict) else None),
                     *_titles(sub_ui.get("ui:title"))]:
            names.setdefault(heading_key(text), prop)
    # the registries' Russian and Kazakh headings of a column the table shares with them ("ИИН учащегося", "Класс"):
    # a school's lines are often the NEDB export it was sent, headed as NEDB heads them
    for heading, prop in columns_by_heading(list(items["properties"]), heading_key).items():
        names.setdefault(heading, prop)
    for prop in items["properties"]:  # a property's own name wins over another's title
        names[heading_key(prop)] = prop
    return names


_WHOLE_NUMBER = re.compile(r"([+-]?[0-9]+)[.,]0+")


def _cell_text(value, sub: dict) -> str:
    """A file's cell as the text a person would have typed into the form's field."""
    fmt = sub.get("format") if isinstance(sub, dict) else None
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if fmt in ("iin", "bin") and float(value).is_integer() and 0 <= value < 10**12:
            return f"{int(value):012d}"  # a spreadsheet made the IIN a number and dropped its leading zero
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    text = str(value).strip()
    if isinstance(sub, dict) and sub.get("type") == "integer":
        whole = _WHOLE_NUMBER.fullmatch(text)
        if whole:  # "4.0" or "4,0": a CSV saved from a spreadsheet writes a whole number as the XLSX cell holds it
            return whole[1]
    if fmt == "date":
        # 05.11.2026 as Kazakh and Russian spreadsheets write dates, in ASCII digits (app/user_input.py): strptime
        # read "05.11.٢٠٢٦" too, and the line was saved with a day no one typed in digits the form takes
        day = calendar_date(text, day_first=True)
        return text if day is None else day.isoformat()
    return text


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def column_titles(schema: dict, ui: dict, table: str, locale: str) -> dict[str, str]:
    """{property: how the page names its column to the reader}: the property's name, then the form's title for it in
    the reader's language — "days_attended (Дни посещения)". A Russian accountant told that the header lacked
    "days_attended" did not know it was the column the form calls «Дни посещения»."""
    items = schema["properties"][table]["items"]
    items_ui = ((ui or {}).get(table) or {}).get("items") or {}
    named: dict[str, str] = {}
    for prop, sub in items["properties"].items():
        sub_ui = items_ui.get(prop) if isinstance(items_ui.get(prop), dict) else {}
        title = field_label(sub_ui.get("ui:title"), sub.get("title") if isinstance(sub, dict) else None, prop, locale)
        named[prop] = prop if heading_key(title) == heading_key(prop) else f"{prop} ({title})"
    return named


def read_lines(path: Path, schema: dict, ui: dict, table: str, report: LinesReport,
               check_line: LineCheck | None = None, locale: str = "en",
               domain_bounds: frozenset[str] = frozenset()) -> None:
    """Fill ``report`` from the file at ``path``; FileUnreadable for a file the importers refuse. ``check_line``:
    the task's own check of one line beyond the form's schema (the act's month: days within it, dates that meet
    it), so the report refuses what Submit would."""
    names = column_names(schema, ui, table)
    item = schema["properties"][table]["items"]
    props = item["properties"]
    check_bounds(path, MAX_UNPACKED_BYTES)
    # The whole file once: a file that cannot be read to its end gives nothing. The header is searched for as the
    # registry imports search for theirs (app.registry.importers.find_layout): in the first rows — after the act's
    # title, the school's name, an empty row — and in the one sheet with the table's columns (an instructions sheet
    # first in the workbook is not read). It was taken from row 1 of the first sheet, and such a file was refused
    # as lacking every column.
    found = scan(path, names)
    # the report names a column as the file's heading writes it ("ЖСН", "Full name"), not as the rows are keyed
    # ("жсн", "full_name") nor by the form's property (iin)
    written = headings_as_written(path, found.layout)
    most = schema["properties"][table].get("maxItems")
    header: list[str] | None = None
    mapping: dict[str, str] = {}
    heading: dict[str, str] = {}
    for line, row in read_rows(path, found.formulas, found.layout):
        if header is None:
            header = list(row.keys())
            mapping = {column: names[heading_key(column)] for column in header
                       if column and heading_key(column) in names}
            report.unused_columns = [written.get(column, column) for column in header
                                     if column and column not in mapping]
            heading = {prop: written.get(column, column) for column, prop in mapping.items()}
            missing = [prop for prop in item.get("required", []) if prop not in mapping.values()]
            if missing:
                named = column_titles(schema, ui, table, locale)
                raise FileUnreadable("missing_columns", ", ".join(named[prop] for prop in missing))
            if isinstance(most, int) and found.rows > most:
                report.problem = _("the file has too many lines (%(num)s); the form takes at most %(max)s",
                                   num=found.rows, max=most)
                return
        cells = {mapping[column]: value for column, value in row.items() if column in mapping}
        if not any(value not in (None, "") for value in cells.values()):
            continue  # values only in columns the form does not have: not a line of the table
        report.read += 1
        broken = [(column, value) for column, value in row.items() if isinstance(value, Formula | Misaligned)]
        if broken:
            column, value = broken[0]
            code = "formula" if isinstance(value, Formula) else value.code
            _refuse(report, line, [(written.get(column, column), value, str(REASONS[code]))])
            continue
        form = {f"{table}.0.{prop}": _cell_text(value, props[prop]) for prop, value in cells.items()}
        data, errors = parse_form(schema, form)  # the form's own reading of typed fields …
        rows = data.get(table) or [{}]
        if not errors:
            # … and its own check (types, bounds, IIN check digit); the bounds the task judges by its record (an act's
            # days by its month) are check_line's, so the file is answered as Submit answers
            errors = validate(schema, {table: rows}, domain_bounds=domain_bounds)
        prefix = f"{table}.0."
        mine = [(path_.removeprefix(prefix), message) for path_, message in errors.items()
                if path_.startswith(prefix) or path_ in (f"{table}.0", "_form")]
        if mine:
            _refuse(report, line, [(heading.get(column, column), cells.get(column, ""), message)
                                   for column, message in mine])
            continue
        refused = check_line(rows[0]) if check_line is not None else None
        if refused is not None:
            column, message = refused
            _refuse(report, line, [(heading.get(column, column), cells.get(column, ""), message)])
            continue
        report.lines.append(rows[0])


def _refuse(report: LinesReport, line: int, problems: list[tuple[str, object, str]]) -> None:
    report.refused += 1
    for column, value, reason in problems:
        if len(report.problems) < MAX_REPORTED:
            report.problems.append({"line": line, "column": column, "value": _short(value), "reason": reason})


def lines_from_upload(upload, schema: dict, ui: dict, table: str, max_bytes: int,
                      check_line: LineCheck | None = None, locale: str = "en",
                      domain_bounds: frozenset[str] = frozenset()) -> LinesReport:
    """Read an uploaded file into a report; nothing is stored (the file lives in a temporary folder)."""
    report = LinesReport(filename=(upload.filename or "")[:120] if upload is not None else "")
    problem = spreadsheet_upload_problem(upload, max_bytes)  # the registry import's checks of an upload
    if problem:
        report.problem = problem
        return report
    data = upload.read()
    scratch = None
    try:
        scratch = tempfile.TemporaryDirectory(prefix="tapsyrys-lines-")
        path = Path(scratch.name) / "upload"
        path.write_bytes(data)
    except OSError as err:  # the temporary folder full or not writable: said, not a 500; nothing is left of the file
        if scratch is not None:
            scratch.cleanup()
        log.error("a file of lines could not be kept to be read (%s)", err)
        report.problem = _("the server's temporary storage is full or unavailable, so the file could not be read; "
                           "try again later")
        return report
    with scratch:
        try:
            read_lines(path, schema, ui, table, report, check_line, locale, domain_bounds)
        except FileUnreadable as err:
            report.problem = str(REASONS.get(err.code, REASONS["unreadable"]))
            if err.code == "missing_columns":
                report.problem = f"{report.problem}: {err.detail}"
            report.lines, report.read, report.refused, report.problems = [], 0, 0, []
    if report.problem is None and not report.lines:
        report.problem = _("the file has no line the form can take")
    if report.problem:
        report.lines = []
    return report


def file_columns(schema: dict, ui: dict, table: str, locale: str = "en") -> list[str]:
    """The header names a file may use, in the form's order, each with its title in the reader's language (for the
    page's hint): "iin (ИИН), full_name (ФИО), …" — the property names alone were English words to a reader of
    Kazakh or Russian."""
    items_ui = ((ui or {}).get(table) or {}).get("items") or {}
    props = list(schema["properties"][table]["items"]["properties"])
    order = [key for key in items_ui.get("ui:order", []) if key in props] if isinstance(items_ui, dict) else []
    named = column_titles(schema, ui, table, locale)
    return [named[key] for key in order + [key for key in props if key not in order]]
