"""An official's exclusion after review holds for the values it was made on, as a confirmation does.

It was re-applied whatever NEDB said later: the official excluded "the act's Student … vs NEDB's Иванов Иван", NEDB
corrected the name to the act's, and the line stayed excluded until the official happened to change it — money
withheld for a child who is legitimately there. Now an exclusion made on values that no longer hold no longer counts:
a line that then passes every check is paid (the official's page says what became of their decision), one that still
needs review asks again (the old decision shown); values back to those it was made on make it hold again. The same per
act and month-wide, each change audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import decide
from app.acts.review import decide_line, undecided_count, undecided_line_ids
from app.audit.models import AuditEvent
from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.models import User
from app.reports.operations import run_month_verification, start_month_verification
from tests.registry.conftest import NORMS, OCTOBER
from tests.registry.test_review_basis import _nedb, _reverify, world  # noqa: F401 - the fixture

FULL_MONTH = NORMS["basic"]  # a grade-5 pupil enrolled since September, paid the whole of October


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _month_wide() -> None:
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    db.session.expire_all()


@pytest.fixture()
def excluded(world):  # noqa: F811 - the fixture
    """The name line (1) excluded by the official on "Student … vs Иванов Иван"; the days line (2) kept."""
    act, lines, official = world
    decide_line(act, lines[1].id, "exclude", "not the child NEDB has", official)
    decide_line(db.session.merge(act), lines[2].id, "confirm", None, official)
    db.session.commit()
    assert (lines[1].rule_code, lines[1].amount_tiyn) == ("review_excluded", 0)
    return act, lines, official


@pytest.mark.parametrize("how", ["per_act", "month_wide"])
def test_nedb_correcting_the_name_pays_the_line_the_official_excluded(excluded, browser, how):
    act, lines, official = excluded
    before = act.amount_tiyn
    _nedb(1).full_name = lines[1].full_name  # NEDB corrects the name: it is the act's child after all
    _reverify(act) if how == "per_act" else _month_wide()
    line = lines[1]
    assert (line.outcome, line.rule_code, line.review_codes, line.amount_tiyn) == ("accepted", None, None, FULL_MONTH)
    assert act.amount_tiyn == before + FULL_MONTH
    assert undecided_count(act) == 0
    [event] = _events("act.review_exclusion_lapsed")
    assert event.object_id == act.id and event.actor_id is None
    assert event.details["lines"] == [{"line_no": 1, "codes": "name", "basis": event.details["lines"][0]["basis"],
                                       "now": "accepted"}]
    assert "Иванов" not in str(event.details)
    _reverify(act)
    assert len(_events("act.review_exclusion_lapsed")) == 1  # audited once, when it lapsed

    # The official sees what became of their exclusion (and may not make it again: the check passes now).
    page = browser("off").get(f"/acts/{act.id}").get_data(as_text=True)
    row = page[page.index(f'id="review-line-{line.id}"'):]
    row = row[: row.index("</tr>")]
    assert "not the child NEDB has" in row and "NEDB now agrees with the act" in row and 'value="exclude"' not in row
    with pytest.raises(DomainRefused, match="does not need review"):
        decide_line(db.session.merge(act), line.id, "exclude", "still doubtful", official)
    db.session.rollback()
    decide(db.session.get(Act, act.id), "accept", None, db.session.get(User, official.id))
    assert db.session.get(Act, act.id).status == "accepted"


@pytest.mark.parametrize("how", ["per_act", "month_wide"])
def test_another_nedb_name_asks_the_official_again(excluded, browser, how):
    act, lines, official = excluded
    _nedb(1).full_name = "Петров Пётр"
    _reverify(act) if how == "per_act" else _month_wide()
    line = lines[1]
    assert (line.outcome, line.review_codes, line.registry_name) == ("accepted", "name", "Петров Пётр")
    assert undecided_line_ids(act) == {line.id}
    with pytest.raises(DomainRefused, match="need review: 1"):
        decide(act, "accept", None, db.session.get(User, official.id))
    db.session.rollback()
    assert [e.details["lines"][0]["now"] for e in _events("act.review_exclusion_lapsed")] == ["needs_review"]
    page = browser("off").get(f"/acts/{act.id}").get_data(as_text=True)
    row = page[page.index(f'id="review-line-{line.id}"'):]
    row = row[: row.index("</tr>")]
    assert "Excluded on other values: NEDB has changed since" in row and 'value="exclude"' in row

    decide_line(db.session.merge(act), line.id, "exclude", "not Петров either", official)
    db.session.commit()
    _reverify(act)
    assert (lines[1].rule_code, undecided_count(act)) == ("review_excluded", 0)


def test_values_back_to_those_decided_on_make_the_exclusion_hold_again(excluded):
    act, lines, _official = excluded
    _nedb(1).full_name = lines[1].full_name
    _reverify(act)
    assert lines[1].rule_code is None
    _nedb(1).full_name = "Иванов Иван"  # NEDB's correction undone: the values the official decided on
    _reverify(act)
    assert (lines[1].rule_code, lines[1].amount_tiyn, lines[1].registry_name) == ("review_excluded", 0, "Иванов Иван")
    [restored] = _events("act.review_exclusion_restored")
    assert restored.details["lines"][0]["line_no"] == 1
    assert len(_events("act.review_exclusion_lapsed")) == 1


def test_a_change_that_leaves_the_values_keeps_the_exclusion_without_an_event(excluded):
    act, lines, _official = excluded
    _nedb(1).withdrawn_on = date(2026, 11, 20)  # after the month: NEDB's days for October unchanged
    _reverify(act)
    _month_wide()
    assert lines[1].rule_code == "review_excluded"
    assert not _events("act.review_exclusion_lapsed") and not _events("act.review_exclusion_restored")


def test_an_exclusion_of_the_days_line_made_again_holds(world):  # noqa: F811 - the fixture
    """Excluded, a line has no days paid: deciding it again (another reason) keeps the values it was excluded on —
    it was fingerprinted with no days and lapsed at the next verification, paying the line the official excluded."""
    act, lines, official = world
    decide_line(act, lines[2].id, "exclude", "the school claims 20 days, NEDB 12", official)
    db.session.commit()
    decide_line(db.session.merge(act), lines[2].id, "exclude", "and the enrolment is doubtful", official)
    db.session.commit()
    _reverify(act)
    assert (lines[2].rule_code, lines[2].amount_tiyn) == ("review_excluded", 0)
    assert not _events("act.review_exclusion_lapsed")
