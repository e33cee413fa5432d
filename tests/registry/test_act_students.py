"""An act keeps its distinct students beside its line totals — claimed (every line) and paid for (accepted lines) —
written by verification wherever it runs (one act, the month-wide pass, an official's exclusion of a line): a
student on two lines is one student. The analytics flags read them instead of counting the year's lines."""

from __future__ import annotations

from app.acts.models import Act
from app.acts.review import decide_line
from app.acts.verification import verify_act
from app.extensions import db
from app.reports.operations import run_month_verification, start_month_verification
from tests.registry.conftest import OCTOBER, iin
from tests.registry.test_pages import department_official


def _counts(act: Act) -> tuple[int, int, int, int]:
    db.session.refresh(act)
    return act.total_lines, act.total_students, act.accepted_lines, act.accepted_students


def test_verifying_an_act_stores_its_students_and_a_student_on_two_lines_counts_once(country):
    school = country.school()
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin)
    # iin(1) listed twice (the copy is excluded as a duplicate line); iin(7) is not in NEDB
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(1), 5), (iin(7), 5)])
    summary = verify_act(act)
    assert (summary.students, summary.accepted_students) == (3, 2)
    assert _counts(act) == (4, 3, 2, 2)


def test_the_month_wide_pass_stores_every_acts_students(country):
    school, other = country.school("Here"), country.school("There")
    for n in (1, 2, 3):
        country.enrol(iin(n), school.bin)
    country.enrol(iin(4), other.bin)
    here = country.act(school, [(iin(1), 5), (iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5)])
    there = country.act(other, [(iin(4), 5), (iin(4), 5)])
    db.session.commit()
    assert _counts(here) == (0, 0, 0, 0)  # not verified yet
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert _counts(here) == (5, 4, 3, 3)  # iin(4) is another school's student: claimed, not paid
    assert _counts(there) == (2, 1, 1, 1)


def test_an_officials_exclusion_of_a_line_updates_the_students_paid_for(country):
    school = country.school("Alpha")
    country.enrol(iin(1), school.bin, grade=5)
    country.enrol(iin(2), school.bin, grade=5)
    country.enrol(iin(3), school.bin, grade=1)  # 11 years old in grade 1: needs review
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(1), 5), (iin(3), 1)])
    verify_act(act)
    act.status = "verified"
    official = department_official(country)
    db.session.commit()
    assert _counts(act) == (4, 3, 3, 3)
    flagged = next(ln for ln in act.lines if ln.iin == iin(3))
    assert flagged.review_codes

    decide_line(act, flagged.id, "exclude", "not this child", official)
    db.session.commit()
    assert _counts(act) == (4, 3, 2, 2)
