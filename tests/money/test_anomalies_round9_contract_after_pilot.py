"""A school paid without a contract (a pilot school, which had never applied) applies to a state order placed in the
middle of the academic year — allowed: the window only has to close before the year ends — and signs a contract whose
term starts on 1 September, before months the school was already paid for at the year's default norms.

The contract's monthly loop (plan the next month, open its act) linked the paid months' acts to the contract as it
went through the months. From then on the repricing of those decided months read the contract's terms — its rural
norm, not the urban default the months were paid at — and every line paid for part of a month was priced again at the
other norm: a top-up of the norm's difference though NEDB had changed nothing, and a later withdrawal clawed back at the
wrong norm. A decided act keeps the terms it was decided under (DESIGN.md §3, decided is final): it is not linked."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.applications.models import Application
from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractAct
from app.contracts.operations import committed_under, open_contract_act, plan_next_month
from app.extensions import db
from app.orders.models import OrderNorm, StateOrder
from app.registry.models import NedbEnrollment
from tests.money.settling import settled, verified
from tests.registry.conftest import NORMS, iin

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
URBAN = NORMS["primary"]  # 3,850,000: the year's default norm, the pilot's months were paid at it
RURAL = 4_620_000  # the order's rural primary norm, the contract's


def _contract_mid_year(country, school, places: int = 10) -> Contract:
    """The region's 2026/2027 order, placed in November (term from 1 September), and the school's rural contract."""
    at = datetime(2026, 11, 20, tzinfo=UTC)
    order = StateOrder(number="SO-MID-2026", region_id=school.region_id, academic_year="2026/2027",
                       budget_tiyn=10**12, period_start=SEPTEMBER, period_end=date(2027, 5, 31),
                       window_opens=date(2026, 11, 1), window_closes=date(2026, 11, 15), status="closed", placed_at=at)
    db.session.add(order)
    db.session.flush()
    for level, urban, rural in (("primary", URBAN, RURAL), ("basic", 4_230_000, 5_076_000),
                                ("secondary", 4_610_000, 5_532_000)):
        db.session.add_all([OrderNorm(order_id=order.id, level=level, locality="urban", monthly_tiyn=urban),
                            OrderNorm(order_id=order.id, level=level, locality="rural", monthly_tiyn=rural)])
    application = Application(number=f"AP-{school.bin}", order_id=order.id, school_id=school.id,
                              region_id=school.region_id, status="allocated", locality="rural", created_at=at)
    db.session.add(application)
    db.session.flush()
    contract = Contract(number=f"C-{school.bin}", order_id=order.id, application_id=application.id,
                        school_id=school.id, region_id=school.region_id, period_start=SEPTEMBER,
                        period_end=date(2027, 5, 31), places_primary=places, design_capacity=500, locality="rural",
                        monthly_cap_tiyn=places * RURAL, amount_cap_tiyn=9 * places * RURAL, status="active",
                        created_at=at, activated_at=at)
    db.session.add(contract)
    db.session.flush()
    return contract


def test_months_paid_before_the_contract_keep_the_norm_they_were_paid_at(country):
    school = country.school("Pilot")
    newcomer, pupil = iin(931), iin(932)
    country.enrol(newcomer, school.bin, grade=3, enrolled=date(2026, 10, 16))  # 16–31 October: 16 days
    country.enrol(pupil, school.bin, grade=3, enrolled=date(2025, 9, 1))
    september = country.act(school, [(pupil, 3)], period=SEPTEMBER, status="paid")
    october = country.act(school, [(newcomer, 3), (pupil, 3)], period=OCTOBER, status="submitted")
    october = verified(october)
    # Paid at the default (urban) norm: the newcomer 3,850,000 × 16 // 31 = 61,600,000 // 31 = 1,987,096
    # (31 × 1,987,096 = 61,599,976), the pupil the whole month, 3,850,000.
    assert sorted((ln.iin, ln.amount_tiyn) for ln in october.lines) == sorted(
        [(newcomer, 1_987_096), (pupil, URBAN)])
    october.status = "paid"
    for act in (september, october):
        for line in act.lines:
            line.outcome = "accepted"
    db.session.flush()
    november = country.act(school, [(newcomer, 3), (pupil, 3)], period=NOVEMBER, status="submitted")

    contract = _contract_mid_year(country, school)
    for _ in range(3):  # the contract's loop: plan the next month, open (or link) its act once the month has ended
        plan = plan_next_month(contract)
        if date.fromisoformat(plan["period"]) > NOVEMBER:
            break
        open_contract_act(contract, date.fromisoformat(plan["period"]))
    links = dict(db.session.execute(select(ContractAct.period, ContractAct.act_id)
                                    .where(ContractAct.contract_id == contract.id)).all())
    assert links == {NOVEMBER: november.id}, "the months decided before the contract stay as they were decided"
    assert committed_under([contract.id]) == {}

    november = verified(november)
    # November under the contract, at its rural norm: two primary pupils the whole month, 2 × 4,620,000.
    assert november.amount_tiyn == 2 * RURAL
    # NEDB changed nothing: October's lines are priced as they were paid. (At the contract's norm the newcomer's
    # 16 days were 4,620,000 × 16 // 31 = 73,920,000 // 31 = 2,384,516: a top-up of 2,384,516 − 1,987,096 = 397,420.)
    assert settled(november) == []

    # NEDB then withdraws the newcomer on 24 October: 16–23 October, 8 days, at the norm October was paid at —
    # 3,850,000 × 8 // 31 = 30,800,000 // 31 = 993,548 (31 × 993,548 = 30,799,988): 993,548 − 1,987,096 = −993,548
    # clawed back (at the rural norm: 36,960,000 // 31 = 1,192,258, a claw-back of only −794,838).
    row = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == newcomer)).one()
    row.withdrawn_on = date(2026, 10, 24)
    db.session.flush()
    november = verified(november)
    assert settled(november) == [("enrolled_days", -993_548)]
    # November's newcomer line is now excluded (withdrawn before November): the pupil's 4,620,000 less the claw-back.
    assert november.amount_tiyn == RURAL - 993_548


def test_an_act_verified_before_the_contract_is_verified_again_when_linked_to_it(country):
    """November's act was submitted and verified before the contract was signed (no contract: the default norm, no
    places per level) and waits for the department's decision when the contract's loop links it. Linked as it was
    verified, it was accepted at 2 × 3,850,000 = 7,700,000 for two primary pupils under a contract of one primary
    place at 4,620,000 a month — and then refused at payment for good (above the monthly cap). Linked, it is verified
    again under the contract's terms: the place goes to the pupil here longest (since 2025), paid 4,620,000; the
    newcomer (since 16 October) is over_contracted_places."""
    school = country.school("Pilot")
    newcomer, pupil = iin(933), iin(934)
    country.enrol(newcomer, school.bin, grade=3, enrolled=date(2026, 10, 16))
    country.enrol(pupil, school.bin, grade=3, enrolled=date(2025, 9, 1))
    for month, days in ((SEPTEMBER, 30), (OCTOBER, 31)):
        paid = country.act(school, [(pupil, 3)], period=month, status="paid")
        paid.lines[0].outcome, paid.lines[0].amount_tiyn, paid.lines[0].paid_days = "accepted", URBAN, days
    november = verified(country.act(school, [(newcomer, 3), (pupil, 3)], period=NOVEMBER, status="submitted"))
    november.status = "verified"
    db.session.flush()
    assert november.amount_tiyn == 2 * URBAN

    contract = _contract_mid_year(country, school, places=1)
    assert plan_next_month(contract)["period"] == NOVEMBER.isoformat()
    assert open_contract_act(contract, NOVEMBER) is november
    db.session.expire_all()
    assert (november.status, november.amount_tiyn) == ("verified", RURAL)
    assert {ln.iin: ln.rule_code for ln in november.lines} == {pupil: None, newcomer: "over_contracted_places"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                        AuditEvent.object_id == november.id)).one()
    assert (event.details["contract"], event.details["amount_tiyn"]) == (contract.id, RURAL)
