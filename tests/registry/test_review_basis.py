"""An official's review decision holds for the values it was made on: the act's and NEDB's value of each check.

Matched by its check codes alone, a confirmation of "the act's name vs NEDB's Иванов Иван" still counted after NEDB's
name became "Петров Пётр" — the act was accepted on a comparison nobody made. Now a re-verification that brings other
values for a decided check leaves the line needing review again (the old decision shown); one that leaves them as they
were (a withdrawal after the month) does not; a decision recorded before the values were kept holds as before."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import ActLineReview
from app.acts.operations import decide, verify
from app.acts.review import decide_line, undecided_count, undecided_line_ids
from app.acts.verification import verify_act
from app.audit.models import AuditEvent
from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.models import User
from app.registry.models import NedbEnrollment
from tests.registry.conftest import iin
from tests.registry.test_pages import department_official


def _nedb(n: int) -> NedbEnrollment:
    return db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(n))).one()


@pytest.fixture()
def world(country):
    """Line 1: NEDB's name differs (``name``); line 2: 20 days claimed, NEDB has 12 (``days``); line 3: clean."""
    school = country.school("Alpha")
    country.enrol(iin(1), school.bin, grade=5)
    _nedb(1).full_name = "Иванов Иван"
    country.enrol(iin(2), school.bin, grade=5, enrolled=date(2026, 10, 20))
    country.enrol(iin(3), school.bin, grade=5)
    act = country.act(school, [(iin(1), 5), (iin(2), 5, 20), (iin(3), 5)])
    verify_act(act)
    act.status = "verified"
    official = department_official(country)
    db.session.commit()
    lines = {ln.line_no: ln for ln in act.lines}
    assert (lines[1].review_codes, lines[2].review_codes, lines[3].review_codes) == ("name", "days", None)
    assert lines[2].paid_days == 12
    return act, lines, official


def _reverify(act) -> None:
    verify(act, None)
    db.session.commit()
    db.session.expire_all()


def test_a_confirmation_does_not_carry_over_to_another_nedb_name(world, browser):
    act, lines, official = world
    decide_line(act, lines[1].id, "confirm", "same child, NEDB's spelling", official)
    decide_line(act, lines[2].id, "confirm", None, official)
    db.session.commit()
    assert undecided_count(act) == 0

    _nedb(1).full_name = "Петров Пётр"  # NEDB's name for the IIN changes again
    _reverify(act)
    line = lines[1]
    assert line.review_codes == "name" and line.registry_name == "Петров Пётр"
    assert undecided_line_ids(act) == {line.id}
    with pytest.raises(DomainRefused, match="need review: 1"):
        decide(act, "accept", None, db.session.get(User, official.id))
    db.session.rollback()

    # The official's page: the line needs review again, with the old decision and the new value.
    page = browser("off").get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="review-undecided">1<' in page and "Петров Пётр" in page
    row = page[page.index(f'id="review-line-{line.id}"'):]
    row = row[: row.index("</tr>")]
    assert "same child, NEDB&#39;s spelling" in row and "Decided on other values" in row
    assert "Decided on other values" not in page.replace(row, "")  # the days line's decision still holds

    decide_line(db.session.merge(act), line.id, "confirm", "checked again: same child", official)
    db.session.commit()
    assert undecided_count(act) == 0
    decide(act, "accept", None, db.session.get(User, official.id))
    assert act.status == "accepted"


def test_a_change_of_nedb_days_needs_the_days_line_decided_again(world):
    act, lines, official = world
    decide_line(act, lines[2].id, "confirm", None, official)
    decide_line(act, lines[1].id, "confirm", None, official)
    db.session.commit()
    _nedb(2).enrolled_on = date(2026, 10, 25)  # NEDB now has 7 days, not the 12 the official saw
    _reverify(act)
    assert (lines[2].review_codes, lines[2].paid_days) == ("days", 7)
    assert undecided_line_ids(act) == {lines[2].id}


@pytest.mark.parametrize("change", ["withdrawn_after_the_month", "same_name_other_case", "other_pupil"])
def test_a_change_that_leaves_the_checked_values_keeps_the_decision(world, change):
    act, lines, official = world
    decide_line(act, lines[1].id, "confirm", None, official)
    decide_line(act, lines[2].id, "confirm", None, official)
    db.session.commit()
    if change == "withdrawn_after_the_month":
        _nedb(1).withdrawn_on = _nedb(2).withdrawn_on = date(2026, 11, 15)
    elif change == "same_name_other_case":
        _nedb(1).full_name = "ИВАНОВ  иван"  # the same name to the check (case, spaces)
    else:
        _nedb(3).full_name = "Someone Else"  # another line's pupil
    _reverify(act)
    assert (lines[1].review_codes, lines[2].review_codes) == ("name", "days")
    assert undecided_count(act) == 0 if change != "other_pupil" else undecided_line_ids(act) == {lines[3].id}


def test_a_decision_recorded_before_values_were_kept_holds_on_its_codes(world):
    act, lines, official = world
    decide_line(act, lines[1].id, "confirm", None, official)
    decide_line(act, lines[2].id, "confirm", None, official)
    for review in db.session.scalars(select(ActLineReview)):
        review.basis = None  # as a decision recorded before revision 0028
    db.session.commit()
    _nedb(1).full_name = "Петров Пётр"
    _reverify(act)
    assert lines[1].registry_name == "Петров Пётр"
    assert undecided_count(act) == 0  # today's behaviour for old decisions


def test_the_decision_event_carries_the_fingerprint_and_no_name(world):
    act, lines, official = world
    review = decide_line(act, lines[1].id, "confirm", None, official)
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.line_reviewed")).one()
    assert len(review.basis) == 64 and event.details["basis"] == review.basis
    assert "Иванов" not in str(event.details) and "Иванов" not in review.basis


def test_an_exclusion_changed_to_a_confirmation_holds_for_the_line_as_verified(world):
    """Excluded, the name line keeps NEDB's name (the evidence); kept afterwards, it is paid and stays decided."""
    act, lines, official = world
    decide_line(act, lines[1].id, "exclude", "not this child", official)
    db.session.commit()
    assert lines[1].rule_code == "review_excluded"
    decide_line(db.session.merge(act), lines[1].id, "confirm", "it is this child after all", official)
    decide_line(db.session.merge(act), lines[2].id, "confirm", None, official)
    db.session.commit()
    db.session.expire_all()
    assert (lines[1].outcome, lines[1].review_codes) == ("accepted", "name")
    assert undecided_count(act) == 0
