"""Every tenge explained, also after a month's last act: the reconciliation's "adjusted, unsettled" holds the
registry corrections of the month's decided lines that no act is to settle — the organisation has no act to come
(its contract ended), or a top-up of a closed academic year (carried). They had shown on the contract's page and the
year-end report only; the month per region said nothing of a pupil found withdrawn after its last payment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.acts.adjustments import unsettled_corrections
from app.acts.models import Act, ActLine
from app.contracts.models import Contract, ContractAct
from app.extensions import db
from app.people.access import scope_clause
from app.registry.models import NedbEnrollment
from app.reports.reconciliation import COLUMNS, reconcile
from tests.helpers import act_of_school, school, user
from tests.money.test_adjustments import _submit
from tests.money.test_reconciliation import OCTOBER, _assert_equal, _expected, _month_of_every_kind, _norm
from tests.registry.conftest import iin

BILIM = "Bilim Innovation School"
MAY = date(2026, 5, 1)
NORM_PRIMARY = 3_850_000  # the demo's monthly norm of an urban primary pupil, tiyn


def carried_may():
    """Samruk's contract (Shymkent), active with acts to come, and a paid May 2026 act whose one line NEDB now says was
    paid too little (10 days paid: NEDB said then that the pupil came on the 22nd) — a top-up of a closed academic
    year that no act of 2026/27 pays: carried. Returns the contract, the line and what is owed."""
    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    samruk = contract.school
    student = iin(8_801)
    db.session.add(NedbEnrollment(iin=student, full_name="Student Carried", school_bin=samruk.bin,
                                  school_kind="private", grade=3, enrolled_on=date(2025, 9, 1)))
    paid = NORM_PRIMARY * 10 // 31
    may = Act(number="ACT-SAMRUK-202605", school_id=samruk.id, region_id=samruk.region_id, period=MAY,
              status="paid", amount_tiyn=paid, created_at=datetime(2026, 6, 2, tzinfo=UTC))
    db.session.add(may)
    db.session.flush()
    line = ActLine(act_id=may.id, period=MAY, school_id=samruk.id, line_no=1, iin=student,
                   full_name="Student Carried", grade=3, days_attended=10, paid_days=10, outcome="accepted",
                   amount_tiyn=paid)
    db.session.add(line)
    db.session.add(ContractAct(contract_id=contract.id, act_id=may.id, period=MAY))
    db.session.commit()
    (owed,) = unsettled_corrections(samruk)
    return contract, line, owed


def _everything():
    return scope_clause(user("operator"), Act.region_id, Act.school_id)


def test_a_withdrawal_found_after_the_last_act_is_in_the_months_reconciliation_until_an_act_settles_it(
        world, browser):
    _month_of_every_kind()
    october = act_of_school(BILIM)
    assert october.status == "paid"
    rows, total = reconcile(OCTOBER, _everything())
    assert total.unsettled_tiyn == 0

    # NEDB learns that a paid October pupil had left in September; Bilim has no act to come (no contract, no act
    # open): the claw-back is settled nowhere.
    gone = sorted(october.lines, key=lambda ln: ln.line_no)[3]
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == gone.iin)).one().withdrawn_on = \
        date(2026, 9, 20)
    db.session.commit()
    owed = [u for u in unsettled_corrections(school(BILIM)) if u.original.period == OCTOBER]
    assert [(u.line.id, u.amount_tiyn) for u in owed] == [(gone.id, -_norm(gone))]

    rows, total = reconcile(OCTOBER, _everything())
    _assert_equal(rows, _expected(OCTOBER))  # the lines, adjustments and payments as before
    by_region = {r.region_id: r.unsettled_tiyn for r in rows}
    assert by_region == {r.region_id: (-_norm(gone) if r.region_id == october.region_id else 0) for r in rows}
    assert total.unsettled_tiyn == sum(u.amount_tiyn for u in owed) == -_norm(gone)
    # what the month's decided lines earn now = accepted + what later acts settled for them (none) + unsettled
    decided = [a for a in db.session.scalars(select(Act).where(Act.period == OCTOBER, Act.status.in_(("accepted",
                                                                                                      "paid"))))]
    earn_now = sum(ln.amount_tiyn for a in decided for ln in a.lines if ln.outcome == "accepted") - _norm(gone)
    assert total.accepted_tiyn + total.unsettled_tiyn == earn_now

    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2026-10").get_data(as_text=True)
    assert 'data-col="unsettled"' in page and 'id="reconciliation-unsettled-note"' in page
    api = operator.get("/api/v1/reconciliation?period=2026-10").get_json()
    assert api["total"]["unsettled_tiyn"] == -_norm(gone)
    column = 1 + [key for key, _ in COLUMNS].index("unsettled_tiyn")
    body = operator.get("/reports/reconciliation.csv?period=2026-10").get_data().decode("utf-8-sig")
    header, *_, last = list(csv.reader(io.StringIO(body)))
    assert header[column] == "Adjusted, unsettled, ₸" and Decimal(last[column]) * 100 == -_norm(gone)
    sheet = list(load_workbook(io.BytesIO(operator._request(
        "get", "/reports/reconciliation.xlsx?period=2026-10").get_data())).active.values)
    assert Decimal(str(sheet[-1][column])) * 100 == -_norm(gone)
    almaty = browser("official_almaty").get("/api/v1/reconciliation?period=2026-10").get_json()
    assert almaty["total"]["unsettled_tiyn"] == 0, "a department sees its region's only"

    # November's act is opened and verified: it settles the claw-back — adjusted (under review) in November, no
    # longer unsettled in October.
    november = _submit(date(2026, 11, 1))
    assert november.adjustment_tiyn == -_norm(gone)
    _rows, total = reconcile(OCTOBER, _everything())
    assert total.unsettled_tiyn == 0


def test_a_closed_years_top_up_is_carried_in_its_months_reconciliation_and_on_the_contract(world, browser):
    """Samruk's contract is active with acts to come (September and October open): a correction of May 2026 paid too
    little is a top-up of a closed year no act of 2026/27 pays — carried, in May's reconciliation and on the page."""
    contract, line, owed = carried_may()
    samruk, may, paid = contract.school, line.act, line.amount_tiyn
    assert (owed.original.id, owed.carried) == (may.id, True)
    assert owed.amount_tiyn == owed.correction.corrected_tiyn - paid > 0
    rows, total = reconcile(MAY, _everything())
    assert [(r.region_id, r.unsettled_tiyn) for r in rows] == [(samruk.region_id, owed.amount_tiyn)]
    _rows, october = reconcile(OCTOBER, _everything())
    assert october.unsettled_tiyn == 0, "booked to the month it corrects"
    page = browser("official_shymkent").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="unsettled-corrections"' in page and 'data-carried="1"' in page and 'id="carried-note"' in page
