"""A dormitory line under the IIN NEDB retired (app.registry.merges), once the student registry lists the child only
under the surviving IIN: the child is one student under either IIN, so the place is paid as under the surviving one —
it was excluded as ``student_not_found`` (a legitimate resident left unpaid) — and a paid month is not clawed back
when the next act is settled."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from app.dormitories.models import StudentEnrolment
from app.extensions import db
from app.registry.identifiers import complete_12
from app.registry.models import NedbIinMerge
from tests.dormitories.test_rule_edges import _lines, _rate, _verify


def _retire(line: dict) -> dict:
    """The line's child under a second IIN NEDB retired into the line's IIN; the student registry knows only the
    surviving IIN (its rows were never under the retired one, or were moved)."""
    retired = next(v for n in range(9000, 9100) if (v := complete_12(f"0603{n:04d}5012"[:11])) and v != line["iin"])
    assert db.session.scalar(select(StudentEnrolment.id).where(StudentEnrolment.iin == retired)) is None
    db.session.add(NedbIinMerge(retired_iin=retired, surviving_iin=line["iin"]))
    db.session.flush()
    return dict(line, iin=retired)


def test_a_place_claimed_under_the_retired_iin_is_paid_as_the_surviving_child(dorm_year):
    lines = _lines(dorm_year)
    lines[3] = _retire(lines[3])
    summary, rows = _verify(dorm_year, lines)
    # enrolled full-time the whole of October (31 days) under the surviving IIN: the month's rate, as every other line
    assert rows[3] == (None, 31, _rate(dorm_year))
    assert summary.by_rule == {}


def test_a_place_paid_under_the_retired_iin_is_not_clawed_back_when_the_registry_moves_to_the_surviving_one(
        dorm_year):
    """October paid a place under the IIN the student registry then listed; the registry's next file lists the child
    under the IIN NEDB kept. The child was there every day: nothing to claw back (it was the whole month's rate)."""
    from app.acts.models import Act
    from app.dormitories.adjustments import unsettled_dormitory_corrections

    lines = _lines(dorm_year)
    survivor = lines[3]["iin"]
    lines[3] = _retire(lines[3])
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == survivor)
                       .values(iin=lines[3]["iin"]))  # the registry's file of October: the retired IIN
    summary, rows = _verify(dorm_year, lines)
    assert rows[3] == (None, 31, _rate(dorm_year))
    act = db.session.scalars(select(Act).where(Act.period == date(2027, 10, 1), Act.instrument == "dormitory",
                                               Act.school_id == dorm_year["orgs"]["dorm_a"].id)).one()
    act.status = "paid"
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == lines[3]["iin"])
                       .values(iin=survivor))  # November's file: the surviving IIN
    db.session.flush()
    assert [(u.line.iin, u.amount_tiyn) for u in unsettled_dormitory_corrections(dorm_year["orgs"]["dorm_a"])] == []


def test_a_child_enrolled_under_the_retired_iin_then_the_surviving_one_is_paid_every_day_once(dorm_year):
    """The registry lists the child under the retired IIN until the 15th and under the surviving IIN from the 16th
    (re-registered mid-month): the place, claimed under the retired IIN, is occupied and enrolled all 31 days — it
    was paid the first 15 (rate × 15 ÷ 31) only."""
    lines = _lines(dorm_year)
    survivor = lines[3]["iin"]
    lines[3] = _retire(lines[3])
    (row,) = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == survivor))
    db.session.add(StudentEnrolment(iin=lines[3]["iin"], full_name=row.full_name, institution_bin=row.institution_bin,
                                    course=row.course, study_form=row.study_form, home_region=row.home_region,
                                    enrolled_on=row.enrolled_on, withdrawn_on=date(2027, 10, 16)))
    row.enrolled_on = date(2027, 10, 16)
    db.session.flush()
    _summary, rows = _verify(dorm_year, lines)
    assert rows[3] == (None, 31, _rate(dorm_year))


def test_a_place_claimed_under_the_surviving_iin_is_paid_while_the_registry_still_lists_the_retired_one(dorm_year):
    """The other way round: the registry's file predates the merge (the child's row under the IIN NEDB retired), the
    dormitory claims the surviving IIN — the month's rate; it was ``student_not_found``."""
    lines = _lines(dorm_year)
    survivor = lines[3]["iin"]
    retired = _retire(lines[3])["iin"]
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == survivor).values(iin=retired))
    _summary, rows = _verify(dorm_year, lines)
    assert rows[3] == (None, 31, _rate(dorm_year))
