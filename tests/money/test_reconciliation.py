"""Every tenge explained: the month's reconciliation per region equals the sums of the act lines, adjustments and
payments it summarises — page, CSV, XLSX and API alike, each within the user's scope; bad filters get a message."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.acts.payee import account_on_record
from app.acts.rules import level_for_grade
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import payee_iban
from app.people.access import scope_clause
from app.registry.models import NedbEnrollment
from app.reports.reconciliation import COLUMNS, reconcile
from tests.helpers import act_of_school, open_task, school, user
from tests.money.test_adjustments import NORMS, _submit

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)


def _norm(line: ActLine) -> int:
    return NORMS[level_for_grade(line.grade)]


def october_act(name: str = "Samruk Private School", number: str = "ACT-SAMRUK-202610") -> Act:
    """A demo school's October act, made submitted (no lines) when the world has none."""
    found = school(name)
    act = db.session.scalars(select(Act).where(Act.school_id == found.id, Act.period == OCTOBER)).first()
    if act is None:
        act = Act(number=number, school_id=found.id, region_id=found.region_id, period=OCTOBER,
                  status="submitted", created_at=datetime(2026, 11, 2, tzinfo=UTC))
        db.session.add(act)
    return act


def samruk_october_act() -> Act:
    return october_act()


def _month_of_every_kind() -> None:
    """Paid (Bilim), accepted (Nur), verified with excluded lines (Alatau), submitted and pending (Samruk)."""
    for name, accountant, order in (("Bilim Innovation School", "accountant", "PP-R-1"),
                                    ("Nur Private School", "accountant2", None)):
        act = act_of_school(name)
        complete_task(open_task(act, "submit_act").id, user(accountant), data={"lines": prefill_lines(act)})
        complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
        if order:
            complete_task(open_task(act, "pay_act").id, user("operator"),
                          data={"order_number": order, "paid_on": clock.today().isoformat()})
        db.session.commit()
    act = samruk_october_act()
    assert act.status in ("awaiting_submission", "submitted") and not act.lines
    act.status = "submitted"  # as if the school had just submitted: lines not verified yet
    db.session.flush()
    for no, grade in enumerate((2, 6, 10), start=1):
        db.session.add(ActLine(act_id=act.id, period=OCTOBER, school_id=act.school_id, line_no=no,
                               iin=f"0101015000{no:02d}", full_name=f"Pending {no}", grade=grade, days_attended=20))
    db.session.commit()


def _expected(period: date) -> dict[int, dict]:
    """The same figures, summed line by line in Python."""
    out: dict[int, dict] = defaultdict(lambda: defaultdict(int) | {"by_rule": defaultdict(int)})
    for act in db.session.scalars(select(Act).where(Act.period == period, Act.status != "awaiting_submission")):
        e = out[act.region_id]
        e["acts"] += 1
        decided = act.status in ("accepted", "paid")
        for line in act.lines:
            e["lines"] += 1
            e["claimed"] += _norm(line)
            if line.outcome == "accepted":
                e["accepted" if decided else "under_review"] += line.amount_tiyn
            elif line.outcome == "pending":
                e["under_review"] += _norm(line)
            else:
                e["by_rule"][line.rule_code] += _norm(line)
        e["adjusted" if decided else "adjusted_under_review"] += sum(a.amount_tiyn for a in act.adjustments)
        e["paid"] += sum(p.amount_tiyn for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id)))
    return out


def _assert_equal(rows, expected) -> None:
    assert {r.region_id for r in rows} == set(expected)
    for r in rows:
        e = expected[r.region_id]
        assert (r.acts, r.lines) == (e["acts"], e["lines"])
        assert r.claimed_tiyn == e["claimed"], "claimed = every line at its norm"
        assert r.accepted_tiyn == e["accepted"]
        assert r.under_review_tiyn == e["under_review"]
        assert r.withheld_by_rule == dict(e["by_rule"]) and r.withheld_other_tiyn == 0
        assert (r.adjusted_tiyn, r.adjusted_under_review_tiyn) == (e["adjusted"], e["adjusted_under_review"])
        assert r.paid_tiyn == e["paid"]
        assert r.payable_tiyn == e["accepted"] + e["adjusted"] and r.outstanding_tiyn == r.payable_tiyn - e["paid"]



def _claw_back_an_october_line_in_november():
    """A paid October line's student is found withdrawn in September; November's act, accepted, claws it back."""
    october = db.session.scalars(select(Act).where(Act.number.like("%202610"), Act.status == "paid")).one()
    gone = october.lines[3]
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == gone.iin)).one().withdrawn_on = \
        date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    return gone, november

def test_reconciliation_equals_the_sums_of_the_lines(world, browser):
    _month_of_every_kind()
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, total = reconcile(OCTOBER, everything)
    expected = _expected(OCTOBER)
    _assert_equal(rows, expected)
    assert len(rows) == 3 and total.paid_tiyn > 0 and total.under_review_tiyn > 0
    assert set(total.withheld_by_rule) >= {"withdrawn", "not_in_nedb", "other_school"}
    assert total.claimed_tiyn == sum(e["claimed"] for e in expected.values())

    # November: the paid October line of a withdrawn student is clawed back and accepted with November's act.
    gone, november = _claw_back_an_october_line_in_november()
    rows, total = reconcile(NOVEMBER, everything)
    _assert_equal(rows, _expected(NOVEMBER))
    assert total.adjusted_tiyn == -_norm(gone) and total.payable_tiyn == db.session.get(Act, november.id).amount_tiyn

    # The operator's page, CSV, XLSX and API show the same October total.
    operator = browser("operator")
    rows, total = reconcile(OCTOBER, everything)
    page = operator.get("/reports/reconciliation?period=2026-10").get_data(as_text=True)
    assert 'id="reconciliation-table"' in page and 'id="nav-reconciliation"' in page
    api = operator.get("/api/v1/reconciliation?period=2026-10").get_json()
    assert api["total"]["claimed_tiyn"] == total.claimed_tiyn and len(api["regions"]) == 3
    assert api["total"]["withheld_by_rule"] == total.withheld_by_rule
    body = operator.get("/reports/reconciliation.csv?period=2026-10").get_data().decode("utf-8-sig")
    last = list(csv.reader(io.StringIO(body)))[-1]
    assert last[0] == "All regions"
    assert Decimal(last[3]) * 100 == total.claimed_tiyn and Decimal(last[11]) * 100 == total.paid_tiyn
    xlsx = load_workbook(io.BytesIO(operator._request("get", "/reports/reconciliation.xlsx?period=2026-10").get_data()))
    sheet = list(xlsx.active.values)
    assert sheet[-1][0] == "All regions" and Decimal(str(sheet[-1][3])) * 100 == total.claimed_tiyn


def test_the_public_figures_of_a_month_are_the_reconciliations(world):
    """October's paid line of a withdrawn student is clawed back on November's act. The portal books the claw-back
    as November's adjustment, as the reconciliation does — not as a lower accepted amount of November — and October
    keeps what its lines earned; each month's funded count is its lines paid for."""
    from app.acts.verification import academic_year
    from app.instruments import SCHOOLS
    from app.public.figures import by_month, refresh_public_figures

    _month_of_every_kind()
    gone, november = _claw_back_an_october_line_in_november()
    refresh_public_figures()
    db.session.commit()

    published = {period: totals for instrument, period, totals in by_month(academic_year(OCTOBER))
                 if instrument.code == SCHOOLS}
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    for period in (OCTOBER, NOVEMBER):
        _rows, total = reconcile(period, everything)
        figures = published[period]
        assert (figures.accepted_tiyn, figures.adjusted_tiyn, figures.paid_tiyn) == \
            (total.accepted_tiyn, total.adjusted_tiyn, total.paid_tiyn), period
        assert figures.funded == db.session.scalar(
            select(func.count(ActLine.id)).join(Act, Act.id == ActLine.act_id)
            .where(Act.period == period, Act.status.in_(("accepted", "paid")), ActLine.outcome == "accepted"))
    assert published[NOVEMBER].adjusted_tiyn == -_norm(gone) < 0
    assert published[NOVEMBER].accepted_tiyn == db.session.get(Act, november.id).lines_amount_tiyn > 0


def test_a_department_sees_its_region_and_bad_filters_get_a_message(world, browser):
    _month_of_every_kind()
    almaty = browser("official_almaty")
    api = almaty.get("/api/v1/reconciliation?period=2026-10").get_json()
    alatau = act_of_school("Alatau Lyceum")
    assert [r["region_id"] for r in api["regions"]] == [alatau.region_id]
    bilim_region = act_of_school("Bilim Innovation School").region_id
    page = almaty.get(f"/reports/reconciliation?period=2026-10&region={bilim_region}").get_data(as_text=True)
    assert "Unknown region" in page and f'data-region="{bilim_region}"' not in page
    refused = almaty.get(f"/api/v1/reconciliation?period=2026-13&region={bilim_region}")
    assert refused.status_code == 422 and refused.get_json() == {
        "code": 422, "status": "Unprocessable Entity", "message": "Choose a month as YYYY-MM. Unknown region.",
        "errors": {"period": "Choose a month as YYYY-MM.", "region": "Unknown region."}}
    page = almaty.get("/reports/reconciliation?period=bogus").get_data(as_text=True)
    assert "Choose a month as YYYY-MM." in page
    assert almaty.get("/reports/reconciliation.csv?period=bogus").status_code == 303
    for school_user in ("accountant", "director"):
        assert browser(school_user).get("/reports/reconciliation").status_code == 403
        assert browser(school_user).get("/api/v1/reconciliation").status_code == 403
    ru = browser("official_almaty")
    ru.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    assert ru.get("/reports/reconciliation?period=2026-10").status_code == 200


def test_downloads_neutralise_formula_starts():
    from app.acts.report import safe_cell

    for start in ("=", "+", "-", "@", "＝", "＋", "－", "＠"):
        assert safe_cell(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert safe_cell("Астана") == "Астана" and safe_cell(12) == 12



def test_the_downloads_say_their_money_is_tenge_and_the_spreadsheet_shows_it_as_money(world, browser):
    """Users probe: the operator's reconciliation download in Kazakh had bare 2811800 under "Қабылданды" — tenge or
    tiyn? — and the XLSX showed it ungrouped, without decimals, beside the act's own file that says "Amount, ₸"."""
    _month_of_every_kind()
    operator = browser("operator")
    operator.post("/locale", {"locale": "kk", "next": "/"})
    header = next(csv.reader(io.StringIO(
        operator.get("/reports/reconciliation.csv?period=2026-10").get_data().decode("utf-8-sig"))))
    assert header[1:3] == ["Актілер", "Жолдар"], "counts are not money"
    # the acts closed with nothing to pay: a count too, the last of the fixed columns
    count = 1 + [key for key, _ in COLUMNS].index("nothing_to_pay_acts")
    assert not header[count].endswith("₸")
    assert all(h.endswith(", ₸") for i, h in enumerate(header) if i >= 3 and i != count), header
    sheet = load_workbook(io.BytesIO(
        operator._request("get", "/reports/reconciliation.xlsx?period=2026-10").get_data())).active
    total = list(sheet.iter_rows())[-1]
    assert [c.number_format for c in (*total[1:3], total[count])] == ["General", "General", "General"]
    assert {c.number_format for i, c in enumerate(total) if i >= 3 and i != count} == {"#,##0.00"}
    assert Decimal(str(total[3].value)) > 0
    act = act_of_school("Bilim Innovation School")
    lines = load_workbook(io.BytesIO(operator._request("get", f"/acts/{act.id}/lines.xlsx").get_data())).active
    assert {row[-1].number_format for row in list(lines.iter_rows())[1:]} == {"#,##0.00"}


def test_the_payments_register_lists_each_payment_of_the_month_with_its_order_and_date(world, browser):
    """Users probe: the operator's payment staff looked for the payments to match against the bank statement — the
    reconciliation's downloads had sums per region only, no payment order number or date anywhere."""
    _month_of_every_kind()
    bilim = act_of_school("Bilim Innovation School")
    payment = db.session.scalars(select(Payment).where(Payment.act_id == bilim.id)).one()
    period = f"{bilim.period:%Y-%m}"
    operator = browser("operator")
    operator.post("/locale", {"locale": "kk", "next": "/"})
    assert 'id="payments-xlsx"' in operator.get(f"/reports/reconciliation?period={period}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(
        operator.get(f"/reports/payments.csv?period={period}").get_data().decode("utf-8-sig"))))
    assert rows[0][0] == "Акт" and rows[0][5] == "Сома, ₸"
    assert [r[0] for r in rows[1:]] == [bilim.number], "only paid acts, each once"
    number, name, _bin, _region, _month, amount, order, paid_on, iban, *returned = rows[1]
    assert returned == ["", "", "", ""], "not returned by the bank (app.payments.returns): no return day or reason"
    assert (name, order, paid_on) == ("Bilim Innovation School", "PP-R-1", payment.paid_on.isoformat())
    # the account it was sent to, as recorded when paid: an edit of the organisation's record afterwards changes nothing
    assert iban == payee_iban(bilim) and rows[0][8] == "IBAN"
    bilim.school.iban = "KZ86125KZT5004100100" if iban != "KZ86125KZT5004100100" else "KZ75125KZT2069100100"
    db.session.commit()
    assert account_on_record(bilim) != iban, "paid with no contract: to the organisation's account of then"
    again = list(csv.reader(io.StringIO(
        operator.get(f"/reports/payments.csv?period={period}").get_data().decode("utf-8-sig"))))
    assert again[1][8] == iban
    assert Decimal(amount) * 100 == payment.amount_tiyn == bilim.amount_tiyn
    sheet = load_workbook(io.BytesIO(operator._request("get", f"/reports/payments.xlsx?period={period}").get_data()))
    cells = list(sheet.active.iter_rows())[1]
    assert cells[5].number_format == "#,##0.00" and cells[7].number_format == "DD.MM.YYYY"
    assert cells[7].value.date() == payment.paid_on
    # a department sees its own region's payments; a school and a stranger's region see none of them
    assert len(browser("official").get(f"/reports/payments.csv?period={period}").get_data().splitlines()) == 2
    assert len(browser("official_almaty").get(f"/reports/payments.csv?period={period}").get_data().splitlines()) == 1
    assert browser("accountant").get(f"/reports/payments.csv?period={period}").status_code == 403
    assert operator.get("/reports/payments.csv?period=bogus").status_code == 303


def test_the_payments_register_does_not_compute_the_months_reconciliation(world, browser, monkeypatch):
    """Scale probe (benchmarks/README.md, statements of web requests): the payments register computed the month's whole
    reconciliation it does not show — at country scale a re-pricing of every decided line against NEDB, 20-35 s in one
    statement, past the requests' statement limit. It reads only its payments; the filter is still checked."""
    import app.reports.views as report_views

    _month_of_every_kind()
    bilim = act_of_school("Bilim Innovation School")
    period = f"{bilim.period:%Y-%m}"

    def no_reconciliation(*_args, **_kwargs):
        raise AssertionError("the payments register computed the reconciliation")

    monkeypatch.setattr(report_views, "reconcile", no_reconciliation)
    operator = browser("operator")
    for fmt in ("csv", "xlsx"):
        assert operator.get(f"/reports/payments.{fmt}?period={period}").status_code == 200
    rows = list(csv.reader(io.StringIO(
        operator.get(f"/reports/payments.csv?period={period}").get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [bilim.number]
    assert operator.get("/reports/payments.csv?period=bogus").status_code == 303
    # the organisations paid come with the payments, not one query per payment (850 at country scale)
    from app.reports.reconciliation import payments_table
    from tests.helpers import statements_of

    db.session.expire_all()
    seen = statements_of(lambda: payments_table(bilim.period, scope_clause(user("operator"), Act.region_id,
                                                                           Act.school_id), None, "schools", str))
    assert not [s for s in seen if s.lstrip().startswith("SELECT organisation.")], seen
