"""The look-ups of app/acts/topups.py on their own, edge by edge — written for the survivors of the mutation run of
the module (benchmarks/MUTATION.md, eighth round): ``excluded_lines_clause``, the pre-filter of the excluded lines a
registry correction may bring back (narrowed, a top-up owed was never looked at; widened past its rules, a line the
official excluded or a copy of a line came back to a repricing that does not check the rule), and the chunked sums
``settled_for`` and ``paid_students`` (every chunk read, nothing but what was asked, a returned act's aside)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.acts import topups
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.topups import LIFTABLE_RULES, excluded_lines_clause, paid_students, settled_for
from app.extensions import db
from tests.registry.conftest import Country, iin

SEPTEMBER, OCTOBER = date(2026, 9, 1), date(2026, 10, 1)
OCTOBER_ENDS = {OCTOBER: date(2026, 10, 31), SEPTEMBER: date(2026, 9, 30)}


def _excluded(country: Country, school, period: date, students: list[tuple[str, str]], grade: int = 3) -> list:
    act = country.act(school, [(s, grade) for s, _ in students], period=period, status="paid")
    lines = sorted(act.lines, key=lambda ln: ln.line_no)
    for line, (_, rule) in zip(lines, students, strict=True):
        line.outcome, line.rule_code, line.amount_tiyn = "excluded", rule, 0
    db.session.flush()
    return lines


def _adjust(line: ActLine, on: Act, amount: int) -> None:
    db.session.add(ActAdjustment(act_id=on.id, original_act_id=line.act_id, original_line_id=line.id,
                                 period=line.period, iin=line.iin, full_name=line.full_name,
                                 rule_code="registry_corrected_in_favour", original_amount_tiyn=line.amount_tiyn,
                                 corrected_amount_tiyn=amount, amount_tiyn=amount,
                                 created_at=datetime(2026, 11, 5, tzinfo=UTC)))
    db.session.flush()


def _back(top_up_from: date, month_ends) -> set[int]:
    return set(db.session.scalars(select(ActLine.id).where(excluded_lines_clause(top_up_from, month_ends))))


def test_only_lines_excluded_by_a_liftable_rule_from_the_top_up_month_on_come_back(country):
    school = country.school()
    rules = [*LIFTABLE_RULES, "iin_checksum", "duplicate_line", "review_excluded", "no_licence", "over_capacity",
             "over_contracted_places", "no_business_record", "non_education_org"]
    october = _excluded(country, school, OCTOBER, [(iin(100 + n), rule) for n, rule in enumerate(rules)])
    september = _excluded(country, school, SEPTEMBER, [(iin(200), "withdrawn"), (iin(201), "withdrawn")])
    accepted = country.act(school, [(iin(300), 3)], period=date(2026, 11, 1), status="paid").lines[0]
    accepted.outcome, accepted.rule_code = "accepted", None
    db.session.flush()
    liftable = {ln.id for ln in october if ln.rule_code in LIFTABLE_RULES}
    assert len(liftable) == len(LIFTABLE_RULES) == 9

    assert _back(OCTOBER, None) == liftable, "not before the top-up month, not by another rule, not accepted"
    assert _back(SEPTEMBER, None) == liftable | {ln.id for ln in september}, "from its first day on"
    # a line of a month before the window comes back once adjusted (a correction back claws the top-up back)
    december = country.act(school, [(iin(400), 3)], period=date(2026, 12, 1), status="verified")
    _adjust(september[0], december, 1_000)
    assert _back(OCTOBER, None) == liftable | {september[0].id}


def test_with_the_nedb_table_only_a_line_nedb_now_has_here_in_its_month_and_grade_comes_back(country):
    school, other = country.school(), country.school("Other")
    cases = {  # student: (enrolled, withdrawn, grade, school) of NEDB's row today; comes back?
        "whole month": ((date(2026, 9, 1), None, 3, school), True),
        "enrolled on the month's last day": ((date(2026, 10, 31), None, 3, school), True),
        "enrolled after the month": ((date(2026, 11, 1), None, 3, school), False),
        "withdrawn on the 2nd": ((date(2026, 9, 1), date(2026, 10, 2), 3, school), True),
        "withdrawn on the 1st": ((date(2026, 9, 1), date(2026, 10, 1), 3, school), False),
        "a row withdrawn the day it began": ((date(2026, 9, 1), date(2026, 9, 1), 3, school), False),
        "in another grade": ((date(2026, 9, 1), None, 4, school), False),
        "at another school": ((date(2026, 9, 1), None, 3, other), False),
    }
    students = {name: iin(500 + n) for n, name in enumerate(cases)}
    for name, ((enrolled, withdrawn, grade, at), _) in cases.items():
        if name == "a row withdrawn the day it began":
            # withdrawn after the month's first day, but a row that never ran: no day here at all
            enrolled, withdrawn = date(2026, 10, 5), date(2026, 10, 5)
        country.enrol(students[name], at.bin, grade=grade, enrolled=enrolled, withdrawn=withdrawn)
    lines = _excluded(country, school, OCTOBER, [(students[name], "withdrawn") for name in cases]
                      + [(iin(599), "not_in_nedb")])
    by_name = dict(zip([*cases, "not in NEDB at all"], lines, strict=True))

    expected = {by_name[name].id for name, (_, back) in cases.items() if back}
    assert _back(OCTOBER, OCTOBER_ENDS) == expected
    # already adjusted: back whatever NEDB says (its top-up may have to be clawed back)
    november = country.act(school, [(iin(600), 3)], period=date(2026, 11, 1), status="verified")
    _adjust(by_name["not in NEDB at all"], november, 1_000)
    assert _back(OCTOBER, OCTOBER_ENDS) == expected | {by_name["not in NEDB at all"].id}
    # no month looked at: only the lines adjusted before
    assert _back(OCTOBER, {}) == {by_name["not in NEDB at all"].id}


@pytest.mark.parametrize("chunk", [1, 2, 900])
def test_what_was_settled_is_summed_per_line_asked_for_in_every_chunk_a_returned_acts_aside(country, monkeypatch,
                                                                                            chunk):
    monkeypatch.setattr(topups, "_CHUNK", chunk)
    school = country.school()
    lines = _excluded(country, school, OCTOBER, [(iin(700 + n), "withdrawn") for n in range(4)])
    november = country.act(school, [(iin(800), 3)], period=date(2026, 11, 1), status="paid")
    returned = country.act(school, [(iin(801), 3)], period=date(2026, 12, 1), status="returned")
    january = country.act(school, [(iin(802), 3)], period=date(2027, 1, 1), status="accepted")
    _adjust(lines[0], november, 1_000)
    _adjust(lines[0], january, 500)
    _adjust(lines[1], november, 2_000)
    _adjust(lines[1], returned, 7_000)  # not settled: the returned act settles anew when verified again
    _adjust(lines[2], returned, 3_000)
    _adjust(lines[3], november, 4_000)  # settled, but not asked for

    assert settled_for([lines[0].id, lines[1].id, lines[2].id]) == {lines[0].id: 1_500, lines[1].id: 2_000}
    assert settled_for([]) == {}


@pytest.mark.parametrize("chunk", [1, 900])
def test_the_students_paid_for_now_are_those_of_the_acts_asked_for_each_once(country, monkeypatch, chunk):
    monkeypatch.setattr(topups, "_CHUNK", chunk)
    school = country.school()
    paid, topped, clawed, copy, never = iin(901), iin(902), iin(903), iin(901), iin(904)
    october = country.act(school, [(paid, 3), (topped, 7), (clawed, 10), (copy, 3), (never, 3)], status="paid")
    lines = sorted(october.lines, key=lambda ln: ln.line_no)
    for line, (outcome, amount) in zip(lines, [("accepted", 100), ("excluded", 0), ("accepted", 100),
                                               ("accepted", 100), ("excluded", 0)], strict=True):
        line.outcome, line.amount_tiyn = outcome, amount
    other = country.act(school, [(iin(905), 3)], period=SEPTEMBER, status="paid")
    other.lines[0].outcome, other.lines[0].amount_tiyn = "accepted", 100
    november = country.act(school, [(iin(906), 3)], period=date(2026, 11, 1), status="paid")
    db.session.flush()
    _adjust(lines[1], november, 50)  # an excluded line topped up holds a place
    _adjust(lines[2], november, -100)  # an accepted line clawed back in full gives it up

    found = paid_students([october.id])
    assert {act: {level: sorted(s) for level, s in levels.items()} for act, levels in found.items()} == {
        october.id: {"primary": [paid], "basic": [topped]}}
    assert set(paid_students([october.id, other.id])) == {october.id, other.id}
