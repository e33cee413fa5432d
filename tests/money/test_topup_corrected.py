"""A line a paid act excluded because the registry said so at the time — the student withdrawn, not in NEDB, at
another school — is a real child the school was never paid for once the registry is corrected in its favour. The
paid act is not edited: the line earns a top-up on the school's next act, with the cause, the month and the
evidence; once, however often the act is verified again; clawed back cleanly if the registry changes its mind again.
Never for what no registry correction changes (an invalid IIN, a copy of a line, an official's exclusion with no
fingerprint of the values it was made on, the places given out with the act), and never past the month's places or
its contract's cap. (An exclusion NEDB's values no longer support is tests/money/test_review_exclusion_topup.py.)"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app import clock
from app.acts import adjustments, terms
from app.acts.adjustments import _candidate_lines, settle_adjustments
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import prefill_lines
from app.acts.rules import level_for_grade
from app.acts.terms import ActTerms
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.audit.operations import verify_chain
from app.engine.runtime import complete_task
from app.extensions import db
from app.people.access import scope_clause
from app.registry.adapter import student_registry
from app.reports.operations import run_month_verification, start_month_verification
from app.reports.reconciliation import reconcile
from tests.helpers import act_of_school, open_task, user
from tests.money.test_adjustments import BILIM, DECEMBER, NORMS, NOVEMBER, OCTOBER, _enrolment, _state, _submit
from tests.money.test_reconciliation import _assert_equal, _expected
from tests.registry.conftest import Country, bad_iin, iin

AMOUNT = 3_850_000  # a primary pupil's month


def _accept_and_pay(act: Act, order_number: str) -> Act:
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": order_number, "paid_on": clock.today().isoformat()})
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Act, act.id)


def test_a_withdrawal_entered_by_mistake_is_topped_up_on_the_next_act_once_and_reversed_cleanly(world, browser):
    # October: NEDB wrongly has one of Bilim's students withdrawn on 20 September; the school lists the child all
    # the same, the line is excluded as withdrawn and the act is paid without it.
    october = act_of_school(BILIM)
    lines = prefill_lines(october)
    child = lines[6]
    _enrolment(child["iin"]).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    complete_task(open_task(october, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    october = _accept_and_pay(october, "PP-OCT-T")
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == october.id,
                                                    ActLine.iin == child["iin"])).one()
    assert (october.status, line.outcome, line.rule_code, line.amount_tiyn) == ("paid", "excluded", "withdrawn", 0)
    paid_october = _state(october.id)
    norm = NORMS[level_for_grade(line.grade)]

    # NEDB removes the mistaken withdrawal: the child was at Bilim all October.
    _enrolment(child["iin"]).withdrawn_on = None
    db.session.commit()
    november = _submit(NOVEMBER)
    (top_up,) = november.adjustments
    assert (top_up.rule_code, top_up.period, top_up.original_act_id, top_up.original_line_id, top_up.iin) == (
        REGISTRY_CORRECTED_IN_FAVOUR, OCTOBER, october.id, line.id, child["iin"])
    assert (top_up.original_amount_tiyn, top_up.corrected_amount_tiyn, top_up.amount_tiyn) == (0, norm, norm)
    assert top_up.evidence["excluded_as"] == "withdrawn" and top_up.evidence["days"] == 31
    assert [e["withdrawn_on"] for e in top_up.evidence["nedb"]] == [None], "today's NEDB row is the evidence"
    lines_sum = sum(ln.amount_tiyn for ln in november.lines)
    assert (november.adjustment_tiyn, november.amount_tiyn) == (norm, lines_sum + norm)
    page = browser("official").get(f"/acts/{november.id}").get_data(as_text=True)
    assert "Excluded line confirmed by the corrected registry" in page
    assert "Excluded when the act was verified: Withdrawn" in page

    # Verified again month-wide: the same top-up, never twice.
    run = start_month_verification(NOVEMBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert _state(november.id)[1:3] == (lines_sum + norm, norm)
    assert db.session.scalars(select(ActAdjustment.amount_tiyn)).all() == [norm]

    # Accepted and paid: every tenge of November is explained by the reconciliation.
    november = _accept_and_pay(november, "PP-NOV-T")
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, total = reconcile(NOVEMBER, everything)
    _assert_equal(rows, _expected(NOVEMBER))
    assert total.adjusted_tiyn == norm and total.payable_tiyn == november.amount_tiyn == total.paid_tiyn

    # December: nothing more for October's line — until NEDB withdraws the child again: the top-up comes back.
    _enrolment(child["iin"]).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    december = _submit(DECEMBER)
    assert sorted((a.period, a.rule_code, a.amount_tiyn) for a in december.adjustments) == [
        (OCTOBER, "withdrawn", -norm), (NOVEMBER, "withdrawn", -norm)], "October's top-up and November's line"
    assert {a.original_line_id for a in december.adjustments if a.period == OCTOBER} == {line.id}
    assert _state(october.id) == paid_october, "the paid act is never edited in place"
    for act in (october, november, december):
        assert verify_chain(f"instance:{act.instance_id}") == []


# --- hand-made months (tests.registry.conftest.Country) ------------------------------------------------------------


def _paid(country: Country, school, lines: list[tuple[str, int, str | None]], period: date = OCTOBER) -> Act:
    """A paid act of primary pupils: (IIN, grade, the rule that excluded the line — None: accepted at AMOUNT)."""
    act = country.act(school, [(student, grade) for student, grade, _rule in lines], period=period, status="paid")
    for line, (_student, _grade, rule) in zip(sorted(act.lines, key=lambda ln: ln.line_no), lines, strict=True):
        line.outcome, line.rule_code = ("excluded", rule) if rule else ("accepted", None)
        line.amount_tiyn, line.paid_days = (0, None) if rule else (AMOUNT, 31)
    act.amount_tiyn = AMOUNT * sum(1 for *_, rule in lines if rule is None)
    db.session.flush()
    return act


def _next_act(country: Country, school, period: date = NOVEMBER) -> Act:
    act = country.act(school, [(iin(9_000 + period.month), 3)], period=period, status="verified")
    act.amount_tiyn = 10 * AMOUNT
    db.session.flush()
    return act


def _settled(act: Act) -> dict[str, tuple[str, int]]:
    settle_adjustments([act])
    db.session.expire_all()
    return {a.iin: (a.rule_code, a.amount_tiyn) for a in adjustments.adjustments_of(act)}


def test_what_no_registry_correction_changes_is_never_topped_up(country):
    """Every student below is in NEDB at the school all October now. Only the line excluded as withdrawn is paid
    again: an invalid IIN and a second copy of a line are facts of the act; the official's exclusion (none recorded
    for this line: no decision to weigh against NEDB) is a decision;
    the places over the building's capacity or the contract were given out with the act; the business register's
    standing carries no date. None of them comes back to be priced."""
    school = country.school()
    corrected, checksum, copy, reviewed, crowded, over_places, no_record = (
        iin(801), bad_iin(802), iin(803), iin(804), iin(805), iin(806), iin(807))
    for student in (corrected, checksum, copy, reviewed, crowded, over_places, no_record):
        country.enrol(student, school.bin, grade=3)
    october = _paid(country, school, [(copy, 3, None), (corrected, 3, "withdrawn"), (checksum, 3, "iin_checksum"),
                                      (copy, 3, "duplicate_line"), (reviewed, 3, "review_excluded"),
                                      (crowded, 3, "over_capacity"), (over_places, 3, "over_contracted_places"),
                                      (no_record, 3, "no_business_record")])
    november = _next_act(country, school)

    returned = [line.iin for line, _act in _candidate_lines([november], student_registry())]
    assert returned == [corrected]
    assert _settled(november) == {corrected: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}
    assert {ln.line_no: ln.outcome for ln in db.session.get(Act, october.id).lines} == {
        1: "accepted", **dict.fromkeys(range(2, 9), "excluded")}, "the paid act is not edited"


def test_a_month_at_its_design_capacity_gets_no_top_up_until_a_claw_back_frees_a_place(country):
    """October paid its two places (design capacity 2); a third child, excluded as not in NEDB, is registered
    after all. No place: no top-up — the month would be paid for three. One of the two is then found withdrawn:
    November claws that line back; once that is settled, December pays the child the freed place."""
    school = country.school(capacity=2)
    first, second, late = iin(811), iin(812), iin(813)
    country.enrol(first, school.bin, grade=3)
    gone = country.enrol(second, school.bin, grade=3)
    _paid(country, school, [(first, 3, None), (second, 3, None), (late, 3, "not_in_nedb")])
    november = _next_act(country, school)
    assert _settled(november) == {}, "not in NEDB then, nothing to pay"

    country.enrol(late, school.bin, grade=3)  # NEDB is corrected: the child was there since September
    assert _settled(november) == {}, "the month's two places are paid for"

    gone.withdrawn_on = date(2026, 9, 20)
    db.session.flush()
    assert _settled(november) == {second: ("withdrawn", -AMOUNT)}, "the place is free only once this is settled"
    db.session.execute(Act.__table__.update().where(Act.id == november.id).values(status="paid"))
    december = _next_act(country, school, DECEMBER)
    assert _settled(december) == {late: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}
    assert _settled(december) == {late: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}, "verified again: the same, once"


def test_a_top_up_keeps_the_contracts_places_per_level_and_its_monthly_cap(country, monkeypatch):
    """Under a contract with one primary place and room for basic pupils, October paid one primary pupil; a second
    primary pupil and a basic pupil excluded as at another school are corrected. The basic pupil is topped up —
    within what the month's cap has left — the second primary pupil is not: the level's one place is paid for."""
    cap = {"value": 10 * AMOUNT}
    monkeypatch.setattr(terms, "_providers", [lambda act: ActTerms(
        places_by_level=(("primary", 1), ("basic", 5)), amount_cap_tiyn=cap["value"])])
    school = country.school()
    paid, primary, basic, senior = iin(821), iin(822), iin(823), iin(824)
    country.enrol(paid, school.bin, grade=3)
    country.enrol(primary, school.bin, grade=2)
    country.enrol(basic, school.bin, grade=6)
    country.enrol(senior, school.bin, grade=10)  # the contract gives secondary no place at all
    _paid(country, school, [(paid, 3, None), (primary, 2, "other_school"), (basic, 6, "other_school"),
                            (senior, 10, "level_not_covered")])
    november = _next_act(country, school)
    assert _settled(november) == {basic: (REGISTRY_CORRECTED_IN_FAVOUR, NORMS["basic"])}

    cap["value"] = AMOUNT + 1_000  # October's cap leaves 10 tenge: the rest stays owed
    assert _settled(november) == {basic: (REGISTRY_CORRECTED_IN_FAVOUR, 1_000)}


def test_top_ups_stay_within_the_acts_academic_year(country):
    """September's excluded line is topped up on November's act; August's (the academic year before) is not — a
    closed year's budget is not paid out of the new year's act."""
    school = country.school()
    august_child, september_child = iin(831), iin(832)
    country.enrol(august_child, school.bin, grade=3, enrolled=date(2026, 1, 10))
    country.enrol(september_child, school.bin, grade=3)
    _paid(country, school, [(august_child, 3, "withdrawn")], period=date(2026, 8, 1))
    _paid(country, school, [(september_child, 3, "withdrawn")], period=date(2026, 9, 1))
    november = _next_act(country, school)
    assert [ln.iin for ln, _act in _candidate_lines([november], student_registry())] == [september_child]
    assert _settled(november) == {september_child: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}


def test_a_grade_nedb_corrects_to_the_claimed_one_is_topped_up_and_only_then(country):
    """Two lines excluded as ``grade_mismatch``: NEDB corrects one pupil's grade to the one the act claimed — paid;
    the other still differs — it does not even come back to be priced."""
    school = country.school()
    corrected, still_wrong = iin(841), iin(842)
    country.enrol(corrected, school.bin, grade=3)
    country.enrol(still_wrong, school.bin, grade=4)
    _paid(country, school, [(corrected, 3, "grade_mismatch"), (still_wrong, 3, "grade_mismatch")])
    november = _next_act(country, school)
    assert [ln.iin for ln, _act in _candidate_lines([november], student_registry())] == [corrected]
    assert _settled(november) == {corrected: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}


def test_a_school_whose_business_record_is_missing_today_gets_no_new_top_up(country):
    """The business register's standing carries no date: a school liquidated now keeps what its months were paid
    (tests/money/test_settle.py), and is paid nothing more for them on today's missing evidence."""
    school = country.school(registered=False)
    country.licence(school)
    record = country.business(school)
    child = iin(851)
    country.enrol(child, school.bin, grade=3)
    _paid(country, school, [(child, 3, "withdrawn")])
    november = _next_act(country, school)
    record.status = "liquidated"
    db.session.flush()
    assert _settled(november) == {}
    record.status = "active"
    db.session.flush()
    assert _settled(november) == {child: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}


def test_a_child_listed_twice_in_a_month_its_licence_then_did_not_cover_is_topped_up_once(country):
    """October's licence was not on record: every line was excluded as the licence not valid — both copies of a
    child the school listed twice among them (the copies are told apart only in a month whose school-level rules
    pass). The licence registry is corrected: the child is paid one place once, the second copy nothing — a place
    and its payment are per student, not per line."""
    for capacity in (None, 500):
        school = country.school(capacity=capacity)
        child, other = iin(861 + 2 * (capacity or 0)), iin(862 + 2 * (capacity or 0))
        country.enrol(child, school.bin, grade=3)
        country.enrol(other, school.bin, grade=3)
        _paid(country, school, [(child, 3, "licence_expired"), (other, 3, "licence_expired"),
                                (child, 3, "licence_expired")])
        november = _next_act(country, school)
        settle_adjustments([november])
        db.session.expire_all()
        settled = sorted((a.iin, a.rule_code, a.amount_tiyn) for a in adjustments.adjustments_of(november))
        assert settled == sorted([(child, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT),
                                  (other, REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)]), capacity


def test_a_correction_to_a_days_within_the_month_tops_up_those_days(world):
    """The registry corrected to part of the month: a withdrawal moved from September to 15 October (14 days
    taught), an enrolment moved from November to 31 October (one day). Each line comes back for its days — the
    look-up of the lines that can come back counts a withdrawal within the month and an enrolment on its last
    day (a mutation run found both dropped without a test failing)."""
    october = act_of_school(BILIM)
    lines = prefill_lines(october)
    left, came = lines[2], lines[3]
    _enrolment(left["iin"]).withdrawn_on = date(2026, 9, 20)
    _enrolment(came["iin"]).enrolled_on = date(2026, 11, 5)
    db.session.commit()
    complete_task(open_task(october, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    october = _accept_and_pay(october, "PP-OCT-D")
    excluded = {ln.iin: ln for ln in october.lines if ln.outcome == "excluded"}
    assert set(excluded) == {left["iin"], came["iin"]}

    _enrolment(left["iin"]).withdrawn_on = date(2026, 10, 15)
    _enrolment(came["iin"]).enrolled_on = date(2026, 10, 31)
    db.session.commit()
    november = _submit(NOVEMBER)
    top_ups = {a.iin: a for a in november.adjustments}
    assert set(top_ups) == {left["iin"], came["iin"]}
    for iin_, days in ((left["iin"], 14), (came["iin"], 1)):
        top_up = top_ups[iin_]
        norm = NORMS[level_for_grade(excluded[iin_].grade)]
        assert (top_up.rule_code, top_up.evidence["days"]) == (REGISTRY_CORRECTED_IN_FAVOUR, days)
        assert top_up.amount_tiyn == top_up.corrected_amount_tiyn > 0
        assert abs(top_up.amount_tiyn - norm * days / 31) < 1, "the month's norm for the days taught"
