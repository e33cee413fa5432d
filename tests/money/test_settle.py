"""``settle``, the generic settlement of registry corrections, on hand-made acts: which earlier lines an act
settles (its own academic year's earlier months, claw-backs of the year before), what was already settled
elsewhere (however many lines), and a claw-back that never takes an act below zero — not even by one tiyn."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.acts import adjustments, terms
from app.acts.adjustments import ENROLLED_DAYS, Correction, settle
from app.acts.models import Act, ActAdjustment
from app.acts.terms import ActTerms
from app.extensions import db
from app.registry.adapter import student_registry
from tests.registry.conftest import NORMS, Country, iin

NOVEMBER = date(2026, 11, 1)
AMOUNT = 3_850_000


def _decided(country: Country, school, period: date, students: int) -> Act:
    """A paid act of ``period`` whose every line was accepted at ``AMOUNT``."""
    act = country.act(school, [(iin(period.month * 100 + n), 3) for n in range(students)], period=period,
                      status="paid")
    for line in act.lines:
        line.outcome, line.amount_tiyn = "accepted", AMOUNT
    act.amount_tiyn = AMOUNT * students
    db.session.flush()
    return act


def _being_verified(country: Country, school, earns: int) -> Act:
    act = country.act(school, [(iin(9_000), 3)], period=NOVEMBER, status="verified")
    act.amount_tiyn = earns
    db.session.flush()
    return act


def _withdrawn(rows):
    """The registry now says every one of these students had left: each line earns nothing."""
    return {line.id: Correction("withdrawn", 0, {"nedb": []}) for line, _ in rows}


def _rows(*acts: Act) -> list:
    return [(line, act) for act in acts for line in sorted(act.lines, key=lambda ln: ln.line_no)]


def _settled_on(act: Act) -> list[tuple[int, int]]:
    return [(a.original_line_id, a.amount_tiyn) for a in db.session.scalars(
        select(ActAdjustment).where(ActAdjustment.act_id == act.id).order_by(ActAdjustment.id))]


def test_what_other_acts_already_settled_is_deducted_for_every_line_whatever_the_chunking(country, monkeypatch):
    """The look-up of earlier settlements goes chunk by chunk (SQLite's bound-parameter limit): every chunk is
    read, so no line is clawed back a second time, however many lines there are."""
    monkeypatch.setattr(adjustments, "_CHUNK", 2)
    school = country.school()
    october = _decided(country, school, date(2026, 10, 1), students=5)
    for line in october.lines:  # each already clawed back in full on an earlier settlement
        db.session.add(ActAdjustment(act_id=october.id, original_act_id=october.id, original_line_id=line.id,
                                     period=october.period, iin=line.iin, full_name=line.full_name,
                                     rule_code="withdrawn", original_amount_tiyn=AMOUNT, corrected_amount_tiyn=0,
                                     amount_tiyn=-AMOUNT, created_at=datetime(2026, 11, 5, tzinfo=UTC)))
    november = _being_verified(country, school, earns=10 * AMOUNT)
    db.session.flush()

    assert settle([november], _rows(october), _withdrawn) == {}
    db.session.expire_all()
    assert _settled_on(november) == []
    assert (november.amount_tiyn, november.adjustment_tiyn) == (10 * AMOUNT, 0)


def test_an_act_that_earns_nothing_takes_no_claw_back_not_even_one_tiyn(country):
    school = country.school()
    october = _decided(country, school, date(2026, 10, 1), students=1)
    november = _being_verified(country, school, earns=0)

    assert settle([november], _rows(october), _withdrawn) == {}
    db.session.expire_all()
    assert _settled_on(november) == []
    assert (november.amount_tiyn, november.adjustment_tiyn) == (0, 0)


def test_the_year_before_is_clawed_back_but_not_topped_up_and_two_years_before_is_not_looked_at(country):
    """An act settles the earlier months of its own academic year (1 September onwards) both ways; a month of the
    year before only when it was paid too much (August's correction found in September was never clawed back);
    the year before that not at all — without ending the look at the months after it."""
    school = country.school()
    long_ago = _decided(country, school, date(2025, 8, 1), students=1)
    august = _decided(country, school, date(2026, 8, 1), students=1)
    july = _decided(country, school, date(2026, 7, 1), students=1)
    september = _decided(country, school, date(2026, 9, 1), students=1)
    october = _decided(country, school, date(2026, 10, 1), students=1)
    november = _being_verified(country, school, earns=10 * AMOUNT)

    def withdrawn_but_july_earned_more(rows):
        found = _withdrawn(rows)
        found[july.lines[0].id] = Correction("enrolled_days", 2 * AMOUNT, {"nedb": []})
        return found

    settled = settle([november], _rows(long_ago, august, july, september, october), withdrawn_but_july_earned_more)

    db.session.expire_all()
    assert settled == {november.id: [
        {"original_act": august.number, "line": 1, "month": "2026-08", "rule": "withdrawn", "amount_tiyn": -AMOUNT},
        {"original_act": september.number, "line": 1, "month": "2026-09", "rule": "withdrawn", "amount_tiyn": -AMOUNT},
        {"original_act": october.number, "line": 1, "month": "2026-10", "rule": "withdrawn", "amount_tiyn": -AMOUNT}]}
    assert (november.amount_tiyn, november.adjustment_tiyn) == (7 * AMOUNT, -3 * AMOUNT)


def test_the_schools_repricing_pays_the_contracts_own_norms_by_the_days_nedb_gives(country, monkeypatch):
    """Under a pay-by-days contract with its own norms, a decided line earns the contract's norm for its level
    × the days NEDB has the student at the school that month (rounded down to the tiyn); a level the contract
    has no norm for earns nothing; a student NEDB does not know earns nothing, with the rule that says so."""
    monkeypatch.setattr(terms, "_providers", [lambda act: ActTerms(
        norms_tiyn=(("primary", 3_000_000), ("basic", 4_000_000)))])
    school = country.school()
    late, leaving, senior, unknown = iin(501), iin(502), iin(503), iin(504)
    october = country.act(school, [(late, 3), (leaving, 7), (senior, 10), (unknown, 2)], status="paid")
    country.enrol(late, school.bin, grade=3, enrolled=date(2026, 10, 11))  # 11–31 October: 21 days
    country.enrol(leaving, school.bin, grade=7, withdrawn=date(2026, 10, 21))  # 1–20 October: 20 days
    country.enrol(senior, school.bin, grade=10)  # all month, but the contract has no secondary norm
    for line in october.lines:
        line.outcome, line.amount_tiyn = "accepted", AMOUNT
    db.session.flush()

    found = adjustments._school_repricing(student_registry())(_rows(october))

    by_line = {line.line_no: found[line.id] for line in october.lines}
    assert {no: (c.rule_code, c.corrected_tiyn) for no, c in by_line.items()} == {
        1: (ENROLLED_DAYS, 3_000_000 * 21 // 31), 2: (ENROLLED_DAYS, 4_000_000 * 20 // 31),
        3: (ENROLLED_DAYS, 0), 4: ("not_in_nedb", 0)}
    assert (by_line[1].evidence["days"], by_line[2].evidence["days"], by_line[3].evidence["days"]) == (21, 20, 31)
    assert by_line[4].evidence == {"nedb": []}
    assert adjustments._school_repricing(student_registry())([]) == {}


# --- the schools' repricing on today's NEDB: the verification's rules, pay by days, every act -------------------


def _paid_october(country: Country, school, students: list[str], amounts: list[int],
                  days: list[int] | None = None) -> Act:
    act = country.act(school, [(s, 3) for s in students], period=date(2026, 10, 1), status="paid")
    for line, amount, paid in zip(sorted(act.lines, key=lambda ln: ln.line_no), amounts, days or [31] * len(amounts),
                                  strict=True):
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", amount, paid
    act.amount_tiyn = sum(amounts)
    db.session.flush()
    return act


def _settle(november: Act) -> dict[str, int]:
    adjustments.settle_adjustments([november])
    db.session.expire_all()
    return {a.iin: a.amount_tiyn for a in adjustments.adjustments_of(november)}


def test_a_withdrawal_found_after_payment_claws_back_by_days_without_a_contract(country):
    """No contract, default terms: the act was paid by days as every act is, so a withdrawal found later leaves
    the days before it — the same amount its verification would have paid, knowing it."""
    school = country.school()
    gone, stays = iin(701), iin(702)
    country.enrol(gone, school.bin, grade=3, withdrawn=date(2026, 10, 11))  # 1–10 October
    country.enrol(stays, school.bin, grade=3)
    _paid_october(country, school, [gone, stays], [AMOUNT, AMOUNT])
    november = _being_verified(country, school, earns=10 * AMOUNT)
    assert _settle(november) == {gone: AMOUNT * 10 // 31 - AMOUNT}


def test_a_common_day_at_another_school_found_after_payment_is_clawed_back(country):
    """Still enrolled here all along — but NEDB now also has the student at a state school for some days of the
    paid month: double enrolment, the month's line is clawed back (the SQL filter no longer passes it over)."""
    school = country.school()
    twice = iin(711)
    country.enrol(twice, school.bin, grade=3)
    country.enrol(twice, country.state_bin(), grade=3, kind="state", enrolled=date(2026, 10, 5),
                  withdrawn=date(2026, 10, 25))
    _paid_october(country, school, [twice], [AMOUNT])
    november = _being_verified(country, school, earns=10 * AMOUNT)
    assert _settle(november) == {twice: -AMOUNT}
    assert db.session.scalars(select(ActAdjustment.rule_code)).all() == ["double_enrolment"]


def test_a_repricing_pays_only_the_days_the_licence_covered(country):
    """A licence issued on 16 October: October was paid 16 days. A later correction (withdrawn on the 21st, and
    a student whose enrolment is now known from September) is priced within those days — never a top-up for
    the 1st–15th, which no licence covered."""
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=date(2026, 10, 16))
    gone, known = iin(721), iin(722)
    country.enrol(gone, school.bin, grade=3, withdrawn=date(2026, 10, 21))  # 16–20 October under the licence
    country.enrol(known, school.bin, grade=3, enrolled=date(2026, 9, 1), withdrawn=date(2026, 12, 1))
    _paid_october(country, school, [gone, known], [AMOUNT * 16 // 31] * 2, days=[16, 16])
    november = _being_verified(country, school, earns=10 * AMOUNT)
    assert _settle(november) == {gone: AMOUNT * 5 // 31 - AMOUNT * 16 // 31}


def test_a_top_up_keeps_its_month_within_the_contracts_monthly_cap(country, monkeypatch):
    """October was capped by the contract: a top-up for it is paid only up to the cap of October — the rest stays
    owed — so the act carrying it stays payable (the payment's cap check counts the month's own lines)."""
    cap = {"value": 0}
    monkeypatch.setattr(terms, "_providers", [lambda act: ActTerms(amount_cap_tiyn=cap["value"])])
    school = country.school()
    late = iin(731)
    country.enrol(late, school.bin, grade=3)  # NEDB now: all October (paid as from the 22nd: 10 days)
    country.enrol(iin(732), school.bin, grade=3)
    october = _paid_october(country, school, [late, iin(732)], [AMOUNT * 10 // 31, AMOUNT], days=[10, 31])
    owed = AMOUNT - AMOUNT * 10 // 31
    november = _being_verified(country, school, earns=10 * AMOUNT)

    cap["value"] = october.amount_tiyn  # at its cap already: nothing more for October
    assert _settle(november) == {}
    cap["value"] = october.amount_tiyn + 1_000  # room for 10 tenge of it
    november = db.session.get(Act, november.id)
    november.amount_tiyn = 10 * AMOUNT
    assert _settle(november) == {late: 1_000}
    cap["value"] = october.amount_tiyn + owed  # room for all of it
    november.amount_tiyn = 10 * AMOUNT
    assert _settle(november) == {late: owed}


def test_a_top_up_stays_within_what_the_contracts_amount_has_left(country, monkeypatch):
    """December's lines were capped at what the contract's amount had left; a top-up added after that made the act
    larger than what was left: accepted, then refused at payment for good. The top-up now fits in what is left, and
    the rest stays owed."""
    left = {"value": 0}
    monkeypatch.setattr(terms, "_providers", [
        lambda act: ActTerms(total_left_tiyn=left["value"]) if act.period == NOVEMBER else ActTerms()])
    school = country.school()
    late = iin(741)
    country.enrol(late, school.bin, grade=3)
    country.enrol(iin(742), school.bin, grade=3)
    _paid_october(country, school, [late, iin(742)], [AMOUNT * 10 // 31, AMOUNT], days=[10, 31])
    owed = AMOUNT - AMOUNT * 10 // 31
    november = _being_verified(country, school, earns=2 * AMOUNT)

    left["value"] = 2 * AMOUNT  # the lines took all that was left
    assert _settle(november) == {}
    left["value"] = 2 * AMOUNT + 500
    november = db.session.get(Act, november.id)
    november.amount_tiyn = 2 * AMOUNT
    assert _settle(november) == {late: 500}
    left["value"] = 10 * AMOUNT
    november.amount_tiyn = 2 * AMOUNT
    assert _settle(november) == {late: owed}


def test_a_month_paid_at_its_cap_gives_back_only_what_it_was_paid_over_its_due(country, monkeypatch):
    """October's three lines earned 3 norms and were paid 2 (its cap). Two students found withdrawn before October
    leave 1 norm due: one norm comes back, not the two norms the lines had earned (one of them was never paid)."""
    monkeypatch.setattr(terms, "_providers", [
        lambda act: ActTerms(amount_cap_tiyn=2 * AMOUNT) if act.period == date(2026, 10, 1) else ActTerms()])
    school = country.school()
    students = [iin(751), iin(752), iin(753)]
    for n, student in enumerate(students):
        country.enrol(student, school.bin, grade=3, withdrawn=date(2026, 9, 20) if n < 2 else None)
    october = _paid_october(country, school, students, [AMOUNT] * 3)
    october.amount_tiyn = 2 * AMOUNT  # capped
    db.session.flush()
    november = _being_verified(country, school, earns=5 * AMOUNT)
    settled = _settle(november)
    assert sum(settled.values()) == -AMOUNT, settled
    assert set(settled) <= {iin(751), iin(752)}


@pytest.mark.parametrize("records", ["none", "liquidated, no licence"])
def test_a_school_whose_records_are_missing_now_keeps_its_paid_months(country, records):
    """A record missing today (no licence, or a business-register standing without a date) says nothing about a
    month already paid: the student enrolled all along, withdrawn later, is repriced over the whole month — no
    claw-back of the days before the withdrawal."""
    school = country.school(registered=False)
    if records != "none":
        country.business(school, status="liquidated")
    gone = iin(741)
    country.enrol(gone, school.bin, grade=3, withdrawn=date(2026, 10, 21))  # 1–20 October
    _paid_october(country, school, [gone], [AMOUNT])
    november = _being_verified(country, school, earns=10 * AMOUNT)
    assert _settle(november) == {gone: AMOUNT * 20 // 31 - AMOUNT}


def test_two_acts_of_one_school_submitted_at_once_both_go_through(world, app, monkeypatch):
    """On PostgreSQL each submission's act lines hold KEY SHARE on their school's row; the settlement's FOR UPDATE
    of that row conflicted with the other's: one submission failed with "deadlock detected" every time. Here both
    transactions insert their lines, meet, and only then settle."""
    import threading

    from app.acts import adjustments
    from app.acts.operations import open_monthly_act, prefill_lines
    from app.engine.models import HumanTask
    from app.engine.runtime import complete_task
    from app.people.models import User
    from tests.helpers import school, user

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction waits for the database lock")
    org = school("Bilim Innovation School")
    october = db.session.scalars(select(Act).where(Act.school_id == org.id)).one()
    september = open_monthly_act(org, date(2026, 9, 1))
    db.session.commit()
    work = [(db.session.scalars(select(HumanTask.id).where(HumanTask.instance_id == act.instance_id,
                                                           HumanTask.status == "open")).one(), prefill_lines(act))
            for act in (september, october)]
    accountant_id, ids = user("accountant").id, (september.id, october.id)
    db.session.remove()
    both_wrote_their_lines = threading.Barrier(2, timeout=10)
    original = adjustments.settle

    def settle_when_both_are_here(*args, **kwargs):
        both_wrote_their_lines.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(adjustments, "settle", settle_when_both_are_here)
    outcomes: list[str] = []

    def submit(task_id, lines):
        with app.app_context():
            try:
                complete_task(task_id, db.session.get(User, accountant_id), data={"lines": lines, "note": ""})
                db.session.commit()
                outcomes.append("committed")
            except Exception as err:  # noqa: BLE001 - the test reports what happened
                db.session.rollback()
                outcomes.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=item) for item in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == ["committed", "committed"], outcomes
    assert {db.session.get(Act, i).status for i in ids} == {"verified"}


def test_a_claw_back_of_last_year_that_the_registry_corrects_back_is_paid_back_and_no_more(country):
    """A line of August clawed back on September; NEDB then cleared the withdrawal. The reversal was never paid
    (a top-up of a closed year is not paid): it is, up to what was clawed back."""
    school = country.school()
    august = _decided(country, school, date(2026, 8, 1), students=1)
    september = _decided(country, school, date(2026, 9, 1), students=0)
    line = august.lines[0]
    db.session.add(ActAdjustment(act_id=september.id, original_act_id=august.id, original_line_id=line.id,
                                 period=august.period, iin=line.iin, full_name=line.full_name, rule_code="withdrawn",
                                 original_amount_tiyn=AMOUNT, corrected_amount_tiyn=0, amount_tiyn=-AMOUNT,
                                 created_at=datetime(2026, 10, 5, tzinfo=UTC)))
    november = _being_verified(country, school, earns=10 * AMOUNT)
    db.session.flush()

    def corrected_back_and_more(rows):
        return {ln.id: Correction("nedb_corrected", 2 * AMOUNT, {"nedb": []}) for ln, _ in rows}

    settled = settle([november], _rows(august), corrected_back_and_more)
    assert [(a["month"], a["amount_tiyn"]) for a in settled[november.id]] == [("2026-08", AMOUNT)]


@pytest.mark.parametrize(("original", "corrected", "rule", "basic_days"), [
    # the licence ends on the 15th, the one that follows covers primary only
    (["primary,basic,secondary"], [(None, date(2026, 10, 15), "primary,basic,secondary"),
                                   (date(2026, 10, 16), None, "primary")], "enrolled_days", 15),
    # primary stays licensed all month; basic's own licence is now known to have ended on the 15th
    (["primary", "basic,secondary"], [(None, None, "primary"), (None, date(2026, 10, 15), "basic,secondary")],
     "enrolled_days", 15),
    # basic was never licensed: the record is corrected to primary only
    (["primary,basic,secondary"], [(None, None, "primary")], "level_not_covered", 0),
], ids=["level dropped with a new licence", "a level's own licence ended", "level removed"])
def test_a_licence_corrected_after_payment_claws_back_the_days_it_no_longer_covers_the_level(
        country, original, corrected, rule, basic_days):
    """October was paid in full to a basic (grade 5) and a primary (grade 3) pupil, both enrolled all month with
    one NEDB row. The licence registry is then corrected: basic was licensed only until 15 October (or not at
    all). November's act claws back the basic pupil's uncovered days — the same window the verification pays —
    and leaves the primary pupil, covered every day, alone."""
    school = country.school(registered=False)
    country.business(school)
    held = [country.licence(school, levels=levels, number=f"L{n}") for n, levels in enumerate(original)]
    basic, primary = iin(761), iin(762)
    country.enrol(basic, school.bin, grade=5)
    country.enrol(primary, school.bin, grade=3)
    october = country.act(school, [(basic, 5), (primary, 3)], period=date(2026, 10, 1), status="paid")
    for line in october.lines:
        line.outcome, line.paid_days = "accepted", 31
        line.amount_tiyn = NORMS["basic"] if line.grade == 5 else NORMS["primary"]
    october.amount_tiyn = NORMS["basic"] + NORMS["primary"]
    november = _being_verified(country, school, earns=10 * AMOUNT)
    assert _settle(november) == {}, "the licence covers October for every level: nothing owed"

    for licence in held:
        db.session.delete(licence)
    for n, (valid_from, valid_until, levels) in enumerate(corrected):
        country.licence(school, valid_from=valid_from or date(2020, 1, 1), valid_until=valid_until, levels=levels,
                        number=f"C{n}")
    assert _settle(november) == {basic: NORMS["basic"] * basic_days // 31 - NORMS["basic"]}
    assert [a.rule_code for a in adjustments.adjustments_of(november)] == [rule]
