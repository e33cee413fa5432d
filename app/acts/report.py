"""The verification report of one act: lines by outcome and rule, money withheld, CSV/XLSX export."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from app.acts.models import Act, ActLine
from app.acts.verification import norms_for
from app.extensions import db
from app.instruments import instrument_of
from app.security import csv_export_writer, spreadsheet_cell


@dataclass
class RuleCount:
    code: str
    title: object
    reason: object
    lines: int
    withheld_tiyn: int


def norm_expr(period):
    norms = norms_for(period)
    return case((ActLine.grade <= 4, norms.get("primary", 0)), (ActLine.grade <= 9, norms.get("basic", 0)),
                else_=norms.get("secondary", 0))


def by_rule(act: Act) -> list[RuleCount]:
    """Excluded lines per rule (in precedence order) with the norms they would have earned."""
    instrument = instrument_of(act)
    rules = instrument.rules
    rows = {code: (n, int(w or 0)) for code, n, w in db.session.execute(
        select(ActLine.rule_code, func.count(ActLine.id), func.sum(instrument.withheld_expr(act.period)))
        .where(ActLine.act_id == act.id, ActLine.outcome == "excluded").group_by(ActLine.rule_code))}
    out = [RuleCount(code, r.title, r.reason, *rows[code]) for code, r in rules.items() if code in rows]
    out += [RuleCount(code, _l("Other reason"), "—", n, w) for code, (n, w) in rows.items() if code not in rules]
    return out


def outcome_counts(act: Act) -> dict[str, int]:
    return dict(db.session.execute(select(ActLine.outcome, func.count(ActLine.id))
                                   .where(ActLine.act_id == act.id).group_by(ActLine.outcome)).all())


def students_paid_for(act_ids: list[int]) -> dict[int, int]:
    """Per act, the students its accepted lines pay for: distinct IINs, not lines — a dormitory student who moved
    rooms within the month has a line per room, each paid its own days, and is one student (a month's count of
    students; its money stays the sum of its lines)."""
    found: dict[int, int] = {}
    for i in range(0, len(act_ids), 900):  # bound parameters per IN (…) stay under SQLite's limit
        found.update((act_id, int(n)) for act_id, n in db.session.execute(
            select(ActLine.act_id, func.count(func.distinct(ActLine.iin)))
            .where(ActLine.act_id.in_(act_ids[i : i + 900]), ActLine.outcome == "accepted")
            .group_by(ActLine.act_id)))
    return found


#: The file's column titles in the reader's language (the reconciliation's files are, too); the rule's code stays
#: beside its title for whoever filters or joins on it.
HEADER = [_l("Line"), _l("IIN"), _l("Full name"), _l("Grade"), _l("Days attended"), _l("Outcome"), _l("Rule code"),
          _l("Rule"), _l("Reason"), _l("Amount, ₸")]
OUTCOMES = {"accepted": _l("accepted"), "excluded": _l("excluded"), "pending": _l("pending")}


def header() -> list[str]:
    return [str(title) for title in HEADER]


def safe_cell(value):
    # Spreadsheet formula injection: a cell that starts like a formula is kept as text.
    return spreadsheet_cell(value)


def export_rows(act: Act, lines) -> list[list]:
    from app.acts.review import undecided_line_ids

    rows = []
    rules = instrument_of(act).rules
    # accepted by the rules, but not paid until the official decides (an act not yet stored has no reviews)
    under_review = undecided_line_ids(act) if getattr(act, "id", None) else set()
    for ln in lines:
        rule = rules.get(ln.rule_code) if ln.rule_code else None
        outcome = _l("needs review") if under_review and ln.id in under_review else OUTCOMES.get(ln.outcome, ln.outcome)
        rows.append([ln.line_no, safe_cell(ln.iin), safe_cell(ln.full_name), ln.grade, ln.days_attended,
                     str(outcome),
                     ln.rule_code or "", str(rule.title) if rule else "", str(rule.reason) if rule else "",
                     str(Decimal(ln.amount_tiyn) / 100)])
    return rows


def total_rows(act: Act, lines) -> list[list]:
    """Below every line of an act whose amount is not the sum of its lines: how the one becomes the other (the
    contract's monthly cap, adjustments of earlier months), so the file adds up to the act — it summed to
    1,023,596.77 ₸ beside an act of 1,000,000.00 ₸ with nothing to say why."""
    lines_sum = sum(ln.amount_tiyn for ln in lines)
    if lines_sum == act.amount_tiyn:
        return []

    def row(label, tiyn: int) -> list:
        return ["", "", str(label), "", "", "", "", "", "", str(Decimal(tiyn) / 100)]

    rows = [row(_("Sum of the lines"), lines_sum)]
    capped = lines_sum - act.lines_amount_tiyn
    if capped > 0:
        rows.append(row(_("Above the contract's monthly cap (withheld)"), -capped))
    if act.adjustment_tiyn:
        rows.append(row(_("Adjustments of earlier months"), act.adjustment_tiyn))
    rows.append(row(_("Act amount"), act.amount_tiyn))
    return rows


def to_csv(act: Act, lines, totals: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv_export_writer(buffer)
    writer.writerow(header())
    writer.writerows(export_rows(act, lines))
    if totals:
        writer.writerows(total_rows(act, lines))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Cyrillic correctly


def to_xlsx(act: Act, lines, totals: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(act.period_label)
    ws.append(header())
    from openpyxl.cell import WriteOnlyCell

    for row in export_rows(act, lines) + (total_rows(act, lines) if totals else []):
        row[-1] = WriteOnlyCell(ws, value=Decimal(row[-1]))
        row[-1].number_format = "#,##0.00"  # tenge: grouped, two decimals, in the reader's own separators
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
