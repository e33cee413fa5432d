"""A carried top-up can be closed: no act pays a closed year's top-up, so the operator records the payment order that
paid it out of that year's budget, or the education department writes it off with the reason. It leaves the carried
list and moves to "paid outside the acts" / "written off" in the month's reconciliation (page, CSV, XLSX, API) and
the year-end report — every tenge still explained. Exactly once; a school sees it and cannot do it; bad input is a
form error; a registry that later says the top-up was not owed shows a claw-back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.acts.adjustments import unsettled_corrections
from app.acts.models import Act, ActLine, OutsideSettlement
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.contracts.models import Contract, ContractAct
from app.extensions import db
from app.registry.models import NedbEnrollment
from app.reports.reconciliation import COLUMNS, reconcile
from tests.money.test_reconciliation_unsettled import MAY, _everything, carried_may
from tests.registry.conftest import iin

NORM = 3_850_000
PAID = NORM * 10 // 31  # paid 10 days of May: NEDB said then that the pupil came on the 22nd


def _carried_may():
    """Samruk's contract (Shymkent) with a paid May 2026 act whose one line is a carried top-up of a closed year."""
    contract, line, owed = carried_may()
    assert owed.carried and line.amount_tiyn == PAID and owed.amount_tiyn == NORM - PAID
    return contract, line, owed.amount_tiyn


def _form(line, amount_tiyn: int, seen: int = 0, **extra) -> dict:
    return {"line_id": str(line.id), "seen": str(seen), "amount": f"{Decimal(amount_tiyn) / 100:.2f}", **extra}


def _settlements() -> list[tuple[str, int]]:
    return [(s.kind, s.amount_tiyn) for s in db.session.scalars(select(OutsideSettlement))]


def _month(browser_of, fmt: str):
    return browser_of._request("get", f"/reports/reconciliation.{fmt}?period=2026-05")


def test_the_operator_records_a_carried_top_up_paid_by_a_payment_order_once(world, browser):
    contract, line, carried = _carried_may()
    _rows, before = reconcile(MAY, _everything())
    assert (before.unsettled_tiyn, before.settled_outside_tiyn) == (carried, 0)

    operator = browser("operator")
    page = operator.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'data-settle-line="{line.id}"' in page and 'name="order_number"' in page and 'name="reason"' not in page
    paid = _form(line, carried, order_number="pp-2027-0042", paid_on="2026-11-02")
    response = operator.post(f"/contracts/{contract.id}/settle-outside", paid)
    assert response.status_code == 303
    assert _settlements() == [("paid", carried)]
    (row,) = db.session.scalars(select(OutsideSettlement)).all()
    assert (row.order_number, row.paid_on, row.seq) == ("PP-2027-0042", date(2026, 11, 2), 0)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settled_outside")).one()
    assert (event.object_type, event.object_id, event.details["amount_tiyn"]) == ("outside_settlement", row.id,
                                                                                  carried)
    # the row is vouched for by its event (the hand-made May act has none: not this test's business)
    assert [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason] == []
    row.amount_tiyn += 1  # a database writer's edit is found
    db.session.commit()
    assert [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason] == [
        f"outside_settlement {row.id}: amount_tiyn differs from event {event.chain}#{event.seq}"]
    row.amount_tiyn -= 1
    db.session.commit()

    # No longer carried: listed as settled outside the acts, its form gone.
    assert unsettled_corrections(contract.school) == []
    page = operator.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="settled-outside-table"' in page and "PP-2027-0042" in page
    assert f'data-settle-line="{line.id}"' not in page

    # A double submit (the same form again) is refused, and nothing changes.
    again = operator.post(f"/contracts/{contract.id}/settle-outside", paid)
    assert again.status_code == 303
    assert "settled meanwhile" in operator.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert _settlements() == [("paid", carried)]

    # Every tenge still explained: what was unsettled is now paid outside the acts, in May's month and region.
    rows, after = reconcile(MAY, _everything())
    assert (after.unsettled_tiyn, after.settled_outside_tiyn, after.written_off_tiyn) == (0, carried, 0)
    assert after.unsettled_tiyn + after.settled_outside_tiyn == before.unsettled_tiyn
    assert [(r.region_id, r.settled_outside_tiyn) for r in rows] == [(contract.region_id, carried)]
    assert sum(r.settled_outside_tiyn for r in rows) == after.settled_outside_tiyn
    page = operator.get("/reports/reconciliation?period=2026-05").get_data(as_text=True)
    assert 'data-col="settled-outside"' in page and 'id="reconciliation-settled-outside-note"' in page
    assert operator.get("/api/v1/reconciliation?period=2026-05").get_json()["total"]["settled_outside_tiyn"] == carried
    column = 1 + [key for key, _ in COLUMNS].index("settled_outside_tiyn")
    header, *_, last = list(csv.reader(io.StringIO(_month(operator, "csv").get_data().decode("utf-8-sig"))))
    assert header[column] == "Paid outside the acts, ₸" and Decimal(last[column]) * 100 == carried
    sheet = list(load_workbook(io.BytesIO(_month(operator, "xlsx").get_data())).active.values)
    assert Decimal(str(sheet[-1][column])) * 100 == carried


def test_a_settlement_the_registry_later_takes_back_is_a_claw_back(world, browser):
    contract, line, carried = _carried_may()
    browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                             _form(line, carried, order_number="PP-77", paid_on="2026-11-02"))
    assert _settlements() == [("paid", carried)]
    # NEDB is corrected back: the pupil came on the 22nd after all — the money paid outside was not owed.
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).one().enrolled_on = \
        date(2026, 5, 22)
    db.session.commit()
    assert [(u.line.id, u.amount_tiyn, u.carried, u.time_barred) for u in unsettled_corrections(contract.school)] \
        == [(line.id, -carried, False, False)], "owed back, settled on the school's next act"


def test_the_department_writes_a_carried_top_up_off_with_the_reason(world, browser):
    contract, line, carried = _carried_may()
    official = browser("official_shymkent")
    page = official.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'name="reason"' in page and 'name="order_number"' not in page
    short = official.post(f"/contracts/{contract.id}/settle-outside", _form(line, carried, reason="no"))
    assert short.status_code == 422 and 'data-error="reason"' in short.get_data(as_text=True)
    assert _settlements() == []
    reason = "Grade checked with the school: the pupil was in grade 2, the line is not owed."
    assert official.post(f"/contracts/{contract.id}/settle-outside",
                         _form(line, carried, reason=reason)).status_code == 303
    assert _settlements() == [("written_off", carried)]
    assert unsettled_corrections(contract.school) == []
    rows, total = reconcile(MAY, _everything())
    assert (total.unsettled_tiyn, total.settled_outside_tiyn, total.written_off_tiyn) == (0, 0, carried)
    assert browser("operator").get("/api/v1/reconciliation?period=2026-05").get_json()["total"][
        "written_off_tiyn"] == carried
    # The year-end report says it beside what is unsettled.
    from flask import current_app, render_template

    from app.contracts.settlements import settlements_under

    with current_app.test_request_context("/"):
        panel = render_template("yearend/_report_panel.html", contract=contract, months=[], report=None,
                                academic_year="2025-2026", unsettled=[], settlements=settlements_under(contract))
    assert 'id="settled-outside-alert"' in panel and "written off" in panel
    # A write-off is no payment: NEDB corrected back, nothing is owed back either.
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).one().enrolled_on = \
        date(2026, 5, 22)
    db.session.commit()
    assert unsettled_corrections(contract.school) == []


def test_bad_input_is_a_form_error_and_changes_nothing(world, browser):
    contract, line, carried = _carried_may()
    operator = browser("operator")
    url = f"/contracts/{contract.id}/settle-outside"
    for data, field in (
            (_form(line, carried - 1, order_number="PP-1", paid_on="2026-11-02"), "amount"),
            (_form(line, carried, order_number="PP-1", paid_on="2026-13-40"), "paid_on"),
            (_form(line, carried, order_number="PP-1", paid_on="2099-01-01"), "paid_on"),
            (_form(line, carried, order_number="PP-1", paid_on="2026-04-30"), "paid_on"),
            (_form(line, carried, order_number="", paid_on="2026-11-02"), "order_number"),
            (_form(line, carried, order_number="PP-R-0", paid_on="2026-11-02") | {"amount": "12,3,4"}, "amount")):
        response = operator.post(url, data)
        assert response.status_code == 422, data
        assert f'data-error="{field}"' in response.get_data(as_text=True), data
    assert _settlements() == []
    assert operator.post(url, _form(line, carried, order_number="PP-1", paid_on="2026-11-02"),
                         csrf=False).status_code == 400, "CSRF"
    assert _settlements() == []


@pytest.mark.parametrize("who, status", [("accountant4", 403), ("auditor", 403), ("official", 404),
                                         ("official_shymkent", 303)])
def test_only_the_operator_and_the_contracts_department_may_settle(world, browser, who, status):
    """A school's people see the carried top-up and cannot settle it; the auditor reads; another region's department
    does not see the contract; the department of its region may write off (not record a payment)."""
    contract, line, carried = _carried_may()
    person = browser(who)
    shown = person.get(f"/contracts/{contract.id}")
    assert shown.status_code == (404 if status == 404 else 200)
    if status == 403:
        assert 'data-carried="1"' in shown.get_data(as_text=True)
        assert 'action="/contracts/' not in shown.get_data(as_text=True).split('id="unsettled"')[1].split("</table>")[0]
    paid = _form(line, carried, order_number="PP-9", paid_on="2026-11-02")
    response = person.post(f"/contracts/{contract.id}/settle-outside", paid)
    if status == 303:  # the department writes off; a payment asks for a reason it did not give
        assert response.status_code == 422 and _settlements() == []
    else:
        assert response.status_code == status and _settlements() == []


def test_two_settlements_of_what_one_person_saw_cannot_both_be_stored(world):
    """The guard behind "exactly once": (line, seq) is unique, whatever reaches the database."""
    contract, line, carried = _carried_may()
    operator = db.session.scalars(select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None))).first()
    for _ in range(2):
        db.session.add(OutsideSettlement(original_act_id=line.act_id, original_line_id=line.id, seq=0, period=MAY,
                                         kind="written_off", amount_tiyn=carried, rule_code="enrolled_days",
                                         corrected_amount_tiyn=NORM, reason="checked", recorded_by_id=operator,
                                         recorded_at=datetime(2026, 11, 5, tzinfo=UTC)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_payment_order_pays_one_thing_an_acts_payment_or_a_carried_top_up(world, browser):
    from app import clock
    from app.acts.operations import prefill_lines
    from app.engine.errors import DomainRefused
    from app.engine.runtime import complete_task
    from app.payments.operations import register_payment
    from tests.helpers import act_of_school, open_task, user

    contract, line, carried = _carried_may()
    operator = browser("operator")
    operator.post(f"/contracts/{contract.id}/settle-outside",
                  _form(line, carried, order_number="PP-ONE", paid_on="2026-11-02"))
    assert _settlements() == [("paid", carried)]
    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    with pytest.raises(DomainRefused, match="paid outside the acts"):
        register_payment(act, "pp-one", clock.today(), user("operator"))
    db.session.rollback()
    register_payment(act, "PP-R-1", clock.today(), user("operator"))
    db.session.commit()
    # ... and the other way round: an act's payment order is no top-up's
    db.session.delete(db.session.scalars(select(OutsideSettlement)).one())
    db.session.commit()
    response = operator.post(f"/contracts/{contract.id}/settle-outside",
                             _form(line, carried, order_number="pp-r-1", paid_on="2026-11-02"))
    assert response.status_code == 422 and 'data-error="order_number"' in response.get_data(as_text=True)


def test_two_operators_settling_the_same_top_up_at_once_record_it_once(world, app, monkeypatch):
    """Both have read the item as carried and passed every check before either writes: the unique (line, seq)
    lets one through; the other is told it was settled meanwhile, and nothing of it is stored."""
    import threading

    from app.contracts import settlements
    from app.engine.errors import DomainConflict
    from tests.helpers import user

    contract, line, carried = _carried_may()
    contract_id, line_id = contract.id, line.id
    db.session.commit()
    db.session.remove()
    both_checked = threading.Barrier(2, timeout=20)
    original = settlements._check_payment_order

    def check_when_both_are_here(*args):
        original(*args)
        both_checked.wait()

    monkeypatch.setattr(settlements, "_check_payment_order", check_when_both_are_here)
    outcomes: list[str] = []

    def attempt(order: str) -> None:
        with app.app_context():
            try:
                request = settlements.OutsideRequest(line_id, 0, "paid", carried, order, date(2026, 11, 2))
                settlements.settle_outside(db.session.get(Contract, contract_id), user("operator"), request)
                db.session.commit()
                outcomes.append("recorded")
            except DomainConflict as err:
                db.session.rollback()
                outcomes.append(f"refused: {err}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(order,)) for order in ("PP-TAB-1", "PP-TAB-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["recorded", "refused"], outcomes
    assert "settled meanwhile" in next(o for o in outcomes if o.startswith("refused"))
    assert _settlements() == [("paid", carried)]
    assert db.session.scalar(select(func.count(AuditEvent.id))
                             .where(AuditEvent.action == "contract.settled_outside")) == 1


def _time_barred_august():
    """Samruk's contract with a paid August 2025 act whose pupil NEDB now has withdrawn since July: a claw-back
    before the look-back of Samruk's next act (of 2026/27: September 2025 on)."""
    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    samruk, august = contract.school, date(2025, 8, 1)
    student = iin(8_803)
    db.session.add(NedbEnrollment(iin=student, full_name="Student Gone", school_bin=samruk.bin, school_kind="private",
                                  grade=3, enrolled_on=date(2024, 9, 1), withdrawn_on=date(2025, 7, 1)))
    act = Act(number="ACT-SAMRUK-202508", school_id=samruk.id, region_id=samruk.region_id, period=august,
              status="paid", amount_tiyn=NORM, created_at=datetime(2025, 9, 2, tzinfo=UTC))
    db.session.add(act)
    db.session.flush()
    db.session.add(ActLine(act_id=act.id, period=august, school_id=samruk.id, line_no=1, iin=student,
                           full_name="Student Gone", grade=3, days_attended=31, paid_days=31, outcome="accepted",
                           amount_tiyn=NORM))
    db.session.add(ContractAct(contract_id=contract.id, act_id=act.id, period=august))
    db.session.commit()
    (barred,) = unsettled_corrections(samruk)
    return contract, barred


def test_a_time_barred_claw_back_is_on_the_contract_page_and_in_the_months_reconciliation(world, browser):
    """Samruk's next act is of 2026/27: August 2025 is before its look-back (September 2025). A pupil paid for in
    August 2025 whom NEDB now has withdrawn since July is not claimed back — and is seen: page, CSV, XLSX, API."""
    contract, barred = _time_barred_august()
    august = date(2025, 8, 1)
    assert (barred.time_barred, barred.amount_tiyn, barred.correction.rule_code) == (True, -NORM, "withdrawn")
    rows, total = reconcile(august, _everything())
    assert (total.time_barred_tiyn, total.unsettled_tiyn) == (-NORM, 0)
    assert sum(r.time_barred_tiyn for r in rows) == total.time_barred_tiyn

    official = browser("official_shymkent")
    page = official.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'data-time-barred="{barred.line.id}"' in page and "Student Gone" in page and "2025" in page
    assert 'id="unsettled"' not in page, "not owed: not among the unsettled corrections"
    page = official.get("/reports/reconciliation?period=2025-08").get_data(as_text=True)
    assert 'data-col="time-barred"' in page and 'id="reconciliation-time-barred-note"' in page
    assert official.get("/api/v1/reconciliation?period=2025-08").get_json()["total"]["time_barred_tiyn"] == -NORM
    column = 1 + [key for key, _ in COLUMNS].index("time_barred_tiyn")
    csv_body = official._request("get", "/reports/reconciliation.csv?period=2025-08").get_data().decode("utf-8-sig")
    header, *_, last = list(csv.reader(io.StringIO(csv_body)))
    assert header[column] == "Claw-backs time-barred, ₸" and Decimal(last[column]) * 100 == -NORM
    sheet = list(load_workbook(io.BytesIO(official._request(
        "get", "/reports/reconciliation.xlsx?period=2025-08").get_data())).active.values)
    assert Decimal(str(sheet[-1][column])) * 100 == -NORM
