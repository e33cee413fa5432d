"""Acts under a contract are verified against its terms: levels, capacity, cap, days enrolled."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.acts.terms import terms_for
from app.contracts.models import Contract
from app.engine.runtime import complete_task, fire_due_timers
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.helpers import school, user
from tests.lifecycle.flow import apply, open_task_of, place_order, sign

BILIM = "Bilim Innovation School"


def test_a_contract_without_secondary_places_pays_no_secondary_student_and_prorates_late_arrivals(frozen, browser):
    official = browser("official")
    order = place_order(official)
    bilim = school(BILIM)
    # A first-grader who joins on 16 September: 15 of 30 days.
    db.session.add(NedbEnrollment(iin="791028302728", full_name="Жаңа Оқушы", school_bin=bilim.bin,
                                  school_kind="private", grade=1, enrolled_on=date(2027, 9, 16)))
    db.session.commit()
    contract = _signed(browser, official, order, bilim, lambda a: {
        "places_primary": a.students_primary, "places_basic": a.students_basic, "places_secondary": 0})
    assert contract.levels == ["primary", "basic"] and max(contract.allowed_grades) == 9

    frozen.at = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    fire_due_timers()
    act = db.session.scalars(select(Act).where(Act.school_id == bilim.id, Act.period == date(2027, 9, 1))).one()
    lines = prefill_lines(act)
    for line in lines:
        line["days_attended"] = 15 if line["iin"] == "791028302728" else 20
    complete_task(open_task_of(act.instance_id, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    contract = db.session.get(Contract, contract.id)
    secondary = [ln for ln in act.lines if ln.grade >= 10]
    assert secondary and all(ln.outcome == "excluded" and ln.rule_code == "level_not_covered" for ln in secondary)
    newcomer = next(ln for ln in act.lines if ln.iin == "791028302728")
    norm = order.norm("primary", "urban")
    assert newcomer.outcome == "accepted" and newcomer.amount_tiyn == norm * 15 // 30
    assert 0 < act.amount_tiyn <= contract.monthly_cap_tiyn
    terms = terms_for(act)
    assert terms.contract_id == contract.id and terms.amount_cap_tiyn == contract.monthly_cap_tiyn
    assert terms.allowed_grades == frozenset(range(1, 10))
    assert dict(terms.norms_tiyn) == {lv: order.norm(lv, "urban") for lv in ("primary", "basic", "secondary")}
    page = browser("official").get(f"/tasks/{open_task_of(act.instance_id, 'accept_act').id}").get_data(as_text=True)
    assert "Level not covered" in page


def test_a_contract_pays_no_more_students_of_a_level_than_its_places(frozen, browser):
    """The places allocated per level bind the act: one primary place fewer than the school's first-graders leaves
    the student enrolled most recently in NEDB unpaid, with the reason shown to the official."""
    official = browser("official")
    order = place_order(official)
    bilim = school(BILIM)
    chosen = {}

    def one_primary_place_fewer(application) -> dict:
        chosen.update({"places_primary": application.students_primary - 1,
                       "places_basic": application.students_basic,
                       "places_secondary": application.students_secondary})
        return chosen

    _signed(browser, official, order, bilim, one_primary_place_fewer)
    places = chosen

    frozen.at = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    fire_due_timers()
    act = db.session.scalars(select(Act).where(Act.school_id == bilim.id, Act.period == date(2027, 9, 1))).one()
    lines = prefill_lines(act)
    complete_task(open_task_of(act.instance_id, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    primary = [ln for ln in act.lines if ln.grade <= 4 and ln.rule_code in (None, "over_contracted_places")]
    assert len(primary) == places["places_primary"] + 1
    since = {e.iin: e.enrolled_on for e in db.session.scalars(
        select(NedbEnrollment).where(NedbEnrollment.school_bin == bilim.bin))}
    latest = max(primary, key=lambda ln: (since[ln.iin], ln.iin))
    assert [ln.iin for ln in primary if ln.rule_code == "over_contracted_places"] == [latest.iin]
    assert act.accepted_lines == sum(places.values()) and dict(terms_for(act).places_by_level) == {
        level: places[f"places_{level}"] for level in ("primary", "basic", "secondary")}
    page = official.get(f"/tasks/{open_task_of(act.instance_id, 'accept_act').id}").get_data(as_text=True)
    assert "Over the contracted places" in page


def test_a_months_act_does_not_open_before_the_month_has_ended_even_when_an_administrator_fires_the_timer(
        frozen, browser):
    """The contract's month timer fired by hand in the middle of September would have opened September's act, to
    be submitted, verified and paid for days that had not happened yet."""
    from app.engine.models import ProcessInstance

    official = browser("official")
    order = place_order(official)
    bilim = school(BILIM)
    contract = _signed(browser, official, order, bilim, lambda a: {
        "places_primary": a.students_primary, "places_basic": a.students_basic,
        "places_secondary": a.students_secondary})
    instance_id = db.session.get(Contract, contract.id).instance_id

    frozen.at = datetime(2027, 9, 10, 6, 0, tzinfo=UTC)
    answer = browser("admin").post(f"/instances/{instance_id}/trigger-timer",
                                   {"confirm": "yes", "reason": "testing", "element": "month_ended"},
                                   follow_redirects=True)
    assert answer.status_code == 200
    assert "September 2027 opens when the month has ended" in answer.get_data(as_text=True)
    db.session.expire_all()
    september = select(Act).where(Act.school_id == bilim.id, Act.period == date(2027, 9, 1))
    assert db.session.scalars(september).all() == []
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "running" and instance.next_timer_at is not None

    frozen.at = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    fire_due_timers()
    assert len(db.session.scalars(september).all()) == 1


def _signed(browser, official, order, bilim, places_of) -> Contract:
    """Bilim applies, the official allocates ``places_of(application)`` and both parties sign."""
    application = apply(browser("accountant"), order, bilim, "KZ15LAA00001234")
    review = open_task_of(application.instance_id, "review_application")
    places = places_of(application)
    assert official.post(f"/tasks/{review.id}", {"decision": "allocate", **{k: str(v) for k, v in places.items()}}
                         ).status_code == 302
    contract = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).one()
    sign(browser("director"), contract)
    sign(browser("head"), contract)
    return contract


def test_a_licence_renewed_after_signing_pays_the_rest_of_the_contract(frozen, browser):
    """Bilim's licence ended on 15 October 2027 when it applied; the contract keeps that date as what was checked
    at signing. The renewal registered from 16 October is the licence registry as it is now: October and November
    pay every day — the contract's copy of the old date capped October at 15 days and left November unpaid."""
    from app.registry.models import Licence

    official = browser("official")
    order = place_order(official)
    bilim = school(BILIM)
    licence = db.session.scalars(select(Licence).where(Licence.number == "KZ15LAA00001234")).one()
    licence.valid_until = date(2027, 10, 15)
    db.session.commit()
    contract = _signed(browser, official, order, bilim, lambda a: {
        "places_primary": a.students_primary, "places_basic": a.students_basic,
        "places_secondary": a.students_secondary})
    assert contract.licence_valid_until == date(2027, 10, 15), "the contract records what was checked"
    db.session.add(Licence(number="KZ15LAA00009999", bin=bilim.bin, valid_from=date(2027, 10, 16), valid_until=None,
                           levels=licence.levels))
    db.session.commit()

    for month_end in (date(2027, 10, 1), date(2027, 11, 1), date(2027, 12, 1)):
        frozen.at = datetime(month_end.year, month_end.month, 1, 3, 0, tzinfo=UTC)
        fire_due_timers()
    here_all_along = {e.iin for e in db.session.scalars(select(NedbEnrollment).where(
        NedbEnrollment.school_bin == bilim.bin, NedbEnrollment.enrolled_on <= date(2027, 10, 1),
        NedbEnrollment.withdrawn_on.is_(None)))}
    for period, days in ((date(2027, 10, 1), 31), (date(2027, 11, 1), 30)):
        act = db.session.scalars(select(Act).where(Act.school_id == bilim.id, Act.period == period)).one()
        complete_task(open_task_of(act.instance_id, "submit_act").id, user("accountant"),
                      data={"lines": prefill_lines(act)})
        db.session.commit()
        db.session.expire_all()
        act = db.session.get(Act, act.id)
        assert [ln.rule_code for ln in act.lines if ln.rule_code == "licence_expired"] == []
        paid = [ln for ln in act.lines if ln.iin in here_all_along and ln.outcome == "accepted"]
        assert paid and all(ln.paid_days == days for ln in paid), period
