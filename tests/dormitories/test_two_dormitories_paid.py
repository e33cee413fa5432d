"""Two dormitories claim one student after the first dormitory's month was paid: the second's line is excluded as
``two_dormitories``, and the rule says neither place is paid until corrected — the first dormitory's paid place is
clawed back on its next act (rule, month, the other act as evidence); when the other dormitory drops its claim,
the claw-back is reversed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import claim_for_verification, submit_act
from app.contracts.operations import open_contract_act
from app.dormitories.operations import settle_dormitory_acts
from app.dormitories.verification import verify_dormitory_acts
from app.extensions import db
from app.reports.operations import run_month_verification, start_month_verification
from tests.dormitories.test_adjustments import OCTOBER, SEPTEMBER, _month
from tests.dormitories.test_rule_edges import ACCOUNTANTS, _rate
from tests.helpers import user


def _verify(act: Act) -> None:
    claim_for_verification([act.id])
    verify_dormitory_acts([act])
    settle_dormitory_acts([act])
    db.session.commit()


def test_a_place_paid_before_another_dormitory_claimed_the_student_is_clawed_back_until_corrected(dorm_year,
                                                                                                 browser):
    september = _month(dorm_year, SEPTEMBER)  # Jastar's September: accepted and paid
    rate = _rate(dorm_year)
    paid = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)

    # Alatau submits September later, listing the same student for the whole month on one of its beds.
    alatau_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_c"].lines_for(SEPTEMBER)]
    jastar_line = next(dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(SEPTEMBER)
                       if line["iin"] == paid.iin)
    twin = dict(jastar_line, room=alatau_lines[-1]["room"], bed=alatau_lines[-1]["bed"])
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], SEPTEMBER)
    submit_act(alatau, [*alatau_lines[:-1], twin], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)
    assert db.session.execute(select(ActLine.rule_code, ActLine.amount_tiyn).where(
        ActLine.act_id == alatau.id, ActLine.iin == paid.iin)).one() == ("two_dormitories", 0)

    # Jastar's next act claws the paid place back: neither place is paid until corrected.
    october = _month(dorm_year, OCTOBER, decide=False)
    (adj,) = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))
    assert (adj.iin, adj.rule_code, adj.period, adj.original_line_id) == (paid.iin, "two_dormitories", SEPTEMBER,
                                                                          paid.id)
    assert (adj.original_amount_tiyn, adj.corrected_amount_tiyn, adj.amount_tiyn) == (rate, 0, -rate)
    assert adj.evidence["other_dormitory_acts"] == [alatau.number]
    assert october.adjustment_tiyn == -rate
    page = browser("official").get(f"/acts/{october.id}").get_data(as_text=True)
    assert f"Also placed by act {alatau.number}" in page

    # Verified again: the same claw-back, once.
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert db.session.scalars(select(ActAdjustment.amount_tiyn)
                              .where(ActAdjustment.act_id == october.id)).all() == [-rate]

    # Alatau's act is returned and resubmitted without the student: Jastar's place is paid again.
    alatau = db.session.get(Act, alatau.id)
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, alatau_lines[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    db.session.expire_all()
    assert db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id)).all() == []
    assert db.session.get(Act, october.id).adjustment_tiyn == 0


def test_a_place_excluded_as_claimed_twice_on_a_paid_act_is_topped_up_once_the_other_claim_is_dropped(dorm_year):
    """Jastar's September was decided with the student excluded as placed in two dormitories; Alatau's act is then
    returned and resubmitted without them. The rule says neither place is paid *until corrected*: Jastar's next act
    tops the place up (the line was never looked at again: a decided act's excluded place was lost for good)."""
    from datetime import UTC, datetime

    from app import clock
    from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR

    clock.set_clock(clock.FrozenClock(datetime(2027, 10, 2, 5, 0, tzinfo=UTC)))
    rate = _rate(dorm_year)
    jastar_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(SEPTEMBER)]
    alatau_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_c"].lines_for(SEPTEMBER)]
    claimed = next(line for line in jastar_lines if not line.get("moved_out") and str(line["moved_in"]) <= "2027-09-01")
    twin = dict(claimed, room=alatau_lines[-1]["room"], bed=alatau_lines[-1]["bed"])
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], SEPTEMBER)
    submit_act(alatau, [*alatau_lines[:-1], twin], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)

    september = _month(dorm_year, SEPTEMBER)  # Jastar's September: the student excluded, accepted and paid
    excluded = next(ln for ln in september.lines if ln.iin == claimed["iin"])
    assert (september.status, excluded.rule_code, excluded.amount_tiyn) == ("paid", "two_dormitories", 0)

    alatau = db.session.get(Act, alatau.id)  # Alatau's act returned and resubmitted without the student
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, alatau_lines[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)

    october = _month(dorm_year, OCTOBER, decide=False)
    (adj,) = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))
    assert (adj.original_line_id, adj.rule_code, adj.period, adj.amount_tiyn) == (
        excluded.id, REGISTRY_CORRECTED_IN_FAVOUR, SEPTEMBER, rate)
    assert adj.evidence["excluded_as"] == "two_dormitories"
    assert october.adjustment_tiyn == rate

    # The claim comes back (Alatau lists the student again): the top-up is clawed back, never paid twice.
    from tests.dormitories.test_adjustments import _accept_and_pay

    _accept_and_pay(october)
    alatau = db.session.get(Act, alatau.id)
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, [*alatau_lines[:-1], twin], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)
    november = _month(dorm_year, date(2027, 11, 1), decide=False)
    back = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == november.id,
                                                          ActAdjustment.original_line_id == excluded.id)).all()
    assert [(a.rule_code, a.amount_tiyn) for a in back] == [("two_dormitories", -rate)]


def _claimed_twice_and_a_newcomer_on_the_bed(dorm_year):
    """September: a Jastar resident also claimed by Alatau (so excluded as two_dormitories), and a newcomer Jastar
    lists on that resident's bed; both acts verified. Returns (claimed, newcomer, september, alatau, alatau_lines)."""
    from datetime import UTC, datetime

    from app import clock
    from tests.dormitories.test_rule_edges import _newcomer

    clock.set_clock(clock.FrozenClock(datetime(2027, 10, 2, 5, 0, tzinfo=UTC)))
    jastar_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(SEPTEMBER)][:-1]
    alatau_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_c"].lines_for(SEPTEMBER)]
    claimed = next(line for line in jastar_lines if not line.get("moved_out")
                   and str(line["moved_in"]) <= "2027-09-01")
    twin = dict(claimed, room=alatau_lines[-1]["room"], bed=alatau_lines[-1]["bed"])
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], SEPTEMBER)
    submit_act(alatau, [*alatau_lines[:-1], twin], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)

    newcomer = _newcomer(dorm_year, date(2027, 9, 1), (claimed["room"], claimed["bed"]), 7)
    september = open_contract_act(dorm_year["contracts"]["dorm_a"], SEPTEMBER)
    submit_act(september, [*jastar_lines, newcomer], None, user(ACCOUNTANTS["dorm_a"]))
    _verify(september)
    return claimed, newcomer, september, alatau, alatau_lines


def test_a_lifted_exclusion_is_not_topped_up_onto_a_bed_another_paid_resident_held(dorm_year):
    """The excluded place never met the shared-bed rule: the newcomer the act paid on that bed keeps it, and the
    student placed in two dormitories is not paid for the same bed on the same days once the other claim drops."""


    claimed, newcomer, september, alatau, alatau_lines = _claimed_twice_and_a_newcomer_on_the_bed(dorm_year)
    rows = dict(db.session.execute(select(ActLine.iin, ActLine.rule_code).where(ActLine.act_id == september.id)).all())
    assert (rows[claimed["iin"]], rows[newcomer["iin"]]) == ("two_dormitories", None)
    db.session.get(Act, september.id).status = "accepted"  # decided with the place excluded
    alatau = db.session.get(Act, alatau.id)
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, alatau_lines[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)

    october = _month(dorm_year, OCTOBER, decide=False)
    assert db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id)).all() == []
    assert october.adjustment_tiyn == 0


def test_a_claw_back_corrected_back_does_not_pay_a_bed_a_lifted_exclusion_was_paid_meanwhile(dorm_year):
    """September paid a newcomer on the bed of a student excluded as placed in two dormitories. The registry then
    has the newcomer never enrolled and the other dormitory drops its claim: October claws the newcomer back and
    pays the bed, now free, to the excluded student. The registry is corrected back in November: the newcomer's
    claw-back is not reversed onto that bed — September would pay one bed twice on the same days."""

    from app.dormitories.models import StudentEnrolment

    rate = _rate(dorm_year)
    claimed, newcomer, september, alatau, alatau_lines = _claimed_twice_and_a_newcomer_on_the_bed(dorm_year)
    db.session.get(Act, september.id).status = "accepted"  # decided: the newcomer paid the bed
    enrolment = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == newcomer["iin"])).one()
    enrolled_on = enrolment.enrolled_on
    enrolment.enrolled_on = date(2027, 10, 15)  # the registry: the newcomer was not a student in September
    alatau = db.session.get(Act, alatau.id)
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, alatau_lines[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)

    october = _month(dorm_year, OCTOBER, decide=False)
    settled = {(a.iin, a.rule_code, a.amount_tiyn) for a in
               db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))}
    assert settled == {(newcomer["iin"], "not_enrolled", -rate),
                       (claimed["iin"], "registry_corrected_in_favour", rate)}
    db.session.get(Act, october.id).status = "accepted"
    db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == newcomer["iin"])).one() \
        .enrolled_on = enrolled_on  # corrected back
    db.session.commit()

    november = _month(dorm_year, date(2027, 11, 1), decide=False)
    assert db.session.execute(select(ActAdjustment.iin, ActAdjustment.rule_code, ActAdjustment.amount_tiyn)
                              .where(ActAdjustment.act_id == november.id)).all() == []
