"""What "every tenge explained" means, checked on any world: the month's reconciliation per region equals sums taken
line by line from the database (act lines at the act's own norms, adjustment lines, payments, settlements outside
the acts), its stated identities hold, and the page, CSV, XLSX and API show the same figures to the tiyn."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.acts.models import Act, ActAdjustment, ActLine, OutsideSettlement, StudentNorm
from app.acts.rules import level_for_grade
from app.acts.verification import academic_year, month_bounds
from app.extensions import db
from app.payments.models import Payment
from app.people.access import scope_clause
from app.reports.reconciliation import COLUMNS, COUNTS, reconcile
from tests.helpers import user

DECIDED = ("accepted", "paid")
UNDECIDED = ("submitted", "verified", "returned")
#: the figures each of the four views shows (the page shows the withheld total, not its split)
MONEY = ("claimed_tiyn", "accepted_tiyn", "withheld_total_tiyn", "under_review_tiyn", "adjusted_tiyn",
         "payable_tiyn", "paid_tiyn", "outstanding_tiyn", "unsettled_tiyn", "time_barred_tiyn",
         "settled_outside_tiyn", "written_off_tiyn", "later_clawback_tiyn", "later_top_up_tiyn", "returned_tiyn")


def everything():
    return scope_clause(user("operator"), Act.region_id, Act.school_id)


def line_norm(act: Act, line: ActLine) -> int:
    """What the line would earn in full for what it claims, at the act's own prices: a dormitory's rate per place ×
    days claimed / days in the month (rounded down, as verification does), a school's contract norms (its order's,
    for its locality) or else the academic year's norms."""
    from app.contracts.models import ContractAct

    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    if act.instrument == "dormitory":
        from app.dormitories.models import DormitoryTerms

        rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                                 .where(DormitoryTerms.contract_id == link.contract_id))
        return rate * line.days_attended // month_bounds(act.period)[1].day
    level = level_for_grade(line.grade)
    if link is not None:
        return link.contract.order.norm(level, link.contract.locality)
    return db.session.scalar(select(StudentNorm.monthly_tiyn).where(
        StudentNorm.academic_year == academic_year(act.period), StudentNorm.level == level)) or 0


def expected(period: date, instrument: str = "schools") -> dict[int, dict]:
    """The month's figures per region summed in Python from the lines, adjustments, payments and settlements."""
    out: dict[int, dict] = defaultdict(lambda: defaultdict(int) | {"by_rule": defaultdict(int)})
    acts = db.session.scalars(select(Act).where(Act.period == period, Act.instrument == instrument,
                                                Act.status.in_(DECIDED + UNDECIDED))).all()
    for act in acts:
        e = out[act.region_id]
        e["acts"] += 1
        decided = act.status in DECIDED
        accepted_lines = 0
        for line in act.lines:
            e["lines"] += 1
            norm = line_norm(act, line)
            e["claimed"] += norm
            if line.outcome == "accepted":
                accepted_lines += line.amount_tiyn
                e["withheld"] += norm - line.amount_tiyn  # days not paid
            elif line.outcome == "pending":
                e["under_review"] += norm
            else:
                e["by_rule"][line.rule_code] += norm
                e["withheld"] += norm
        # the contract's cap: what the accepted lines earn above what the act pays for them
        own = act.amount_tiyn - (act.adjustment_tiyn or 0)
        capped = accepted_lines - own
        assert capped >= 0, f"{act.number}: its own amount {own} is more than its lines earn {accepted_lines}"
        e["withheld"] += capped
        e["capped"] += capped
        e["accepted" if decided else "under_review"] += accepted_lines - capped
        settled = sum(a.amount_tiyn for a in db.session.scalars(
            select(ActAdjustment).where(ActAdjustment.act_id == act.id)))
        assert settled == (act.adjustment_tiyn or 0), f"{act.number}: adjustment lines ≠ its adjustment total"
        if decided:
            e["adjusted"] += settled
        elif act.status != "returned":
            e["adjusted_under_review"] += settled
        e["paid"] += sum(p.amount_tiyn for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id))
                         if p.returned_on is None)  # a payment the bank sent back paid nothing
        for s in db.session.scalars(select(OutsideSettlement).where(OutsideSettlement.original_act_id == act.id)):
            e["settled_outside" if s.kind == "paid" else "written_off"] += s.amount_tiyn
    return out


def assert_explained(period: date, instrument: str = "schools"):
    """The reconciliation of the month equals the line-by-line sums, and its identities hold. Returns its rows."""
    rows, total = reconcile(period, everything(), instrument=instrument)
    want = expected(period, instrument)
    assert {r.region_id for r in rows} == set(want)
    for r in rows:
        e = want[r.region_id]
        got = {"acts": r.acts, "lines": r.lines, "claimed": r.claimed_tiyn, "accepted": r.accepted_tiyn,
               "under_review": r.under_review_tiyn, "withheld": r.withheld_total_tiyn, "adjusted": r.adjusted_tiyn,
               "adjusted_under_review": r.adjusted_under_review_tiyn, "paid": r.paid_tiyn,
               "settled_outside": r.settled_outside_tiyn, "written_off": r.written_off_tiyn,
               "by_rule": r.withheld_by_rule}
        want_row = {k: (dict(e[k]) if k == "by_rule" else e[k]) for k in got}
        assert got == want_row, (r.region_id, {k: (got[k], want_row[k]) for k in got if got[k] != want_row[k]})
        assert r.withheld_other_tiyn >= 0, "days, cap and contract norms withhold; they never give"
        # the identities the page states
        assert r.claimed_tiyn == r.accepted_tiyn + r.under_review_tiyn + r.withheld_total_tiyn
        assert r.payable_tiyn == r.accepted_tiyn + r.adjusted_tiyn
        assert r.outstanding_tiyn == r.payable_tiyn - r.paid_tiyn
        assert r.later_clawback_tiyn <= 0 <= r.later_top_up_tiyn, "claw-backs and top-ups apart"
    _assert_corrections_as_each_organisations(period, instrument, rows)
    return rows, total


def _assert_corrections_as_each_organisations(period: date, instrument: str, rows) -> None:
    """What the month's corrections not yet settled on an act come to per region — unsettled, time-barred, to be
    settled on a later act — is what each organisation's own list of them says (its contract's page,
    app.acts.adjustments.unsettled_corrections) of the month's lines, summed: nothing owed is left out of the month."""
    from app.instruments import instrument as instrument_named
    from app.people.models import Organisation

    unsettled = instrument_named(instrument).unsettled
    if unsettled is None:
        return
    owed, time_barred = defaultdict(int), defaultdict(int)
    organisations = db.session.scalars(select(Act.school_id).distinct().where(
        Act.period == period, Act.instrument == instrument, Act.status.in_(DECIDED))).all()
    for organisation in organisations:
        for u in unsettled(db.session.get(Organisation, organisation)):
            if u.original.period == period:
                (time_barred if u.time_barred else owed)[u.original.region_id] += u.amount_tiyn
    for r in rows:
        assert r.time_barred_tiyn == time_barred[r.region_id], r.region_id
        assert r.unsettled_tiyn + r.later_clawback_tiyn + r.later_top_up_tiyn == owed[r.region_id], r.region_id


# --- the four views -------------------------------------------------------------------------------------------


_AMOUNT = re.compile(r"(−|-)?([\d,]+)\.(\d\d) ₸")


def _tiyn(text: str) -> int:
    match = _AMOUNT.search(text)
    assert match, text
    sign, whole, cents = match.groups()
    value = int(whole.replace(",", "")) * 100 + int(cents)
    return -value if sign else value


_PAGE_COLS = {"claimed": "claimed_tiyn", "accepted": "accepted_tiyn", "withheld": "withheld_total_tiyn",
              "under-review": "under_review_tiyn", "adjusted": "adjusted_tiyn", "payable": "payable_tiyn",
              "paid": "paid_tiyn", "outstanding": "outstanding_tiyn", "unsettled": "unsettled_tiyn",
              "time-barred": "time_barred_tiyn", "settled-outside": "settled_outside_tiyn",
              "written-off": "written_off_tiyn", "later-clawback": "later_clawback_tiyn",
              "later-top-up": "later_top_up_tiyn", "returned": "returned_tiyn"}


def _page_rows(html: str) -> dict:
    """{region id or None (the total): {figure: tiyn}} as the page shows them (a sub-figure shown only when not 0)."""
    found = {}
    for match in re.finditer(r'<tr (?:class="fw-bold" id="reconciliation-total"|data-region="(\d+)")>(.*?)</tr>',
                             html, re.S):
        rid = int(match.group(1)) if match.group(1) else None
        cells = {key: 0 for key in _PAGE_COLS.values()}
        for col, text in re.findall(r'data-col="([a-z-]+)"[^>]*>(?:<span>)?([^<]*)', match.group(2)):
            cells[_PAGE_COLS[col]] = _tiyn(text)
        found[rid] = cells
    return found


def assert_views_agree(browser, period: date, instrument: str = "schools") -> None:
    """Page, CSV, XLSX and API show the operator the same figures per region and in total, to the tiyn."""
    rows, total = reconcile(period, everything(), instrument=instrument)
    truth = {r.region_id: r.as_dict() for r in [*rows, total]}
    operator = browser("operator")
    query = f"period={period:%Y-%m}&instrument={instrument}"
    api = operator.get(f"/api/v1/reconciliation?{query}").get_json()
    for r in [*api["regions"], api["total"]]:
        assert {k: r[k] for k in (*MONEY, "withheld_by_rule")} == \
            {k: truth[r["region_id"]][k] for k in (*MONEY, "withheld_by_rule")}
    page = _page_rows(operator.get(f"/reports/reconciliation?{query}").get_data(as_text=True))
    assert page == {rid: {k: values[k] for k in MONEY} for rid, values in truth.items()}
    keys = [key for key, _ in COLUMNS]
    csv_rows = list(csv.reader(io.StringIO(
        operator.get(f"/reports/reconciliation.csv?{query}").get_data().decode("utf-8-sig"))))[1:]
    sheet = list(load_workbook(io.BytesIO(operator._request(
        "get", f"/reports/reconciliation.xlsx?{query}").get_data())).active.values)[1:]
    order = [r.region_id for r in rows] + [None]
    assert len(csv_rows) == len(sheet) == len(order)
    for rid, from_csv, from_xlsx in zip(order, csv_rows, sheet, strict=True):
        for i, key in enumerate(keys, start=1):
            if key in COUNTS:
                assert int(from_csv[i]) == int(from_xlsx[i]) == truth[rid][key]
            else:
                assert Decimal(from_csv[i]) * 100 == Decimal(str(from_xlsx[i])) * 100 == truth[rid][key], key
