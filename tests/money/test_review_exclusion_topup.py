"""An official's exclusion after review on an act since accepted or paid, when NEDB later corrects the values it was
made on so that the line passes every check.

On an open act such an exclusion lapses (``act.review_exclusion_lapsed``: the line is paid). On a decided act the
repricing never looked at it again: NEDB corrected the pupil's name to the act's in a month already paid, and the
school was never paid for a child who was there. Now the line is priced by every other rule, as any excluded line, and
what it earns is a top-up on the school's next act — the old decision (checks, fingerprint, comment) and today's values
in its evidence, audited with the act's verification — which the official accepts with that act: a person still
decides. Nothing accepted is edited. A line that would need review again on other values is not topped up (no one can
decide it on a decided act); values back to those the exclusion was made on make it hold again (a top-up paid since is
clawed back); a line another rule excludes now is not paid."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts import adjustments
from app.acts.adjustments import settle_adjustments, unsettled_corrections
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import decide, verify
from app.acts.review import decide_line
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.audit.models import AuditEvent
from app.extensions import db
from app.people.models import Organisation, User
from tests.registry.conftest import NORMS, iin
from tests.registry.test_review_basis import _nedb, world  # noqa: F401 - the fixture

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
FULL_MONTH = NORMS["basic"]  # a grade-5 pupil at the school all October


@pytest.fixture()
def decided(world):  # noqa: F811 - the fixture
    """October: the name line (1) and the days line (2) excluded by the official; accepted and paid without them."""
    act, lines, official = world
    decide_line(act, lines[1].id, "exclude", "not the child NEDB has", official)
    decide_line(db.session.merge(act), lines[2].id, "exclude", "days not credible", official)
    db.session.commit()
    act = db.session.get(Act, act.id)
    decide(act, "accept", None, db.session.get(User, official.id))
    act.status = "paid"
    db.session.commit()
    lines = {ln.line_no: ln for ln in db.session.get(Act, act.id).lines}
    assert [(lines[n].rule_code, lines[n].amount_tiyn) for n in (1, 2)] == [("review_excluded", 0)] * 2
    return act, lines, official


def _next_act(school_id: int, period: date = NOVEMBER) -> Act:
    school = db.session.get(Organisation, school_id)
    act = Act(number=f"ACT-{school.bin}-{period:%Y%m}", school_id=school.id, region_id=school.region_id,
              period=period, status="submitted", created_at=db.session.get(Act, 1).created_at,
              amount_tiyn=10 * FULL_MONTH)  # what its lines earn (a claw-back fits in it); verify() prices them
    db.session.add(act)
    db.session.flush()
    db.session.add(ActLine(act_id=act.id, period=period, school_id=school.id, line_no=1, iin=iin(3),
                           full_name=f"Student {iin(3)}", grade=5, days_attended=20))
    db.session.commit()
    return act


def _settled(act: Act) -> dict[str, tuple[str, int]]:
    settle_adjustments([act])
    db.session.expire_all()
    return {a.iin: (a.rule_code, a.amount_tiyn) for a in adjustments.adjustments_of(act)}


def test_nedb_correcting_the_name_after_payment_tops_the_line_up_on_the_next_act(decided, browser):
    october, lines, official = decided
    _nedb(1).full_name = lines[1].full_name  # NEDB corrects the name: it was the act's child after all
    _nedb(2).enrolled_on = date(2026, 9, 1)  # and the days: enrolled all October, as the act claimed
    db.session.commit()
    paid = (october.amount_tiyn, [(ln.outcome, ln.rule_code, ln.amount_tiyn) for ln in lines.values()])

    november = _next_act(october.school_id)
    verify(november, None)
    db.session.commit()
    db.session.expire_all()
    found = {a.original_line_id: a for a in db.session.scalars(select(ActAdjustment)
                                                               .where(ActAdjustment.act_id == november.id))}
    assert set(found) == {lines[1].id, lines[2].id}
    for n, codes, comment in ((1, "name", "not the child NEDB has"), (2, "days", "days not credible")):
        top_up = found[lines[n].id]
        assert (top_up.rule_code, top_up.period, top_up.original_amount_tiyn, top_up.amount_tiyn) == (
            REGISTRY_CORRECTED_IN_FAVOUR, date(2026, 10, 1), 0, FULL_MONTH)
        assert top_up.evidence["excluded_as"] == "review_excluded" and top_up.evidence["days"] == 31
        review = top_up.evidence["review"]
        assert (review["decision"], review["codes"], review["comment"]) == ("exclude", codes, comment)
        assert review["basis"] and review["decided_by_id"] == official.id
        assert review["now"]["codes"] is None, "today's values pass every check"
    november = db.session.get(Act, november.id)
    assert november.adjustment_tiyn == 2 * FULL_MONTH

    # Audited with the act's verification: each top-up names the decision it lifts (no name in the trail).
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                        AuditEvent.object_id == november.id)).one()
    lifted = sorted(event.details["adjustments"], key=lambda a: a["line"])
    assert [(a["line"], a["excluded_as"], a["review"]["codes"]) for a in lifted] == [
        (1, "review_excluded", "name"), (2, "review_excluded", "days")]
    assert "Иванов" not in str(event.details)

    # The official sees the top-up and the decision it lifts in the next act's report, and decides with that act.
    page = browser("off").get(f"/acts/{november.id}").get_data(as_text=True)
    assert "Excluded line confirmed by the corrected registry" in page
    assert "not the child NEDB has" in page and "Excluded after review" in page
    assert "reason then (Name differs from NEDB): not the child NEDB has" in page
    assert "NEDB's values now pass every check the decision was about." in page

    # Nothing accepted is edited; verified again, the same top-ups once.
    october = db.session.get(Act, october.id)
    assert (october.amount_tiyn, [(ln.outcome, ln.rule_code, ln.amount_tiyn)
                                  for ln in sorted(october.lines, key=lambda ln: ln.line_no)]) == paid
    assert _settled(november) == {iin(1): (REGISTRY_CORRECTED_IN_FAVOUR, FULL_MONTH),
                                  iin(2): (REGISTRY_CORRECTED_IN_FAVOUR, FULL_MONTH)}


def test_a_line_that_would_need_review_again_or_fails_another_check_is_not_topped_up(decided):
    october, lines, _official = decided
    _nedb(1).full_name = "Петров Пётр"  # other values: on an open act the official would decide again
    _nedb(2).enrolled_on = date(2026, 9, 1)
    _nedb(2).withdrawn_on = date(2026, 9, 20)  # the days pass now, but NEDB has the pupil withdrawn before October
    db.session.commit()
    assert _settled(_next_act(october.school_id)) == {}
    assert unsettled_corrections(db.session.get(Organisation, october.school_id)) == []


def test_an_exclusion_that_holds_again_claws_back_its_top_up(decided):
    october, lines, _official = decided
    registered = _nedb(1).full_name
    _nedb(1).full_name = lines[1].full_name
    db.session.commit()
    november = _next_act(october.school_id)
    assert _settled(november) == {iin(1): (REGISTRY_CORRECTED_IN_FAVOUR, FULL_MONTH)}
    db.session.execute(Act.__table__.update().where(Act.id == november.id).values(status="paid"))
    _nedb(1).full_name = registered  # back to the values the official excluded the line on
    db.session.commit()
    december = _next_act(october.school_id, DECEMBER)
    assert _settled(december) == {iin(1): ("review_excluded", -FULL_MONTH)}
