"""Every state change of the dormitory instrument's own records passes through here and writes its audit event.

A dormitory contract is the generic order → application → contract chain with ``instrument='dormitory'`` plus
its :class:`DormitoryTerms`; its monthly rate per place comes from the rates decision table
(``bpmn/dorm_place_rates.dmn``, edited by the process owner) in the ``dorm_contract`` process when it is placed.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.applications.models import Application
from app.audit.facts import contract_facts
from app.audit.operations import record_event, record_events
from app.contracts.models import Contract
from app.dormitories.models import DormitoryTerms
from app.dormitories.ordering import usable_rate
from app.dormitories.verification import DORMITORY
from app.engine.data_names import provide_names
from app.engine.errors import DomainRefused
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import N_
from app.orders.models import StateOrder
from app.people.models import Organisation

DORM_CONTRACT_PROCESS = "dorm_contract"


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def dormitory_order(region_id: int, period_start: date, period_end: date, budget_tiyn: int, actor=None) -> StateOrder:
    """The region's order for dormitory places starting that year (one per region and year), placed if absent."""
    year = f"{period_start.year}/{period_start.year + 1}"
    order = db.session.scalars(select(StateOrder).where(StateOrder.region_id == region_id,
                                                        StateOrder.academic_year == year,
                                                        StateOrder.instrument == DORMITORY)).first()
    if order is not None:
        return order
    from app.people.models import Region

    region = db.session.get(Region, region_id)
    order = StateOrder(number=f"DO-{region.code}-{period_start.year}", instrument=DORMITORY, region_id=region_id,
                       academic_year=year, budget_tiyn=budget_tiyn, period_start=period_start, period_end=period_end,
                       window_opens=period_start, window_closes=period_start, status="closed",
                       placed_by_id=getattr(actor, "id", None), placed_at=clock.now())
    db.session.add(order)
    db.session.flush()
    record_event(f"state_order:{order.id}", "order.placed", "state_order", order.id,
                 actor_id=getattr(actor, "id", None),
                 details={"number": order.number, "instrument": DORMITORY, "budget_tiyn": budget_tiyn})
    return order


def place_dormitory_contract(dormitory: Organisation, *, places: int, period_start: date, period_end: date,
                             locality: str = "urban", excludes_local_residents: bool = True,
                             budget_tiyn: int = 10**12, actor=None) -> Contract:
    """Register a contract signed on paper: ``places`` in ``dormitory`` for the period (demo, benchmarks, contracts
    concluded before the system); the ``dorm_contract`` process sets the rate from the rates decision table and puts
    the contract in force. Contracts made in the system come from an order and an application
    (:mod:`app.dormitories.ordering`) and are signed on screen."""
    if dormitory.kind != "dormitory":
        raise DomainRefused(_("Dormitory places are contracted with a dormitory."))
    if places <= 0 or period_end < period_start or locality not in ("urban", "rural"):
        raise DomainRefused(_("Give the number of places, a period and the locality (urban or rural)."))
    order = dormitory_order(dormitory.region_id, period_start, period_end, budget_tiyn, actor)
    department = db.session.scalars(select(Organisation).where(
        Organisation.kind == "department", Organisation.region_id == dormitory.region_id)).first()
    application = Application(number=f"DA-{dormitory.bin}-{period_start:%Y}", instrument=DORMITORY, order_id=order.id,
                              school_id=dormitory.id, region_id=dormitory.region_id, status="allocated",
                              locality=locality, design_capacity=places, iban=dormitory.iban,
                              created_at=clock.now(), decided_at=clock.now())
    db.session.add(application)
    db.session.flush()
    contract = Contract(number=f"DC-{dormitory.bin}-{period_start:%Y}", instrument=DORMITORY, order_id=order.id,
                        application_id=application.id, school_id=dormitory.id,
                        department_id=department.id if department else None, region_id=dormitory.region_id,
                        period_start=period_start, period_end=period_end, design_capacity=places, locality=locality,
                        iban=dormitory.iban, monthly_cap_tiyn=0, amount_cap_tiyn=0, status="awaiting_head",
                        created_at=clock.now())
    db.session.add(contract)
    db.session.flush()
    db.session.add(DormitoryTerms(contract_id=contract.id, places=places, place_rate_tiyn=0,
                                  excludes_local_residents=excludes_local_residents))
    instance = start_instance(DORM_CONTRACT_PROCESS, title=f"{contract.number} · {dormitory.name}", actor=actor,
                              region_id=dormitory.region_id, organisation_id=dormitory.id, subject_type="contract",
                              subject_id=contract.id,
                              data={"contract_id": contract.id, "region_code": dormitory.region.code,
                                    "locality": locality, "signing": "paper"})
    contract.instance_id = instance.id
    db.session.flush()
    return contract


def put_in_force(contract: Contract, rate_tiyn: int) -> None:
    """The rate the decision table gave becomes the contract's; its caps follow from places × rate."""
    if contract.instrument != DORMITORY or contract.status == "active":
        raise DomainRefused.said(N_("This contract is not a dormitory contract waiting for its rate."))
    usable_rate(rate_tiyn)  # as the order's opening refuses it: caps of places × a rate of zero or less
    terms = db.session.scalars(select(DormitoryTerms).where(DormitoryTerms.contract_id == contract.id)).one()
    terms.place_rate_tiyn = rate_tiyn
    contract.monthly_cap_tiyn = terms.places * rate_tiyn
    contract.amount_cap_tiyn = contract.monthly_cap_tiyn * _months(contract.period_start, contract.period_end)
    contract.status = "active"
    contract.activated_at = clock.now()
    record_event(f"instance:{contract.instance_id}", "contract.activated", "contract", contract.id, actor_id=None,
                 details={"number": contract.number, "places": terms.places, "place_rate_tiyn": rate_tiyn,
                          "monthly_cap_tiyn": contract.monthly_cap_tiyn, "amount_cap_tiyn": contract.amount_cap_tiyn},
                 facts=contract_facts(contract))


def settle_dormitory_acts(acts) -> dict:
    """What follows a verification of dormitory acts: adjustments of decided months settled on them (a registry
    correction of a month already accepted or paid), then the other claims on the students they exclude as placed
    in two dormitories. Returns, per act, the adjustments settled (for the audit event)."""
    from app.dormitories.adjustments import settle_dormitory_adjustments

    settled = settle_dormitory_adjustments(acts)
    reverify_other_claims(acts)
    return settled


def reverify_other_claims(acts) -> dict:
    """``two_dormitories`` on both acts whichever is verified first: the other dormitories' acts of the month that
    are still open for verification (submitted or verified, not decided) and claim a student these acts exclude
    by that rule are verified again (their adjustments of decided months settled again), each with its audit
    event."""
    from app.acts.models import Act, ActLine
    from app.acts.operations import VERIFIABLE, claim_for_verification
    from app.dormitories.adjustments import settle_dormitory_adjustments
    from app.dormitories.verification import verify_dormitory_acts
    from app.registry.merges import children_of

    ids = [a.id for a in acts]
    doubled = select(ActLine.iin, ActLine.period).where(ActLine.act_id.in_(ids),
                                                        ActLine.rule_code == "two_dormitories")
    pairs = db.session.execute(doubled).all()
    others: set[int] = set()
    if pairs:
        others.update(db.session.scalars(
            select(ActLine.act_id).join(Act, Act.id == ActLine.act_id)
            .where(Act.instrument == DORMITORY, Act.status.in_(VERIFIABLE), Act.id.not_in(ids),
                   ActLine.rule_code.is_distinct_from("two_dormitories"),
                   # the student under any IIN NEDB merged (app.registry.merges): one child, as the rule pass
                   ActLine.iin.in_(set(children_of(iin for iin, _ in pairs))),
                   ActLine.period.in_({p for _, p in pairs}))))
    # And the other way: an open act of the month excludes a student as claimed by two dormitories, but the other
    # claim has gone or moved (the other dormitory's act was resubmitted without the student, or with dates that no
    # longer meet). Left alone, the exclusion depended on which act was verified last, and once accepted the place
    # was never paid (adjustments look again only at lines that were paid): such acts are verified again too.
    others.update(db.session.scalars(
        select(ActLine.act_id).join(Act, Act.id == ActLine.act_id)
        .where(Act.instrument == DORMITORY, Act.status.in_(VERIFIABLE), Act.id.not_in(ids),
               ActLine.rule_code == "two_dormitories", ActLine.period.in_({a.period for a in acts}))))
    if not others:
        return {}
    claimed = claim_for_verification(sorted(others))
    if claimed:
        again = list(db.session.scalars(select(Act).where(Act.id.in_(claimed))))
        summaries = verify_dormitory_acts(again)
        adjusted = settle_dormitory_adjustments(again)
        events = []
        for act in again:
            db.session.expire(act)
            s = summaries[act.id]
            events.append({"chain": f"instance:{act.instance_id}" if act.instance_id else f"act:{act.id}",
                           "action": "act.verified", "object_type": "act", "object_id": act.id, "actor_id": None,
                           "details": {"accepted": s.accepted, "excluded": s.excluded, "amount_tiyn": act.amount_tiyn,
                                       "lines_amount_tiyn": s.amount_tiyn, "by_rule": s.by_rule,
                                       "because": "two_dormitories", "adjustments": adjusted.get(act.id, [])}})
        record_events(events)  # one look-up of the chains' heads and one INSERT, however many acts
    return {}


# The dormitory contract process is started with these (app.engine.data_names: no step of the model sets them).
provide_names("contract_id", "region_code", "locality", "signing")
