"""The reconciliation's re-pricing of a decided month (``unsettled_in_month``) leaves most lines out in SQL — a line
paid for the whole month of a student NEDB has in one row only, at the school, since before the month, in the grade
paid, never adjusted, of a school not liquidated by the month's end and whose licences cover the month — because
today's NEDB prices it as it was paid. That narrowing is only a shortcut: the same month priced line by line, every
line (the registry without the NEDB table), lists exactly the same corrections, amounts, rules, carried and
time-barred flags, in the same order. A differential test on a hand-made month of every shape, for a next act of the
next month, of a closed year (top-ups carried) and beyond the look-back (claw-backs time-barred)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.acts.adjustments import _candidate_lines, unsettled_in_month
from app.acts.models import Act, ActAdjustment
from app.extensions import db
from app.people.models import Organisation
from app.registry.adapter import TableEnrolments, TableStudentRegistry
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, NedbIinMerge
from tests.registry.conftest import NORMS, OCTOBER, YEAR_START, iin

AMOUNT = NORMS["basic"]  # grade 5, the whole of October


class _EveryLine(TableEnrolments):
    """The same NEDB rows, without ``table_name``: nothing is left out in SQL, every decided line is priced."""


def _decided(country, school, lines, status="paid") -> Act:
    """``lines``: (student, grade, outcome, paid days, rule) of a decided October act of ``school``."""
    act = country.act(school, [(student, grade) for student, grade, *_ in lines], status=status)
    for line, (_, _, outcome, days, rule) in zip(act.lines, lines, strict=True):
        line.outcome, line.paid_days, line.rule_code = outcome, days, rule
        line.amount_tiyn = AMOUNT * days // 31 if outcome == "accepted" else 0
    act.amount_tiyn = sum(line.amount_tiyn for line in act.lines)
    db.session.flush()
    return act


def _month_of_every_shape(country) -> list[int]:
    school, liquidated, licensed, other = (country.school(name) for name in ("Shapes", "Liquidated", "Short", "Else"))
    n = iter(range(700, 800))
    whole, left, part, regraded, double, twice, missing, topped, clawed, late = (iin(next(n)) for _ in range(10))
    retired, survivor, moved, joined = (iin(next(n)) for _ in range(4))
    country.enrol(moved, other.bin, grade=5, enrolled=date(2025, 9, 1))  # NEDB's one row is at another school now
    country.enrol(joined, school.bin, grade=5, enrolled=date(2026, 10, 12))  # one row, from the 12th
    for student in (whole, left, part, regraded, double, twice, topped, clawed, late):
        country.enrol(student, school.bin, grade=5, enrolled=date(2025, 9, 1),
                      withdrawn=date(2026, 10, 15) if student == left else None)
    country.enrol(late, other.bin, grade=5, enrolled=date(2025, 9, 1), withdrawn=date(2026, 10, 10))
    db.session.query(NedbEnrollment).filter_by(iin=late, school_bin=school.bin) \
        .update({"enrolled_on": date(2026, 10, 10)})
    country.enrol(regraded, other.bin, grade=6, enrolled=date(2024, 9, 1), withdrawn=date(2025, 6, 1))
    db.session.query(NedbEnrollment).filter_by(iin=regraded, school_bin=school.bin).update({"grade": 6})
    country.enrol(double, other.bin, grade=5, enrolled=date(2026, 10, 20))  # at two schools from the 20th
    country.enrol(twice, school.bin, grade=4, enrolled=date(2024, 9, 1), withdrawn=date(2025, 6, 1))  # a row before
    country.enrol(survivor, school.bin, grade=5, enrolled=date(2025, 9, 1))
    db.session.add(NedbIinMerge(retired_iin=retired, surviving_iin=survivor))
    # (the retired IIN's line priced as the survivor's; not both copies in one act: which copy a duplicate_line keeps
    # depends on which the repricing looks at — app.acts.adjustments._merged_copies —, so there the two ways differ)
    shapes = _decided(country, school, [
        (whole, 5, "accepted", 31, None), (left, 5, "accepted", 31, None), (part, 5, "accepted", 20, None),
        (regraded, 5, "accepted", 31, None), (double, 5, "accepted", 31, None), (twice, 5, "accepted", 31, None),
        (missing, 5, "accepted", 31, None), (topped, 5, "excluded", 0, "not_in_nedb"),
        (clawed, 5, "accepted", 31, None), (late, 5, "accepted", 31, None),
        (retired, 5, "accepted", 31, None), (moved, 5, "accepted", 31, None), (joined, 5, "accepted", 31, None)])
    # ``clawed`` was clawed back on November's act; NEDB has it back for the whole month (reversed)
    november = country.act(school, [(iin(next(n)), 5)], period=date(2026, 11, 1), status="paid")
    line = next(ln for ln in shapes.lines if ln.iin == clawed)
    db.session.add(ActAdjustment(act_id=november.id, original_act_id=shapes.id, original_line_id=line.id,
                                 period=OCTOBER, iin=clawed, full_name=line.full_name, rule_code="withdrawn",
                                 original_amount_tiyn=AMOUNT, corrected_amount_tiyn=0, amount_tiyn=-AMOUNT,
                                 evidence={}, created_at=datetime(2026, 11, 20, tzinfo=UTC)))
    # liquidated on 20 October (the business register's date, known after payment)
    gone = [iin(next(n)) for _ in range(2)]
    for student in gone:
        country.enrol(student, liquidated.bin, grade=5, enrolled=YEAR_START)
    _decided(country, liquidated, [(student, 5, "accepted", 31, None) for student in gone])
    db.session.query(BusinessRecord).filter_by(bin=liquidated.bin).update({"liquidated_on": date(2026, 10, 20)})
    # the licence now ends on 15 October, for the basic level only
    short = [iin(next(n)) for _ in range(2)]
    for student in short:
        country.enrol(student, licensed.bin, grade=5, enrolled=YEAR_START)
    _decided(country, licensed, [(short[0], 5, "accepted", 31, None), (short[1], 2, "accepted", 31, None)])
    db.session.query(Licence).filter_by(bin=licensed.bin).update({"levels": "primary,secondary"})
    country.licence(licensed, valid_from=date(2020, 1, 1), valid_until=date(2026, 10, 15), levels="basic",
                    number=f"KZ-{licensed.bin}-short")
    # an excluded line at the other school NEDB still does not have there: nothing to top up
    _decided(country, other, [(iin(next(n)), 5, "excluded", 0, "not_in_nedb")])
    db.session.commit()
    return sorted({school.id, liquidated.id, licensed.id, other.id})


def _listed(probes, registry) -> list[tuple]:
    return [(u.line.id, u.original.id, u.amount_tiyn, u.correction.rule_code, u.correction.corrected_tiyn, u.carried,
             u.time_barred) for u in unsettled_in_month(probes, OCTOBER, (), registry)]


@pytest.mark.parametrize("next_act", [date(2026, 12, 1), date(2027, 9, 1), date(2028, 10, 1)],
                         ids=["next-month", "closed-year", "beyond-look-back"])
def test_the_months_lines_left_out_in_sql_change_nothing_the_line_by_line_pricing_lists(country, next_act):
    schools = _month_of_every_shape(country)
    probes = [Act(school_id=school_id, period=next_act) for school_id in schools]
    narrowed = _listed(probes, TableStudentRegistry())
    assert narrowed == _listed(probes, _EveryLine())
    # not vacuous: lines were left out, and corrections of many kinds are listed
    candidates = _candidate_lines(probes, TableStudentRegistry(), OCTOBER, date(2026, 11, 1))
    assert 0 < len(candidates) < len(_candidate_lines(probes, _EveryLine(), OCTOBER, date(2026, 11, 1)))
    assert len({rule for _, _, _, rule, *_ in narrowed}) >= 5, narrowed
    if next_act == date(2027, 9, 1):
        assert any(carried for *_, carried, _ in narrowed), narrowed
    if next_act == date(2028, 10, 1):
        assert any(barred for *_, barred in narrowed), narrowed


def test_the_months_repricing_reads_as_many_statements_for_five_schools_as_for_two(country):
    """Guard (N+1): the re-pricing of a month for every school at once read each act's school on its own (a lazy
    load of ``Act.school`` per act in school_contexts and the pricing: 825 statements for the country's month) —
    the schools are read in one look-up, so more schools read no more statements."""
    from tests.test_query_budget import counting

    n = iter(range(900, 1000))
    schools = []

    def add_school(name: str) -> None:
        school = country.school(name)
        student = iin(next(n))
        country.enrol(student, school.bin, grade=5, enrolled=YEAR_START, withdrawn=date(2026, 10, 15))
        _decided(country, school, [(student, 5, "accepted", 31, None), (iin(next(n)), 5, "accepted", 31, None)])
        schools.append(school.id)

    def statements() -> tuple[int, int]:
        db.session.commit()
        for loaded in [obj for obj in db.session if isinstance(obj, Organisation)]:
            db.session.expunge(loaded)  # as a request starts: no school loaded
        db.session.expire_all()
        probes = [Act(school_id=school_id, period=date(2026, 12, 1)) for school_id in schools]
        with counting() as sql:
            listed = unsettled_in_month(probes, OCTOBER, (), TableStudentRegistry())
        return sql.count, len(listed)

    for name in ("Two A", "Two B"):
        add_school(name)
    two, listed_two = statements()
    for name in ("Five C", "Five D", "Five E"):
        add_school(name)
    five, listed_five = statements()
    assert (listed_two, listed_five) == (4, 10)  # a withdrawal and a pupil NEDB lacks at every school: not vacuous
    assert five == two, f"2 schools: {two} statements, 5 schools: {five}"
