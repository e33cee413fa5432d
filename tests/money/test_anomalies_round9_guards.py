"""Guards (right when written, round 9): seeded worlds probing the classes of registry dates that held.

* February of a leap year (2028), of a common year (2027), months of 30 and 31 days, with licences ending and
  starting inside the month, a school liquidated on a day of it, norms in odd tiyn and NEDB rows dated backwards: the
  set-based pass (per act and month-wide) and the repricing of decided months give every line the same rule and amount.
* The contract's places per level counted day by day in February 2028, with pupils moved up a grade mid-month and
  listed in two grades: no day of the month holds more pupils of a level than its places.
* Seven months of acts with NEDB corrected between them (dates moved, withdrawals entered and taken back, a pupil moved
  to the other school, a grade corrected, a re-enrolment, a licence revoked and re-issued), some acts returned or left
  waiting and verified later: what each decided line was paid, with everything settled for it since, is what today's
  NEDB prices it at."""

from __future__ import annotations

import random
from calendar import monthrange
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.acts import terms
from app.acts.adjustments import _school_repricing, covered_days, reprice, settle_adjustments
from app.acts.models import Act, ActAdjustment, ActLine, StudentNorm
from app.acts.rules import level_for_grade
from app.acts.terms import ActTerms
from app.acts.topups import LIFTABLE_RULES
from app.acts.verification import academic_year, school_contexts, verify_act, verify_acts
from app.extensions import db
from app.registry.adapter import TableStudentRegistry, handed_over
from app.registry.models import BusinessRecord, Licence, NedbEnrollment
from tests.registry.conftest import iin

ODD = {"primary": 3_850_003, "basic": 4_230_007, "secondary": 4_610_011}


def _results(acts) -> dict[int, tuple]:
    db.session.expire_all()
    return {ln.id: (ln.rule_code, ln.amount_tiyn, ln.paid_days) for act in acts for ln in act.lines}


def _norms_of(period: date) -> None:
    if academic_year(period) != "2026/2027":  # the country's norms are 2026/2027's
        db.session.add_all([StudentNorm(academic_year=academic_year(period), level=k, monthly_tiyn=v)
                            for k, v in ODD.items()])


def _same_per_act_and_month_wide(acts) -> dict[int, tuple]:
    for act in acts:
        verify_act(act)
    first = _results(acts)
    for act in reversed(acts):
        verify_act(act)
    assert _results(acts) == first
    verify_acts(acts)
    assert _results(acts) == first
    return first


def _enrol_at_random(country, rng, students, bins, state, around: date, span: int, grades=(4, 5, 6)) -> None:
    taken = set()
    for student in students:
        for k in range(rng.choice((1, 2, 2, 3))):
            where = rng.choice(bins)
            enrolled = around - timedelta(days=15) + timedelta(days=rng.randrange(span + 20))
            if (student, where, enrolled) in taken:  # NEDB's natural key
                continue
            taken.add((student, where, enrolled))
            chance = rng.random()
            withdrawn = (None if chance < 0.4 else enrolled - timedelta(days=rng.randrange(0, 30)) if chance < 0.5
                         else enrolled + timedelta(days=rng.randrange(40)))
            country.enrol(student, where, grade=grades[k % len(grades)] if len(grades) < 3 else rng.choice(grades),
                          enrolled=enrolled, withdrawn=withdrawn, kind="state" if where == state else "private")


@pytest.mark.parametrize("period", [date(2028, 2, 1), date(2027, 2, 1), date(2027, 4, 1), date(2026, 11, 1),
                                    date(2027, 1, 1)])
@pytest.mark.parametrize("seed", range(2))
def test_every_day_count_of_the_pass_is_the_repricing_s_in_every_month_length(country, period, seed):
    rng = random.Random(seed * 100 + period.month)
    end = period.replace(day=monthrange(period.year, period.month)[1])
    _norms_of(period)
    schools = [country.school(capacity=None, registered=n < 2) for n in range(3)]
    country.business(schools[2])  # primary until one day of the month, primary and basic from another
    days = sorted(period + timedelta(days=rng.randrange(end.day)) for _ in range(2))
    country.licence(schools[2], levels="primary", valid_until=days[0], number="P")
    country.licence(schools[2], levels="primary,basic", valid_from=days[1], number="PB")
    record = db.session.query(BusinessRecord).filter_by(bin=schools[1].bin).one()
    record.status, record.liquidated_on = "liquidated", period + timedelta(days=rng.randrange(1, end.day))
    state = country.state_bin()
    students = [iin(n) for n in range(1, 41)]
    _enrol_at_random(country, rng, students, [s.bin for s in schools] + [state], state, period, end.day)
    acts = [country.act(s, [(st, rng.choice((4, 5, 6))) for st in rng.sample(students, 20)], period=period)
            for s in schools]
    results = _same_per_act_and_month_wide(acts)
    enrolments = {k: handed_over(v) for k, v in TableStudentRegistry().enrollments_for(students).items()}
    contexts = {c.act_id: c for c in school_contexts(acts)}
    for act in acts:
        ctx = contexts[act.id]
        for line in act.lines:
            level = level_for_grade(line.grade)
            found = reprice(line, act, enrolments.get(line.iin, []), act.school.bin, ctx.norms.get(level, 0),
                            ctx.level_days.get(level), level_covered=level in ctx.level_days,
                            licence_gaps=ctx.level_gaps.get(level, frozenset()), liquidated_on=ctx.liquidated_on)
            rule, amount, _days = results[line.id]
            if ctx.school_rule:
                assert (rule, amount) == (ctx.school_rule, 0)
            elif found.corrected_tiyn:
                assert (rule, amount) == (None, found.corrected_tiyn), (line.iin, found.evidence)
            else:
                assert rule == found.rule_code, (line.iin, found.evidence)


@pytest.mark.parametrize("seed", range(4))
def test_places_per_level_are_counted_day_by_day_in_a_leap_february(country, seed, monkeypatch):
    rng = random.Random(3000 + seed)
    february, end = date(2028, 2, 1), date(2028, 2, 29)
    _norms_of(february)
    places = {"primary": rng.randrange(1, 5), "basic": rng.randrange(1, 5), "secondary": 0}
    monkeypatch.setattr(terms, "_providers", [lambda act: ActTerms(
        allowed_grades=frozenset(range(1, 10)), design_capacity=6, places_by_level=tuple(places.items()))])
    schools = [country.school(capacity=None) for _ in range(2)]
    state = country.state_bin()
    students = [iin(n) for n in range(1, 26)]
    for student in students:  # a pupil's rows in two grades, one above the other: moved up a grade mid-month
        base = rng.choice((3, 4, 5))
        _enrol_at_random(country, rng, [student], [s.bin for s in schools] + [state], state, february, 29,
                         grades=(base, base + 1))
    acts = []
    for school in schools:
        lines = [(st, rng.choice((3, 4, 5, 6))) for st in rng.sample(students, 15)]
        lines += [(st, grade + 1) for st, grade in rng.sample(lines, 4)]  # listed in two grades
        rng.shuffle(lines)
        acts.append(country.act(school, lines, period=february))
    _same_per_act_and_month_wide(acts)
    enrolments = {k: handed_over(v) for k, v in TableStudentRegistry().enrollments_for(students).items()}
    for act in acts:
        here = {st: [e for e in rows if e.school_bin == act.school.bin] for st, rows in enrolments.items()}
        paid: dict[str, int] = defaultdict(int)
        for line in (ln for ln in act.lines if ln.rule_code is None):
            paid[line.iin] += line.paid_days
        assert all(days <= covered_days(here[st], february, end) for st, days in paid.items())
        for n in range(29):
            day = february + timedelta(days=n)
            held: dict[str, int] = defaultdict(int)
            for line in act.lines:
                if line.rule_code is None and covered_days(here[line.iin], day, day, grade=line.grade):
                    held[level_for_grade(line.grade)] += 1
            assert all(count <= places[level] for level, count in held.items()), (day, held)


MONTHS = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1),
          date(2027, 2, 1), date(2027, 3, 1)]


def _correct_nedb(country, rng, moving, schools) -> None:
    """One registry correction of a pupil who moves about."""
    a, b = schools
    row = rng.choice(db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin.in_(moving))).all())
    what = rng.random()
    if what < 0.4:
        row.enrolled_on = date(2026, 8, 20) + timedelta(days=rng.randrange(200))
    elif what < 0.8:
        row.withdrawn_on = None if rng.random() < 0.3 else row.enrolled_on + timedelta(days=rng.randrange(1, 150))
    elif what < 0.87:
        row.school_bin = a.bin if row.school_bin == b.bin else b.bin
    elif what < 0.93:
        row.grade = rng.choice((4, 5, 6))
    else:
        start = date(2026, 8, 20) + timedelta(days=rng.randrange(200))
        if db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == row.iin,
                                                           NedbEnrollment.school_bin == row.school_bin,
                                                           NedbEnrollment.enrolled_on == start)).first() is None:
            country.enrol(row.iin, row.school_bin, grade=5, enrolled=start,
                          withdrawn=None if rng.random() < 0.5 else start + timedelta(days=rng.randrange(1, 90)))
    db.session.flush()


def _verify_and_settle(act, status: str = "paid"):
    act.status = "verified"
    verify_acts([act])
    settle_adjustments([act])
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    act.status = status
    db.session.flush()
    return act


@pytest.mark.parametrize("seed", range(6))
def test_what_a_decided_line_was_paid_and_settled_since_is_what_nedb_prices_it_at_today(country, seed):
    rng = random.Random(4000 + seed)
    schools = (country.school(capacity=13), country.school(capacity=12))
    stable = {}  # ten pupils at each school all year: every act has room for the claw-backs
    for n, school in enumerate(schools):
        stable[school.id] = [iin(100 * (n + 1) + k) for k in range(10)]
        for student in stable[school.id]:
            country.enrol(student, school.bin, grade=5, enrolled=date(2025, 9, 1))
    moving = [iin(n) for n in range(1, 9)]
    for student in moving:
        country.enrol(student, rng.choice(schools).bin, grade=5,
                      enrolled=date(2026, 9, 1) + timedelta(days=rng.randrange(120)),
                      withdrawn=None if rng.random() < 0.5 else date(2026, 11, 1) + timedelta(days=rng.randrange(120)))
    pending = []
    for month in MONTHS:
        for _ in range(rng.randrange(3)):
            _correct_nedb(country, rng, moving, schools)
        if rng.random() < 0.1:  # the school's licence revoked from a day, another issued later
            licence = db.session.scalars(select(Licence).where(Licence.bin == schools[1].bin)).first()
            licence.valid_until = date(2026, 9, 1) + timedelta(days=rng.randrange(150))
            country.licence(schools[1], valid_from=licence.valid_until + timedelta(days=rng.randrange(1, 20)),
                            number=f"L-{month:%Y%m}")
        for school in schools:
            act = country.act(school, [(s, 5) for s in stable[school.id] + rng.sample(moving, 5)], period=month)
            left = rng.random() < 0.35  # returned, or waiting for the department: verified again later
            act = _verify_and_settle(act, rng.choice(("verified", "returned")) if left else "paid")
            if left:
                pending.append(act)
        if pending and rng.random() < 0.6:
            _verify_and_settle(pending.pop(rng.randrange(len(pending))))
    for act in pending:
        _verify_and_settle(db.session.get(Act, act.id))
    for school in schools:  # April's acts settle what the last corrections left
        _verify_and_settle(country.act(school, [(s, 5) for s in stable[school.id]], period=date(2027, 4, 1)))
    rows = [(line, act) for line, act in db.session.execute(
        select(ActLine, Act).join(Act, Act.id == ActLine.act_id).where(Act.period < MONTHS[-1])).all()
        if line.outcome == "accepted" or line.rule_code in LIFTABLE_RULES]
    today = _school_repricing(TableStudentRegistry())(rows)
    settled: dict[int, int] = defaultdict(int)
    for adjustment in db.session.scalars(select(ActAdjustment)):
        settled[adjustment.original_line_id] += adjustment.amount_tiyn
    wrong = [(act.period, line.iin, line.rule_code, line.amount_tiyn, settled[line.id], today[line.id])
             for line, act in rows if line.amount_tiyn + settled[line.id] != today[line.id].corrected_tiyn]
    assert not wrong, wrong[:3]
