"""Identity review against a student NEDB has in two rows at the school this month (a re-enrolment whose new row
carries a corrected name): the act's name is compared with NEDB's names of the month here, and NEDB's name shown to
the official is its current one — never the greatest of the two in collation order."""

from __future__ import annotations

from datetime import date

import pytest

from app.acts.verification import verify_act
from app.extensions import db
from app.registry.adapter import TableStudentRegistry
from app.registry.http import HttpStudentRegistry
from tests.registry.conftest import NORMS, iin

OLD, NEW = "Ахметов Арман", "Ахмедов Арман"  # "т" sorts after "д": the old name is the greater


@pytest.mark.parametrize("staged", [False, True], ids=["table", "web service"])
@pytest.mark.parametrize(("claimed", "review", "shown"), [
    (NEW, None, None),  # NEDB's current name
    (OLD, None, None),  # NEDB's name of the first days of the month here
    ("Сериков Арман", "name", NEW),  # neither: the official sees NEDB's current name
])
def test_a_name_corrected_on_a_new_row_is_no_false_alarm(country, claimed, review, shown, staged):
    """``staged``: NEDB read from a web service, its enrolments staged into a temporary table (dates as the engine
    keeps them there)."""
    school = country.school()
    student = iin(1)
    country.enrol(student, school.bin, enrolled=date(2026, 9, 1), withdrawn=date(2026, 10, 5)).full_name = OLD
    country.enrol(student, school.bin, enrolled=date(2026, 10, 5)).full_name = NEW
    act = country.act(school, [(student, 5, 10)])
    act.lines[0].full_name = claimed
    db.session.flush()
    registry = None
    if staged:
        rows = TableStudentRegistry().enrollments_for([student])[student]
        registry = HttpStudentRegistry("http://127.0.0.1:9/api")
        registry.enrollments_for = lambda iins: {student: rows}
    verify_act(act, registry)
    db.session.expire_all()
    [line] = act.lines
    # paid in full either way: 1–4 October on the first row, from the 5th on the second
    assert (line.outcome, line.amount_tiyn, line.paid_days) == ("accepted", NORMS["basic"], 31)
    assert (line.review_codes, line.registry_name) == (review, shown)
