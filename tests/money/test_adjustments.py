"""A registry correction of a month already accepted and paid becomes an adjustment on the school's next act:
the paid act is never edited, the claw-back (or top-up) carries the rule, the month and the NEDB evidence, the
official accepts it with the next act and the operator pays the net. Never twice for the same correction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import open_monthly_act, prefill_lines
from app.acts.rules import level_for_grade
from app.audit.models import AuditEvent
from app.audit.operations import verify_chain
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.registry.models import NedbEnrollment
from app.reports.operations import run_month_verification, start_month_verification
from tests.helpers import act_of_school, open_task, school, user

BILIM = "Bilim Innovation School"
NORMS = {"primary": 3_850_000, "basic": 4_230_000, "secondary": 4_610_000}
OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


def _act(period: date) -> Act:
    return db.session.scalars(select(Act).where(Act.school_id == school(BILIM).id, Act.period == period)).one()


def _submit_accept_pay(act: Act, order_number: str) -> Act:
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": order_number, "paid_on": "2026-12-10"})
    db.session.commit()
    return db.session.get(Act, act.id)


def _submit(period: date) -> Act:
    act = open_monthly_act(school(BILIM), period)
    db.session.commit()
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Act, act.id)


def _enrolment(iin: str) -> NedbEnrollment:
    return db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin,
                                                           NedbEnrollment.school_bin == school(BILIM).bin)).one()


def _state(act_id: int) -> tuple:
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    return act.status, act.amount_tiyn, act.adjustment_tiyn, tuple(db.session.execute(
        select(ActLine.outcome, ActLine.amount_tiyn).where(ActLine.act_id == act_id).order_by(ActLine.line_no)))


def test_withdrawal_found_after_payment_is_clawed_back_on_the_next_act_once(world, browser):
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-1")
    assert october.status == "paid" and october.accepted_lines == october.total_lines == 36
    paid_october = _state(october.id)
    lines = {ln.iin: ln for ln in october.lines}
    withdrawn_line, moved_line = october.lines[4], october.lines[9]

    # NEDB corrections arrive: one student had left on 20 September, another moved to a state school then.
    _enrolment(withdrawn_line.iin).withdrawn_on = date(2026, 9, 20)
    _enrolment(moved_line.iin).withdrawn_on = date(2026, 9, 15)
    db.session.add(NedbEnrollment(iin=moved_line.iin, full_name=moved_line.full_name, school_bin="990940000013",
                                  school_kind="state", grade=moved_line.grade, enrolled_on=date(2026, 9, 15)))
    db.session.commit()

    november = _submit(NOVEMBER)
    assert november.status == "verified" and november.total_lines == 34
    adjustments = {a.iin: a for a in november.adjustments}
    assert set(adjustments) == {withdrawn_line.iin, moved_line.iin}
    for line, rule in ((withdrawn_line, "withdrawn"), (moved_line, "other_school")):
        adj = adjustments[line.iin]
        norm = NORMS[level_for_grade(line.grade)]
        assert (adj.rule_code, adj.period, adj.original_act_id, adj.original_line_id) == (rule, OCTOBER, october.id,
                                                                                          line.id)
        assert (adj.original_amount_tiyn, adj.corrected_amount_tiyn, adj.amount_tiyn) == (norm, 0, -norm)
        assert any(e["withdrawn_on"] for e in adj.evidence["nedb"]), "the NEDB dates are the evidence"
    clawed = sum(a.amount_tiyn for a in adjustments.values())
    lines_sum = sum(ln.amount_tiyn for ln in november.lines)
    assert november.adjustment_tiyn == clawed and november.amount_tiyn == lines_sum + clawed

    # Re-verifying November (month-wide) recomputes the same adjustments: never twice.
    run = start_month_verification(NOVEMBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert _state(november.id)[1:3] == (lines_sum + clawed, clawed)
    assert db.session.query(ActAdjustment).count() == 2

    accept_task = open_task(november, "accept_act")
    page = browser("official").get(f"/tasks/{accept_task.id}").get_data(as_text=True)
    assert 'id="adjustments-table"' in page and october.number in page and "Withdrawn" in page
    complete_task(accept_task.id, user("official"), data={"decision": "accept"})
    db.session.commit()
    accepted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.accepted",
                                                           AuditEvent.object_id == november.id)).one()
    assert accepted.details["amount_tiyn"] == lines_sum + clawed
    assert sorted(a["rule"] for a in accepted.details["adjustments"]) == ["other_school", "withdrawn"]
    complete_task(open_task(november, "pay_act").id, user("operator"),
                  data={"order_number": "PP-NOV-1", "paid_on": "2026-12-11"})
    db.session.commit()
    assert db.session.scalars(select(Payment.amount_tiyn).where(Payment.act_id == november.id)).one() == \
        lines_sum + clawed

    # December: the corrections are settled — nothing again; but NEDB corrects one back: a top-up.
    _enrolment(withdrawn_line.iin).withdrawn_on = None
    db.session.commit()
    december = _submit(DECEMBER)
    (top_up,) = december.adjustments
    assert (top_up.iin, top_up.rule_code, top_up.period, top_up.amount_tiyn) == (
        withdrawn_line.iin, "nedb_corrected", OCTOBER, NORMS[level_for_grade(withdrawn_line.grade)])
    assert december.amount_tiyn == sum(ln.amount_tiyn for ln in december.lines) + top_up.amount_tiyn

    assert _state(october.id) == paid_october, "the paid act is never edited in place"
    assert lines[withdrawn_line.iin].outcome == "accepted"
    for act in (october, november, december):
        assert verify_chain(f"instance:{act.instance_id}") == []


def test_claw_back_never_makes_an_act_negative_the_rest_stays_owed(world):
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-2")
    gone = october.lines[:30]
    for line in gone:  # 30 students withdrawn in September, found out after October was paid
        _enrolment(line.iin).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    owed = sum(ln.amount_tiyn for ln in gone)

    november = _submit(NOVEMBER)  # 6 students left: far less than the claw-back
    assert november.amount_tiyn == 0 and november.adjustment_tiyn == -sum(ln.amount_tiyn for ln in november.lines)
    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    complete_task(open_task(november, "pay_act").id, user("operator"),
                  data={"order_number": "PP-NOV-2", "paid_on": "2026-12-11"})
    db.session.commit()

    december = _submit(DECEMBER)
    settled = -db.session.query(db.func.sum(ActAdjustment.amount_tiyn)).scalar()
    assert settled == min(owed, -november.adjustment_tiyn + sum(ln.amount_tiyn for ln in december.lines))
    assert december.amount_tiyn >= 0
