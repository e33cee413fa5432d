"""A registry correction of a month already accepted and paid becomes an adjustment on the school's next act:
the paid act is never edited, the claw-back (or top-up) carries the rule, the month and the NEDB evidence, the
official accepts it with the next act and the operator pays the net. Never twice for the same correction."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app import clock
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
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _act(period: date) -> Act:
    return db.session.scalars(select(Act).where(Act.school_id == school(BILIM).id, Act.period == period)).one()


def _submit_accept_pay(act: Act, order_number: str) -> Act:
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": order_number, "paid_on": clock.today().isoformat()})
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
        assert (adj.full_name, adj.act_id) == (line.full_name, november.id)
    # The verification's audit event names each settlement: top-ups first, then claw-backs by month and line.
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                           AuditEvent.object_id == november.id)).one()
    assert verified.details["adjustments"] == [
        {"original_act": october.number, "line": line.line_no, "month": "2026-10", "rule": rule,
         "amount_tiyn": -NORMS[level_for_grade(line.grade)]}
        for line, rule in sorted(((withdrawn_line, "withdrawn"), (moved_line, "other_school")),
                                 key=lambda pair: pair[0].line_no)]
    clawed = sum(a.amount_tiyn for a in adjustments.values())
    lines_sum = sum(ln.amount_tiyn for ln in november.lines)
    assert november.adjustment_tiyn == clawed and november.amount_tiyn == lines_sum + clawed

    # Re-verifying November (month-wide) recomputes the same adjustments: never twice.
    run = start_month_verification(NOVEMBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert _state(november.id)[1:3] == (lines_sum + clawed, clawed)
    assert db.session.query(ActAdjustment).count() == 2

    # The act's lines file adds up to the act: its last rows say how the lines become the amount.
    rows = list(csv.reader(io.StringIO(browser("official").get(f"/acts/{november.id}/lines.csv").get_data()
                                       .decode("utf-8-sig"))))
    assert [r[2] for r in rows[-3:]] == ["Sum of the lines", "Adjustments of earlier months", "Act amount"]
    assert [Decimal(r[-1]) * 100 for r in rows[-3:]] == [lines_sum, clawed, lines_sum + clawed]
    assert sum(Decimal(r[-1]) * 100 for r in rows[1:-3]) == lines_sum
    filtered = browser("official").get(f"/acts/{november.id}/lines.csv?outcome=accepted").get_data()
    assert b"Act amount" not in filtered  # a filtered file is only its lines

    accept_task = open_task(november, "accept_act")
    page = browser("official").get(f"/tasks/{accept_task.id}").get_data(as_text=True)
    assert 'id="adjustments-table"' in page and october.number in page and "Withdrawn" in page
    table = page[page.index('id="adjustments-table"'):]
    table = table[:table.index("</table>")]
    assert f"<td>{october.period:%B %Y}</td>" in table, "the month as people name it"
    assert not re.search(r"\b20\d\d-\d\d", re.sub(r"<[^>]+>", " ", table)), "no ISO dates in the evidence"
    complete_task(accept_task.id, user("official"), data={"decision": "accept"})
    db.session.commit()
    accepted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.accepted",
                                                           AuditEvent.object_id == november.id)).one()
    assert accepted.details["amount_tiyn"] == lines_sum + clawed
    assert sorted(a["rule"] for a in accepted.details["adjustments"]) == ["other_school", "withdrawn"]
    complete_task(open_task(november, "pay_act").id, user("operator"),
                  data={"order_number": "PP-NOV-1", "paid_on": clock.today().isoformat()})
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
    db.session.commit()
    # nothing to pay: closed at its acceptance without a payment order of 0 ₸ (it was paid by "PP-NOV-2" of 0 ₸)
    assert november.status == "paid" and db.session.query(Payment).filter_by(act_id=november.id).count() == 0

    december = _submit(DECEMBER)
    settled = -db.session.query(db.func.sum(ActAdjustment.amount_tiyn)).scalar()
    assert settled == min(owed, -november.adjustment_tiyn + sum(ln.amount_tiyn for ln in december.lines))
    assert december.amount_tiyn >= 0


def test_only_accepted_lines_of_the_schools_decided_earlier_months_of_the_year_are_looked_at(world):
    """Which lines today's registry may re-price: never a line of a month not yet decided (its own verification
    sees the registry), never a line excluded by a rule no registry correction lifts (here the official's: it
    earned nothing and never will — tests/money/test_topup_corrected.py), never another school's, a later month's or
    one of two academic years before. With the NEDB table, lines of students enrolled at this school since before the
    month and still there are left out in SQL — but not a student who is enrolled only elsewhere now, or came
    back only later, and never a line already adjusted (the registry may have been corrected back)."""
    from types import SimpleNamespace

    from app.acts.adjustments import _candidate_lines
    from app.registry.adapter import student_registry

    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-3")
    lines = sorted(october.lines, key=lambda ln: ln.line_no)
    withdrawn, moved, excluded, returned, first_day = lines[4], lines[9], lines[12], lines[15], lines[20]
    for line in (withdrawn, moved, excluded, returned):
        _enrolment(line.iin).withdrawn_on = date(2026, 9, 20)
    _enrolment(first_day.iin).enrolled_on = OCTOBER  # enrolled on the month's first day: a student all month
    lyceum = school("Alatau Lyceum")
    for line, bin_, since in ((moved, lyceum.bin, date(2026, 9, 20)), (returned, school(BILIM).bin, NOVEMBER)):
        db.session.add(NedbEnrollment(iin=line.iin, full_name=line.full_name, school_bin=bin_, school_kind="private",
                                      grade=line.grade, enrolled_on=since))
    excluded.outcome, excluded.amount_tiyn = "excluded", 0  # as if the official had excluded it
    db.session.commit()
    registry, bilim = student_registry(), school(BILIM).id

    def candidates(*acts, registry=registry):
        return [(line.id, act.id) for line, act in _candidate_lines(
            [SimpleNamespace(school_id=s, period=p) for s, p in acts], registry)]

    expected = [(withdrawn.id, october.id), (moved.id, october.id), (returned.id, october.id)]
    assert candidates((bilim, NOVEMBER)) == expected
    assert candidates((bilim, date(2027, 8, 1))) == expected  # the last month of the academic year
    assert candidates((lyceum.id, NOVEMBER), (bilim, NOVEMBER)) == expected
    assert candidates((lyceum.id, NOVEMBER)) == []
    assert candidates((bilim, OCTOBER)) == [] and candidates((bilim, date(2026, 9, 1))) == []
    assert candidates((bilim, date(2027, 9, 1))) == expected  # the next academic year: for claw-backs
    assert candidates((bilim, date(2028, 9, 1))) == []  # the year after that
    # A registry that is not the NEDB table: every accepted line comes back, in line order.
    everything = [(ln.id, october.id) for ln in lines if ln is not excluded]
    assert candidates((bilim, NOVEMBER), registry=SimpleNamespace()) == everything

    # The withdrawn student was clawed back, then NEDB corrected the withdrawal: the line still comes back.
    db.session.add(ActAdjustment(act_id=october.id, original_act_id=october.id, original_line_id=withdrawn.id,
                                 period=OCTOBER, iin=withdrawn.iin, full_name=withdrawn.full_name,
                                 rule_code="withdrawn", original_amount_tiyn=withdrawn.amount_tiyn,
                                 corrected_amount_tiyn=0, amount_tiyn=-withdrawn.amount_tiyn, created_at=AT))
    _enrolment(withdrawn.iin).withdrawn_on = None
    db.session.commit()
    assert candidates((bilim, NOVEMBER)) == expected

    # September, the academic year's first month, is looked at too.
    db.session.execute(Act.__table__.update().where(Act.id == october.id).values(period=date(2026, 9, 1)))
    db.session.execute(ActLine.__table__.update().where(ActLine.act_id == october.id).values(period=date(2026, 9, 1)))
    db.session.commit()  # (the student enrolled on 1 October was not one in September)
    assert candidates((bilim, NOVEMBER)) == [*expected, (first_day.id, october.id)]

    db.session.execute(Act.__table__.update().where(Act.id == october.id).values(status="verified"))
    db.session.commit()
    assert candidates((bilim, NOVEMBER)) == []


def test_an_acts_adjustments_are_listed_by_month_then_as_settled(world):
    from app.acts.adjustments import adjustments_of

    act = act_of_school("Alatau Lyceum")  # verified in the seed: it has lines
    first, second, third = act.lines[:3]
    for line, period in ((first, NOVEMBER), (second, OCTOBER), (third, NOVEMBER)):
        db.session.add(ActAdjustment(act_id=act.id, original_act_id=act.id, original_line_id=line.id, period=period,
                                     iin=line.iin, full_name=line.full_name, rule_code="withdrawn",
                                     original_amount_tiyn=1, corrected_amount_tiyn=0, amount_tiyn=-1,
                                     created_at=clock.now()))
        db.session.flush()
    assert [a.original_line_id for a in adjustments_of(act)] == [second.id, first.id, third.id]


def test_a_review_decision_keeps_the_acts_adjustments_in_its_amount(world, browser):
    """Deciding a flagged line verifies the act again: its amount must still carry the claw-back of earlier months
    (the review's re-verification had set the amount to the lines alone, so the act was paid the claw-back over
    and the claw-back counted as settled for good)."""
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-R")
    left = october.lines[3]
    _enrolment(left.iin).withdrawn_on = date(2026, 9, 20)
    db.session.commit()

    act = open_monthly_act(school(BILIM), NOVEMBER)
    db.session.commit()
    lines = prefill_lines(act)
    lines[0]["full_name"], lines[1]["full_name"] = "Someone Else Entirely", "Another Name Altogether"
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    db.session.expire_all()
    november = db.session.get(Act, act.id)
    clawed = -NORMS[level_for_grade(left.grade)]
    assert november.adjustment_tiyn == clawed
    flagged = sorted((ln for ln in november.lines if ln.review_codes), key=lambda ln: ln.line_no)
    assert [ln.line_no for ln in flagged][:2] == [1, 2]

    official = browser("official")
    for line, body in ((flagged[0], {"decision": "confirm", "comment": "same child"}),
                       (flagged[1], {"decision": "exclude", "comment": "not ours"})):
        assert official.post(f"/acts/{november.id}/lines/{line.id}/review", body).status_code == 303
        status, amount, adjustment, line_results = _state(november.id)
        assert status == "verified" and adjustment == clawed
        assert amount == sum(a for _, a in line_results) + clawed
        assert db.session.query(ActAdjustment).filter_by(act_id=november.id).count() == 1
    events = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == november.id,
                                                                            AuditEvent.object_type == "act")
                                                   .order_by(AuditEvent.id))]
    assert events[-2:] == ["act.line_reviewed", "act.verified"], "the new amount is on the record"
    assert verify_chain(f"instance:{november.instance_id}") == []


def test_a_licence_corrected_to_start_mid_month_brings_the_paid_months_lines_back(world):
    """October paid for whole months; the licence register then said the licence ran only from 16 October. The
    lines of students still enrolled with one NEDB row were left out in SQL as unchanged, so nothing was clawed
    back — unless a student had an unrelated second row. Now the month's lines come back to be priced again."""
    from types import SimpleNamespace

    from app.acts.adjustments import _candidate_lines
    from app.registry.adapter import student_registry
    from app.registry.models import Licence

    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-L")
    paid = sorted(ln.id for ln in october.lines if ln.outcome == "accepted")
    bilim = school(BILIM)

    def candidates():
        return sorted(line.id for line, _act in _candidate_lines(
            [SimpleNamespace(school_id=bilim.id, period=NOVEMBER)], student_registry()))

    assert candidates() == [], "the licence covers October: nothing to look at again"
    for licence in db.session.scalars(select(Licence).where(Licence.bin == bilim.bin)):
        licence.valid_from = date(2026, 10, 16)
    db.session.commit()
    assert candidates() == paid
