"""The set-based pass (SQL) against the repricing (Python, ``app.acts.adjustments.reprice``) on small seeded worlds:
students with one to four NEDB rows at three private schools and a state school — transfers, re-enrolments, moves
between grades, rows withdrawn on their first day or dated backwards (withdrawn before enrolled, which a web service's
NEDB may send: it runs on no day), enrolments after the month — and licences covering part of the month for part of the
levels. Every line's rule and amount is the same by both, and the same per act in either order and month-wide;
with copies of students and design capacities, no day is paid twice and no day holds more pupils than places."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from app.acts.adjustments import covered_days, reprice
from app.acts.rules import level_for_grade
from app.acts.verification import school_contexts, verify_act, verify_acts
from app.extensions import db
from app.registry.adapter import TableStudentRegistry
from tests.registry.conftest import OCTOBER, iin

OCTOBER_END = date(2026, 10, 31)


def _results(acts) -> dict[int, tuple]:
    db.session.expire_all()
    return {ln.id: (ln.rule_code, ln.amount_tiyn, ln.paid_days) for act in acts for ln in act.lines}


def repriced(acts, students):
    """Each line of ``acts`` with what the repricing of a decided month finds for it (NEDB's rows of ``students``,
    the schools' licences and norms as the pass reads them): (act, line, found)."""
    enrolments = TableStudentRegistry().enrollments_for(students)
    contexts = {c.act_id: c for c in school_contexts(acts)}
    for act in acts:
        ctx = contexts[act.id]
        for line in act.lines:
            level = level_for_grade(line.grade)
            yield act, line, reprice(line, act, enrolments.get(line.iin, []), act.school.bin, ctx.norms.get(level, 0),
                                     ctx.level_days.get(level), level_covered=level in ctx.level_days,
                                     licence_gaps=ctx.level_gaps.get(level, frozenset()),
                                     liquidated_on=ctx.liquidated_on)


def _world(country, rng: random.Random, schools, students) -> None:
    state = country.state_bin()
    bins = [s.bin for s in schools] + [state]
    taken = set()
    for student in students:
        for _ in range(rng.choice((1, 2, 2, 3, 4))):
            where = rng.choice(bins)
            enrolled = date(2026, 9, 20) + timedelta(days=rng.randrange(50))
            if (student, where, enrolled) in taken:  # NEDB's natural key
                continue
            taken.add((student, where, enrolled))
            chance = rng.random()
            if chance < 0.4:
                withdrawn = None
            elif chance < 0.5:  # a row NEDB dates backwards (withdrawn before enrolled): it runs on no day
                withdrawn = enrolled - timedelta(days=rng.randrange(1, 30))
            else:
                withdrawn = enrolled + timedelta(days=rng.randrange(40))
            country.enrol(student, where, grade=rng.choice((4, 5, 6)), enrolled=enrolled, withdrawn=withdrawn,
                          kind="state" if where == state else "private")


def _same_in_every_mode(acts) -> dict[int, tuple]:
    for act in acts:
        verify_act(act)
    first = _results(acts)
    for act in reversed(acts):
        verify_act(act)
    assert _results(acts) == first
    verify_acts(acts)
    assert _results(acts) == first
    return first


@pytest.mark.parametrize("seed", range(4))
def test_every_line_is_decided_and_paid_as_the_repricing_says(country, seed):
    rng = random.Random(seed)
    schools = [country.school(capacity=None, registered=n < 2) for n in range(3)]
    country.business(schools[2])  # licensed for primary until the 12th, primary and basic from the 18th
    country.licence(schools[2], levels="primary", valid_until=date(2026, 10, 12), number="P")
    country.licence(schools[2], levels="primary,basic", valid_from=date(2026, 10, 18), number="PB")
    students = [iin(n) for n in range(1, 41)]
    _world(country, rng, schools, students)
    acts = [country.act(s, [(student, rng.choice((4, 5, 6))) for student in rng.sample(students, 20)])
            for s in schools]
    results = _same_in_every_mode(acts)
    for _act, line, found in repriced(acts, students):
        rule, amount, _days = results[line.id]
        if found.corrected_tiyn:
            assert (rule, amount) == (None, found.corrected_tiyn), (line.iin, found.evidence)
        else:
            assert rule == found.rule_code, (line.iin, found.evidence)


@pytest.mark.parametrize("seed", range(4))
def test_copies_and_capacity_never_pay_a_day_twice_or_beyond_the_places(country, seed):
    rng = random.Random(1000 + seed)
    schools = [country.school(capacity=rng.choice((None, 5, 8, 12))) for _ in range(3)]
    students = [iin(n) for n in range(1, 31)]
    _world(country, rng, schools, students)
    acts = []
    for s in schools:
        listed = rng.sample(students, 15)
        listed += rng.sample(listed, 6)  # copies, in any grade
        rng.shuffle(listed)
        acts.append(country.act(s, [(student, rng.choice((4, 5, 6))) for student in listed]))
    _same_in_every_mode(acts)
    enrolments = TableStudentRegistry().enrollments_for(students)
    days_paid = defaultdict(int)  # per student, over every school
    for act in acts:
        here = {st: [e for e in rows if e.school_bin == act.school.bin] for st, rows in enrolments.items()}
        paid = defaultdict(int)
        for line in act.lines:
            if line.rule_code is None:
                paid[line.iin] += line.paid_days
                days_paid[line.iin] += line.paid_days
        for student, days in paid.items():
            assert days <= covered_days(here[student], OCTOBER, OCTOBER_END), student
        if act.school.design_capacity is not None:
            accepted = {line.iin for line in act.lines if line.rule_code is None}
            for n in range(31):
                day = OCTOBER + timedelta(days=n)
                present = [st for st in accepted if covered_days(here[st], day, day)]
                assert len(present) <= act.school.design_capacity, day
    assert all(days <= 31 for days in days_paid.values())


@pytest.mark.parametrize("seed", range(4))
def test_norms_in_odd_tiyn_and_a_liquidation_within_the_month_are_paid_alike_by_both(country, seed, monkeypatch):
    """Norms whose tiyn no month's days divide (3,850,003 ₸·100 over 31 days) and a school liquidated on a day of the
    month: the pass (SQL, on SQLite and PostgreSQL) and the repricing (Python) round every line down to the same tiyn
    and stop paying on the same day."""
    from app.acts import terms
    from app.acts.terms import ActTerms
    from app.registry.models import BusinessRecord

    rng = random.Random(2000 + seed)
    schools = [country.school(capacity=None) for _ in range(3)]
    record = db.session.query(BusinessRecord).filter_by(bin=schools[1].bin).one()
    record.status, record.liquidated_on = "liquidated", date(2026, 10, rng.randrange(2, 32))
    db.session.flush()
    odd = (("primary", 3_850_003), ("basic", 4_230_007), ("secondary", 4_610_011))
    monkeypatch.setattr(terms, "_providers", [lambda act: ActTerms(norms_tiyn=odd)])
    students = [iin(n) for n in range(1, 41)]
    _world(country, rng, schools, students)
    acts = [country.act(s, [(student, rng.choice((4, 5, 6))) for student in rng.sample(students, 20)])
            for s in schools]
    results = _same_in_every_mode(acts)
    partial = 0
    for _act, line, found in repriced(acts, students):
        rule, amount, days = results[line.id]
        if found.corrected_tiyn:
            assert (rule, amount) == (None, found.corrected_tiyn), (line.iin, found.evidence)
            partial += days < 31
        else:
            assert rule == found.rule_code, (line.iin, found.evidence)
    assert partial, "some line is paid part of the month (the rounding is exercised)"
