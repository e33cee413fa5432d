"""An act accepted at 0 ₸ — every line excluded, or claw-backs as large as the month — has nothing to pay, and no bank
issues a payment order of 0 ₸. It used to wait in the operator's inbox at "Pay act", asking for one, for ever (or
for an invented order number). Now it is closed at its acceptance without a payment order, through the payments'
door, audited with the act's facts; the act page, the payments register and the reconciliation say so, and
verify-audit passes. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app import clock
from app.acts.models import Act, ActLine
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.engine.errors import DomainRefused
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.people.access import scope_clause
from app.reports.reconciliation import payments_table, reconcile
from tests.audit.helpers import tamper
from tests.helpers import act_of_school, open_task, user


def _every_line_excluded(act: Act) -> None:
    """The verification found every line ineligible (the NEDB says each child left before the month)."""
    tamper(update(ActLine).where(ActLine.act_id == act.id).values(outcome="excluded", rule_code="withdrawn",
                                                                 amount_tiyn=0))
    tamper(update(Act).where(Act.id == act.id).values(amount_tiyn=0, accepted_lines=0))


def _accept(act: Act) -> None:
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()


def test_an_act_accepted_at_zero_is_closed_without_a_payment_order_and_its_process_ends(world):
    act = act_of_school("Alatau Lyceum")
    _every_line_excluded(act)
    _accept(act)

    act = db.session.get(Act, act.id)
    assert act.status == "paid" and act.amount_tiyn == 0
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []
    # nobody is asked for a payment order of 0 ₸, and the process does not wait
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == "pay_act")).all() == []
    assert db.session.get(ProcessInstance, act.instance_id).status == "completed"
    closed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.closed_nothing_to_pay")).one()
    assert (closed.chain, closed.object_type, closed.object_id) == (f"instance:{act.instance_id}", "act", act.id)
    assert closed.facts["amount_tiyn"] == 0
    assert verify_chains_and_rows().problems == []


def test_the_act_page_the_payments_register_and_the_reconciliation_say_nothing_was_to_pay(world, browser):
    act = act_of_school("Alatau Lyceum")
    _every_line_excluded(act)
    _accept(act)
    act = db.session.get(Act, act.id)

    page = browser("operator").get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="payment-nothing"' in page

    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    header, body = payments_table(act.period, everything, None, act.instrument, lambda rid: str(rid))
    (row,) = [r for r in body if r[0] == act.number]
    assert row[5] == 0 and row[6] == "" and row[-1] == "Nothing to pay: closed without a payment order"
    rows, total = reconcile(act.period, everything, instrument=act.instrument)
    (region,) = [r for r in rows if r.region_id == act.region_id]
    assert region.nothing_to_pay_acts == 1
    # every tenge explained still: payable − paid, with nothing outstanding for the closed act
    assert total.outstanding_tiyn == total.payable_tiyn - total.paid_tiyn


def test_a_payment_order_of_zero_is_refused_and_nothing_is_written(world):
    act = act_of_school("Alatau Lyceum")
    tamper(update(Act).where(Act.id == act.id).values(status="accepted", amount_tiyn=0, accepted_lines=0))
    with pytest.raises(DomainRefused, match=r"has nothing to pay \(0 ₸\): it is closed without a payment order"):
        register_payment(db.session.get(Act, act.id), "PP-ZERO-1", clock.today(), user("operator"))
    db.session.rollback()
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []
    assert db.session.get(Act, act.id).status == "accepted"


def test_a_pay_step_opened_before_for_an_act_of_zero_closes_it_without_recording_the_order(world):
    """A step already waiting (opened before acts of 0 ₸ closed themselves) closes the act when completed."""
    act = act_of_school("Alatau Lyceum")
    _accept(act)
    tamper(update(Act).where(Act.id == act.id).values(amount_tiyn=0, accepted_lines=0))
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-ZERO-2", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert db.session.get(Act, act.id).status == "paid"
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []


def test_the_school_hears_its_act_accepted_at_zero_has_nothing_to_pay_not_zero_to_be_paid(world, browser):
    """The accountant's bell said "accepted: 0.00 ₸ to be paid" and nothing after it: a payment that never comes."""
    act = act_of_school("Alatau Lyceum")
    _every_line_excluded(act)
    _accept(act)
    page = browser("accountant3").get("/notifications").get_data(as_text=True)
    assert f"Act {act.number} accepted by the education department at 0 ₸: nothing to pay" in page
    assert "to be paid." not in page


def test_the_reconciliation_files_count_the_acts_closed_with_nothing_to_pay_as_the_page_does(world, browser):
    """The page and the API said "1 act closed with nothing to pay" under the region's paid figure; the CSV and XLSX
    downloads of the same reconciliation had no such column, so a region's 0 ₸ with nothing outstanding had no why."""
    import csv
    import io
    import re

    from openpyxl import load_workbook

    act = act_of_school("Alatau Lyceum")
    _every_line_excluded(act)
    _accept(act)
    act = db.session.get(Act, act.id)
    operator = browser("operator")
    query = f"period={act.period:%Y-%m}&instrument={act.instrument}"
    page = operator.get(f"/reports/reconciliation?{query}").get_data(as_text=True)
    on_page = {}
    for match in re.finditer(r'<tr (?:class="fw-bold" id="reconciliation-total"|data-region="(\d+)")>(.*?)</tr>',
                             page, re.S):
        count = re.search(r'data-count="nothing-to-pay">(\d+) ', match.group(2))
        on_page[str(match.group(1) or "total")] = int(count.group(1)) if count else 0
    assert on_page[str(act.region_id)] == on_page["total"] == 1
    api = operator.get(f"/api/v1/reconciliation?{query}").get_json()
    assert api["total"]["nothing_to_pay_acts"] == 1

    csv_rows = list(csv.reader(io.StringIO(
        operator.get(f"/reports/reconciliation.csv?{query}").get_data().decode("utf-8-sig"))))
    sheet = [list(r) for r in load_workbook(io.BytesIO(operator._request(
        "get", f"/reports/reconciliation.xlsx?{query}").get_data())).active.values]
    assert csv_rows[0] == sheet[0]
    column = csv_rows[0].index("Acts closed with nothing to pay")
    rows, _total = reconcile(act.period, scope_clause(user("operator"), Act.region_id, Act.school_id),
                             instrument=act.instrument)
    keys = [str(r.region_id) for r in rows] + ["total"]
    assert [int(r[column]) for r in csv_rows[1:]] == [sheet_row[column] for sheet_row in sheet[1:]] \
        == [on_page[key] for key in keys]
    assert int(csv_rows[-1][column]) == 1
