"""Every tenge explained: the reconciliation of a month, per region.

For the acts of a month (every act that has been submitted) and each region:

* **claimed** — what the schools' lines would earn at the norm: accepted + under review + withheld;
* **accepted** — what this month's lines of accepted or paid acts earn (the act's amount without adjustments);
* **withheld by rule** — the norm of every excluded line, per contingent rule (as on the discrepancies page);
* **withheld, other** — the rest of what the acts withhold: days not enrolled (pay-by-days), the contract's cap,
  a contract's own norms;
* **under review** — what the lines of acts not yet decided (submitted, verified, returned) earn, plus the norm
  of lines still pending verification;
* **adjusted** — corrections of earlier months settled on the accepted acts of this month (claw-backs negative),
  and those on acts still under review (not a returned act's: not settled until it is verified again);
* **payable** = accepted + adjusted; **paid** — the payments registered for these acts that the bank has not
  returned; **outstanding** = payable − paid (an act whose payment came back is payable again);
* **returned by the bank** — the payments of these acts the bank sent back (closed account, wrong details, its
  refusal): not paid, beside paid; **closed with nothing to pay** — the acts accepted at 0 ₸, closed without a
  payment order (a count: they pay nothing, payable and paid are 0 for them);
* **adjusted, unsettled** — corrections of this month's decided lines that no act is to settle: the organisation's
  contract has ended with no act to come, or a top-up of a closed academic year (carried); owed back (negative) or
  owed, beside payable (:mod:`app.reports.unsettled`);
* **time-barred** — claw-backs of this month's decided lines before the claw-back look-back: not claimed back, money
  that will not come back (negative), beside payable;
* **to be settled on a later act** — corrections of this month's decided lines owed and not yet on any act (the rest
  of a claw-back the next act could not hold, a correction waiting for an act not yet submitted): claw-backs and
  top-ups apart, beside payable, until an act settles them (then in that act's month's ``adjusted``);
* **settled outside the acts** — carried top-ups of this month paid by a payment order out of its year's budget;
  **written off** — carried top-ups recorded as not owed. Neither is part of payable (no act pays them).

Built from the audited operations' tables (acts, lines, adjustments, payments) in four grouped statements, never
typed in. ``tests/money/test_reconciliation.py`` proves the figures equal the sums of the lines.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app.acts.models import Act, ActLine
from app.acts.report import safe_cell
from app.acts.rules import RULES
from app.extensions import db
from app.instruments import SCHOOLS
from app.instruments import instrument as instrument_named
from app.payments.models import Payment
from app.security import csv_export_writer

DECIDED = ("accepted", "paid")
UNDECIDED = ("submitted", "verified", "returned")
COUNTED = DECIDED + UNDECIDED  # an act awaiting submission claims nothing yet


@dataclass
class ReconciliationRow:
    region_id: int | None  # None: the total of the rows
    acts: int = 0
    lines: int = 0
    accepted_tiyn: int = 0
    under_review_tiyn: int = 0
    withheld_by_rule: dict[str, int] = field(default_factory=dict)
    withheld_total_tiyn: int = 0  # everything the acts withhold (by rule and other)
    adjusted_tiyn: int = 0
    adjusted_under_review_tiyn: int = 0
    paid_tiyn: int = 0
    pending_tiyn: int = 0  # the norm of lines still pending verification (part of under review)
    unsettled_tiyn: int = 0  # corrections of the month's decided lines no act is to settle (app.reports.unsettled)
    time_barred_tiyn: int = 0  # claw-backs of the month's decided lines before the look-back: not claimed back
    settled_outside_tiyn: int = 0  # carried top-ups of the month paid outside the acts (a payment order)
    written_off_tiyn: int = 0  # carried top-ups of the month written off as not owed
    later_clawback_tiyn: int = 0  # claw-backs of the month's decided lines owed, to be settled on a later act (≤ 0)
    later_top_up_tiyn: int = 0  # top-ups of the month's decided lines owed, to be settled on a later act (≥ 0)
    returned_tiyn: int = 0  # payments of the month's acts the bank sent back: not paid (app.payments.returns)
    nothing_to_pay_acts: int = 0  # acts accepted at 0 ₸, closed without a payment order

    @property
    def withheld_other_tiyn(self) -> int:
        return self.withheld_total_tiyn - sum(self.withheld_by_rule.values())

    @property
    def claimed_tiyn(self) -> int:
        return self.accepted_tiyn + self.under_review_tiyn + self.withheld_total_tiyn

    @property
    def payable_tiyn(self) -> int:
        return self.accepted_tiyn + self.adjusted_tiyn

    @property
    def outstanding_tiyn(self) -> int:
        return self.payable_tiyn - self.paid_tiyn

    def add(self, other: ReconciliationRow) -> None:
        for name in ("acts", "lines", "accepted_tiyn", "under_review_tiyn", "withheld_total_tiyn", "adjusted_tiyn",
                     "adjusted_under_review_tiyn", "paid_tiyn", "pending_tiyn", "unsettled_tiyn",
                     "time_barred_tiyn", "settled_outside_tiyn", "written_off_tiyn", "later_clawback_tiyn",
                     "later_top_up_tiyn", "returned_tiyn", "nothing_to_pay_acts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, value in other.withheld_by_rule.items():
            self.withheld_by_rule[code] = self.withheld_by_rule.get(code, 0) + value

    def as_dict(self) -> dict:
        return {**asdict(self), "withheld_other_tiyn": self.withheld_other_tiyn, "claimed_tiyn": self.claimed_tiyn,
                "payable_tiyn": self.payable_tiyn, "outstanding_tiyn": self.outstanding_tiyn}


def reconcile(period: date, scope, region_id: int | None = None,
              instrument: str = SCHOOLS) -> tuple[list[ReconciliationRow], ReconciliationRow]:
    """The month's rows per region (those the ``scope`` clause lets the user see) for one funding instrument, and
    their total."""
    period = period.replace(day=1)
    where = [Act.period == period, Act.status.in_(COUNTED), Act.instrument == instrument, scope]
    if region_id is not None:
        where.append(Act.region_id == region_id)
    rows: dict[int, ReconciliationRow] = {}

    def row(rid: int) -> ReconciliationRow:
        return rows.setdefault(rid, ReconciliationRow(rid))

    decided = Act.status.in_(DECIDED)
    # A returned act's adjustments are not counted: they are not settled (app.acts.topups.SETTLED), the school's next
    # act settles them meanwhile, and the returned act settles anew what is left when it is verified again — counted
    # here as well, a correction stood twice in the months' "adjustments under review".
    adjusted_now = case((Act.status == "returned", 0), else_=Act.adjustment_tiyn)
    for rid, acts, lines_amount, adjusted, withheld, is_decided in db.session.execute(
            select(Act.region_id, func.count(Act.id), func.sum(Act.amount_tiyn - Act.adjustment_tiyn),
                   func.sum(adjusted_now), func.sum(Act.withheld_tiyn), decided)
            .where(*where).group_by(Act.region_id, decided)):
        r = row(rid)
        r.acts += acts
        r.withheld_total_tiyn += int(withheld or 0)
        if is_decided:
            r.accepted_tiyn += int(lines_amount or 0)
            r.adjusted_tiyn += int(adjusted or 0)
        else:
            r.under_review_tiyn += int(lines_amount or 0)
            r.adjusted_under_review_tiyn += int(adjusted or 0)
    # Lines: counts, the norm of excluded lines per rule, the norm of lines not verified yet.
    # valued only where it is read (an excluded or pending line): a contract's norm is a look-up per line
    norm = case((ActLine.outcome != "accepted", instrument_named(instrument).withheld_expr(period)), else_=0)
    for rid, outcome, rule, lines, norm_sum in db.session.execute(
            select(Act.region_id, ActLine.outcome, ActLine.rule_code, func.count(ActLine.id), func.sum(norm))
            .join(Act, Act.id == ActLine.act_id).where(*where)
            .group_by(Act.region_id, ActLine.outcome, ActLine.rule_code)):
        r = row(rid)
        r.lines += lines
        if outcome == "excluded":
            r.withheld_by_rule[rule] = r.withheld_by_rule.get(rule, 0) + int(norm_sum or 0)
        elif outcome == "pending":
            r.pending_tiyn += int(norm_sum or 0)
            r.under_review_tiyn += int(norm_sum or 0)
    returned = Payment.returned_on.is_not(None)
    for rid, paid, is_returned in db.session.execute(
            select(Act.region_id, func.sum(Payment.amount_tiyn), returned).join(Act, Act.id == Payment.act_id)
            .where(*where).group_by(Act.region_id, returned)):
        if is_returned:  # the bank sent it back: not paid, the act payable again
            row(rid).returned_tiyn += int(paid or 0)
        else:
            row(rid).paid_tiyn += int(paid or 0)
    standing = select(Payment.id).where(Payment.act_id == Act.id, Payment.returned_on.is_(None)).exists()
    for rid, closed in db.session.execute(
            select(Act.region_id, func.count(Act.id))
            .where(*where, Act.status == "paid", Act.amount_tiyn == 0, ~standing).group_by(Act.region_id)):
        row(rid).nothing_to_pay_acts += int(closed or 0)
    from app.reports.unsettled import corrections_by_region, settled_outside_by_region

    corrections = corrections_by_region(period, where, instrument_named(instrument))
    for figure, by_region in (("unsettled_tiyn", corrections.unsettled), ("time_barred_tiyn", corrections.time_barred),
                              ("later_clawback_tiyn", corrections.later_clawback),
                              ("later_top_up_tiyn", corrections.later_top_up)):
        for rid, amount in by_region.items():
            setattr(row(rid), figure, getattr(row(rid), figure) + amount)
    for rid, kinds in settled_outside_by_region(where).items():
        row(rid).settled_outside_tiyn += kinds.get("paid", 0)
        row(rid).written_off_tiyn += kinds.get("written_off", 0)
    total = ReconciliationRow(None)
    for r in rows.values():
        total.add(r)
    return sorted(rows.values(), key=lambda r: r.region_id), total


@dataclass(frozen=True)
class AdjustmentLine:
    """One line of a region's "adjusted": a correction of an earlier month settled on an accepted or paid act of the
    month."""

    act_number: str
    period: date  # the month the corrected line belongs to
    rule_code: str
    amount_tiyn: int


def adjusted_lines(period: date, scope, region_id: int, instrument: str = SCHOOLS) -> list[AdjustmentLine]:
    """The adjustment lines a region's "adjusted" figure of the month sums (the decided acts' of the month, as
    :func:`reconcile` counts them), in the order of the act, the month corrected and the line."""
    from app.acts.models import ActAdjustment

    return [AdjustmentLine(number, corrected, rule, amount) for number, corrected, rule, amount in db.session.execute(
        select(Act.number, ActAdjustment.period, ActAdjustment.rule_code, ActAdjustment.amount_tiyn)
        .join(Act, Act.id == ActAdjustment.act_id)
        .where(Act.period == period.replace(day=1), Act.status.in_(DECIDED), Act.instrument == instrument,
               Act.region_id == region_id, scope)
        .order_by(Act.number, ActAdjustment.period, ActAdjustment.id))]


# --- downloads --------------------------------------------------------------------------------------------------


COLUMNS = [
    ("acts", _l("Acts")), ("lines", _l("Lines")), ("claimed_tiyn", _l("Claimed by schools")),
    ("accepted_tiyn", _l("Accepted")), ("withheld_total_tiyn", _l("Withheld")),
    ("withheld_other_tiyn", _l("Withheld: days, cap, contract norms")), ("under_review_tiyn", _l("Under review")),
    ("adjusted_tiyn", _l("Adjusted")), ("adjusted_under_review_tiyn", _l("Adjustments under review")),
    ("payable_tiyn", _l("Payable")), ("paid_tiyn", _l("Paid")), ("outstanding_tiyn", _l("Outstanding")),
    ("returned_tiyn", _l("Returned by the bank")),
    ("unsettled_tiyn", _l("Adjusted, unsettled")), ("time_barred_tiyn", _l("Claw-backs time-barred")),
    ("settled_outside_tiyn", _l("Paid outside the acts")), ("written_off_tiyn", _l("Written off")),
    ("later_clawback_tiyn", _l("Claw-backs to be settled on a later act")),
    ("later_top_up_tiyn", _l("Top-ups to be settled on a later act")),
    # a count: the month's acts accepted at 0 ₸ and closed without a payment order (the page and the API gave it, the
    # files did not — a region's 0 ₸ paid with nothing outstanding had no word on why). Last of the fixed columns:
    # a reader's script that picks the others by position finds them where they were.
    ("nothing_to_pay_acts", _l("Acts closed with nothing to pay")),
]
COUNTS = ("acts", "lines", "nothing_to_pay_acts")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "DD.MM.YYYY"


def table(rows: list[ReconciliationRow], total: ReconciliationRow, region_name,
          rules=RULES, schools: bool = True) -> tuple[list[str], list[list]]:
    """Header and rows (money as ``Decimal`` tenge) of the download: one row per region and the total.
    ``schools``: the schools' instrument (its claims are the schools'; a dormitory's are not)."""
    rule_codes = list(rules)
    labels = [_l("Claimed") if key == "claimed_tiyn" and not schools else label for key, label in COLUMNS]
    # money columns say their unit, as the act lines' "Amount, ₸" does: a bare 2811800 could be tenge or tiyn
    header = [str(_l("Region"))] + [str(label) if key in COUNTS else f"{label}, ₸"
                                    for (key, _), label in zip(COLUMNS, labels, strict=True)] + [
        f"{_l('Withheld')}: {rules[code].title} ({code}), ₸" for code in rule_codes]
    body = []
    for r in [*rows, total]:
        values = r.as_dict()
        name = region_name(r.region_id) if r.region_id is not None else str(_l("All regions"))
        body.append([safe_cell(name)] + [values[key] if key in COUNTS else Decimal(values[key]) / 100
                                     for key, _ in COLUMNS]
                    + [Decimal(r.withheld_by_rule.get(code, 0)) / 100 for code in rule_codes])
    return header, body


PAYMENT_COLUMNS = [_l("Act"), _l("Organisation"), _l("BIN"), _l("Region"), _l("Month"), _l("Amount, ₸"),
                   _l("Payment order number"), _l("Payment date"), _l("IBAN"), _l("Returned on"),
                   _l("Return reason"), _l("Bank's return reference"), _l("Note")]


def payments_table(period: date, scope, region_id: int | None, instrument: str, region_name,
                   written=lambda text: text) -> tuple[list[str], list[list]]:
    """The payments register of a month's acts: one row per registered payment — the act, who was paid, how much,
    the payment order's number and date — for the operator's bank statement (the reconciliation has only sums). A
    payment the bank sent back keeps its row, with the return (day, reason, the bank's reference); an act closed with
    nothing to pay has a row of 0 ₸ with no order, said so in the note. ``written``: what the reader reads of the
    operator's note (the download gives ``app.ui.personal_text``: a child's IIN in it masked for who may not see it)."""
    from app.i18n import format_month
    from app.payments.returns import return_reason_label

    where = [Act.period == period, Act.instrument == instrument, scope]
    if region_id is not None:
        where.append(Act.region_id == region_id)
    paid = db.session.execute(
        select(Payment, Act).join(Act, Act.id == Payment.act_id).where(*where)
        .options(joinedload(Act.school))  # one query, not one per payment (850 at country scale)
        .order_by(Payment.paid_on, Payment.order_number)).all()
    accounts = _paid_to([payment.id for payment, _act in paid])
    body = [[safe_cell(act.number), safe_cell(act.school.name), safe_cell(act.school.bin),
             safe_cell(region_name(act.region_id)), format_month(act.period), Decimal(payment.amount_tiyn) / 100,
             safe_cell(payment.order_number), payment.paid_on, safe_cell(accounts.get(payment.id, "")),
             payment.returned_on or "", safe_cell(return_reason_label(payment.return_reason)),
             safe_cell(payment.return_reference or ""), safe_cell(written(payment.return_note or ""))]
            for payment, act in paid]
    standing = select(Payment.id).where(Payment.act_id == Act.id, Payment.returned_on.is_(None)).exists()
    closed = db.session.scalars(
        select(Act).where(*where, Act.status == "paid", Act.amount_tiyn == 0, ~standing)
        .options(joinedload(Act.school)).order_by(Act.number)).all()
    note = str(_l("Nothing to pay: closed without a payment order"))
    body += [[safe_cell(act.number), safe_cell(act.school.name), safe_cell(act.school.bin),
              safe_cell(region_name(act.region_id)), format_month(act.period), Decimal(0), "", "", "", "", "", "",
              note] for act in closed]
    return [str(label) for label in PAYMENT_COLUMNS], body


def _paid_to(payment_ids: list[int]) -> dict[int, str]:
    """The account each payment was sent to, as its audited ``act.paid`` event recorded it (the contract's IBAN, or
    the organisation's then): a bank statement's beneficiary account is matched against it — the register had no
    account, so a payment to the wrong one could not be seen in it. Not today's organisation record, which an edit
    after the payment changes."""
    from app.audit.models import AuditEvent

    found: dict[int, str] = {}
    for i in range(0, len(payment_ids), 900):
        for object_id, details in db.session.execute(
                select(AuditEvent.object_id, AuditEvent.details)
                .where(AuditEvent.action == "act.paid", AuditEvent.object_type == "payment",
                       AuditEvent.object_id.in_(payment_ids[i : i + 900]))):
            found[object_id] = (details or {}).get("iban") or ""
    return found


def to_csv(header: list[str], body: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv_export_writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    # money with a point and dates as YYYY-MM-DD: what every spreadsheet and script reads, whatever its language
    writer.writerows([[str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v
                       for v in row] for row in body])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Cyrillic correctly


def to_xlsx(header: list[str], body: list[list], sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([safe_cell(h) for h in header])
    for row in body:
        cells = []
        for value in row:
            if isinstance(value, Decimal | date):  # tenge grouped with two decimals; a date as kk/ru write it
                value, number_format = WriteOnlyCell(ws, value=value), (
                    MONEY_FORMAT if isinstance(value, Decimal) else DATE_FORMAT)
                value.number_format = number_format
            cells.append(value)
        ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


__all__ = ["COLUMNS", "AdjustmentLine", "ReconciliationRow", "adjusted_lines", "payments_table", "reconcile", "table",
           "to_csv", "to_xlsx"]
