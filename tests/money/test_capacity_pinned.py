"""A school paid without a contract (a pilot school) is held to its design capacity. The administrator may edit the
capacity on the organisation's page at any time; a month already accepted is repriced (a registry correction found
later) with the capacity it was verified against, pinned on its act — never with the capacity as edited since.
Raising it would pay a top-up into a place the school did not have when the month was decided; lowering it would
keep a claw-back of a place it had. A month not yet decided follows the capacity as it is now."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts import adjustments
from app.acts.adjustments import NEDB_CORRECTED, settle_adjustments
from app.acts.models import Act, ActLine
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.acts.verification import verify_acts
from app.admin.operations import save_organisation
from app.extensions import db
from app.people.models import User
from app.registry.models import NedbEnrollment
from app.reports.operations import run_month_verification, start_month_verification
from tests.registry.conftest import NORMS, OCTOBER, Country, iin

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
PRIMARY = NORMS["primary"]  # 3,850,000 tiyn: a primary pupil's whole month (31 of 31 days)


def _verified_and_paid(country: Country, school, students: list[str], period: date = OCTOBER) -> Act:
    """The month's act verified (the capacity it is checked against is pinned then) and paid."""
    act = country.act(school, [(student, 3) for student in students], period=period)
    verify_acts([act])
    db.session.execute(Act.__table__.update().where(Act.id == act.id).values(status="paid"))
    db.session.expire_all()
    return db.session.get(Act, act.id)


def _outcomes(act: Act) -> list[tuple[str, str | None, int]]:
    return [(ln.outcome, ln.rule_code, ln.amount_tiyn)
            for ln in db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no))]


def _settling_act(country: Country, school, period: date) -> Act:
    act = country.act(school, [(iin(9_000 + period.month), 3)], period=period, status="verified")
    act.amount_tiyn = 10 * PRIMARY  # room for any claw-back: the net stays above zero
    db.session.flush()
    return act


def _settled(act: Act) -> dict[str, tuple[str, int]]:
    settle_adjustments([act])
    db.session.expire_all()
    return {a.iin: (a.rule_code, a.amount_tiyn) for a in adjustments.adjustments_of(act)}


def _admin_sets_capacity(school, capacity: int) -> None:
    """The administrator's organisation form (the one door: audited as organisation.updated)."""
    admin = User(username=f"admin{school.id}-{capacity}", full_name="Admin", role="admin", password_hash="x")
    db.session.add(admin)
    db.session.flush()
    save_organisation(school, {"kind": school.kind, "bin": school.bin, "name": school.name,
                               "region_id": str(school.region_id), "design_capacity": str(capacity),
                               "iban": school.iban}, admin)
    db.session.flush()
    assert school.design_capacity == capacity


def test_raising_the_capacity_after_october_was_paid_tops_up_no_place_october_did_not_have(country):
    """Capacity 2. October lists four pupils: the first two are paid (2 × 3,850,000 = 7,700,000), the third is over
    the capacity, the fourth is not in NEDB. In December the administrator raises the capacity to 4 and NEDB is
    corrected: the fourth child was there since September. October's two places were paid for when it was decided:
    no top-up (the old code paid 3,850,000 into a place that was not free). December's own act, not decided, has
    the four places."""
    school = country.school(capacity=2)
    first, second, crowded, late = iin(1), iin(2), iin(3), iin(4)
    for student in (first, second, crowded):
        country.enrol(student, school.bin, grade=3)
    october = _verified_and_paid(country, school, [first, second, crowded, late])
    assert _outcomes(october) == [("accepted", None, PRIMARY), ("accepted", None, PRIMARY),
                                  ("excluded", "over_capacity", 0), ("excluded", "not_in_nedb", 0)]
    assert october.amount_tiyn == 2 * PRIMARY == 7_700_000
    assert (october.verified_capacity, october.capacity_pinned) == (2, True)

    _admin_sets_capacity(school, 4)
    country.enrol(late, school.bin, grade=3)  # NEDB corrected: the child was at the school since 1 September
    december = _settling_act(country, school, DECEMBER)
    assert _settled(december) == {}, "October's two places were paid for: no top-up into a place added in December"

    # Guard: a month not yet decided is verified against the capacity as it is now — four places.
    open_month = country.act(school, [(first, 3), (second, 3), (crowded, 3), (late, 3)], period=NOVEMBER)
    verify_acts([open_month])
    db.session.expire_all()
    assert _outcomes(open_month) == [("accepted", None, PRIMARY)] * 4
    assert db.session.get(Act, open_month.id).amount_tiyn == 4 * PRIMARY == 15_400_000


def test_lowering_the_capacity_after_october_was_paid_keeps_no_claw_back_of_a_place_october_had(country):
    """Capacity 3: October pays three pupils (3 × 3,850,000 = 11,550,000). NEDB then wrongly has the third withdrawn
    on 20 September: November claws October's line back (−3,850,000) and is paid. In December the administrator
    lowers the capacity to 2 and NEDB is corrected back. October had three places when it was decided: the
    claw-back is reversed (+3,850,000); the old code found no free place under the new capacity and kept it."""
    school = country.school(capacity=3)
    first, second, third = iin(11), iin(12), iin(13)
    country.enrol(first, school.bin, grade=3)
    country.enrol(second, school.bin, grade=3)
    wrong = country.enrol(third, school.bin, grade=3)
    october = _verified_and_paid(country, school, [first, second, third])
    assert october.amount_tiyn == 3 * PRIMARY == 11_550_000

    wrong.withdrawn_on = date(2026, 9, 20)  # the withdrawal entered by mistake
    db.session.flush()
    november = _settling_act(country, school, NOVEMBER)
    assert _settled(november) == {third: ("withdrawn", -PRIMARY)}
    db.session.execute(Act.__table__.update().where(Act.id == november.id).values(status="paid"))

    _admin_sets_capacity(school, 2)
    db.session.get(NedbEnrollment, wrong.id).withdrawn_on = None  # NEDB corrected back
    db.session.flush()
    december = _settling_act(country, school, DECEMBER)
    assert _settled(december) == {third: (NEDB_CORRECTED, PRIMARY)}, "October's third place was the school's"

    # Guard: January, not decided, is verified against the two places the school has now.
    january = country.act(school, [(first, 3), (second, 3), (third, 3)], period=date(2027, 1, 1))
    verify_acts([january])
    db.session.expire_all()
    assert _outcomes(january) == [("accepted", None, PRIMARY), ("accepted", None, PRIMARY),
                                  ("excluded", "over_capacity", 0)]


def test_a_verified_act_not_yet_decided_follows_the_capacity_as_edited(country):
    """Guard: the pin binds only once the month is decided. October verified under capacity 1 and still open
    (verified, not accepted) is verified again after the administrator raised it to 2: both pupils are paid
    (2 × 3,850,000 = 7,700,000), and the new capacity is pinned."""
    school = country.school(capacity=1)
    first, second = iin(21), iin(22)
    country.enrol(first, school.bin, grade=3)
    country.enrol(second, school.bin, grade=3)
    october = country.act(school, [(first, 3), (second, 3)])
    verify_acts([october])
    db.session.expire_all()
    assert _outcomes(october)[1] == ("excluded", "over_capacity", 0)

    _admin_sets_capacity(school, 2)
    verify_acts([db.session.get(Act, october.id)])
    db.session.expire_all()
    october = db.session.get(Act, october.id)
    assert (october.amount_tiyn, october.verified_capacity) == (2 * PRIMARY, 2)
    assert 2 * PRIMARY == 7_700_000


def test_a_top_up_into_a_place_free_under_the_pinned_capacity_is_still_paid(country):
    """Capacity 3, October pays two pupils (2 × 3,850,000 = 7,700,000) and excludes a third as not in NEDB; the
    administrator lowers the capacity to 2 in December and NEDB is corrected: October had a free third place when it
    was decided — the child is topped up (+3,850,000). The old code found the two places of the new capacity full."""
    school = country.school(capacity=3)
    first, second, late = iin(31), iin(32), iin(33)
    country.enrol(first, school.bin, grade=3)
    country.enrol(second, school.bin, grade=3)
    _verified_and_paid(country, school, [first, second, late])
    _admin_sets_capacity(school, 2)
    country.enrol(late, school.bin, grade=3)
    december = _settling_act(country, school, DECEMBER)
    assert _settled(december) == {late: (REGISTRY_CORRECTED_IN_FAVOUR, PRIMARY)}


def test_the_month_wide_pass_reprices_a_paid_month_with_its_pinned_capacity_and_keeps_the_pin_fresh(country):
    """The raise of the first test, settled by December's month-wide pass rather than one act's verification: no
    top-up into the places added after October was decided (the old code paid 3,850,000). December's act, verified
    by the pass under capacity 4, has 4 pinned — read from the act in the pass's own session too."""
    school = country.school(capacity=2)
    first, second, late = iin(41), iin(42), iin(43)
    country.enrol(first, school.bin, grade=3)
    country.enrol(second, school.bin, grade=3)
    _verified_and_paid(country, school, [first, second, late])  # 2 × 3,850,000 paid; the third not in NEDB
    _admin_sets_capacity(school, 4)
    country.enrol(late, school.bin, grade=3)
    december = country.act(school, [(first, 3), (second, 3)], period=DECEMBER)
    db.session.commit()

    run = start_month_verification(DECEMBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    december = db.session.get(Act, december.id)
    assert (december.status, december.verified_capacity, december.capacity_pinned) == ("verified", 4, True)
    assert adjustments.adjustments_of(december) == [], "October's two places were paid for"
    assert december.amount_tiyn == 2 * PRIMARY == 7_700_000, "December's two pupils, nothing settled"
