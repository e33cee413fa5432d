"""The order and application stages of the dormitory-places instrument: every state change passes through here and
writes its audit event.

The records are the generic ones (``state_order``, ``application``, ``contract`` with ``instrument='dormitory'``);
what a dormitory order adds — the locality, the places, the rate per place from the rates decision table, whether
local residents are excluded — lives in :class:`DormitoryOrderTerms`, an application's places in
:class:`DormitoryApplicationTerms`. Windows, expiry, allocation against the budget, signing and activation are the
schools' generic operations; this module holds only what differs.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.applications.models import Application
from app.applications.operations import check_budget, rejected
from app.applications.registry_lookup import business_register_reasons
from app.applications.rules import ELIGIBILITY_RULES
from app.audit.facts import contract_facts
from app.audit.operations import record_event
from app.contracts.models import Contract
from app.dormitories.models import (
    DormitoryApplicationTerms,
    DormitoryBed,
    DormitoryDocument,
    DormitoryOrderTerms,
    DormitoryTerms,
)
from app.dormitories.verification import DORMITORY
from app.engine.errors import DomainRefused, Spoken
from app.engine.operators import ServiceValue
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import format_day
from app.orders.models import LOCALITIES, StateOrder
from app.orders.operations import check_budget_and_window, local_midnight
from app.people.models import Organisation, Region
from app.registry.cells import iban_text
from app.registry.identifiers import is_valid_bin, is_valid_kz_iban
from app.words import N_

ORDER_PROCESS = "dorm_order"
CONTRACT_PROCESS = "dorm_contract"
MAX_TERM_YEARS = 10

#: Eligibility rules of a dormitory's application: code (stored on the application) → the reason shown.
DORM_ELIGIBILITY_RULES: dict[str, object] = {
    "dorm_bin_invalid": _l("The dormitory's BIN is not 12 digits with a correct check digit."),
    "dorm_not_in_business_register": _l("The dormitory's BIN is not found in the business register."),
    "business_inactive": ELIGIBILITY_RULES["business_inactive"],
    "dorm_no_commissioning": _l("No commissioning act of the dormitory is valid at the start of the order's term."),
    "dorm_no_ownership": _l("No ownership or lease document of the dormitory is valid at the start of the order's "
                            "term."),
    "dorm_no_places": _l("The application offers no places."),
    "dorm_beds_short": _l("The places offered exceed the beds registered for the dormitory."),
    "dorm_iban_invalid": _l("The IBAN is not a valid Kazakh account number."),
}


def _chain(record) -> str:
    kind = "order" if isinstance(record, StateOrder) else "application"
    return f"instance:{record.instance_id}" if record.instance_id else f"{kind}:{record.id}"


def term_of(first_year: int, years: int) -> tuple[date, date]:
    """A term of ``years`` whole years from 1 September of ``first_year`` (dormitory contracts run the summer too)."""
    return date(first_year, 9, 1), date(first_year + years, 8, 31)


def place_dormitory_order(region: Region, *, first_year: int, years: int, locality: str, places: int,
                          excludes_local_residents: bool, budget_tiyn: int, window_opens: date,
                          window_closes: date, actor) -> StateOrder:
    """The authority places an order for dormitory places in its region; the ``dorm_order`` process takes the rate
    per place from the rates decision table and opens the application window."""
    if not 1 <= years <= MAX_TERM_YEARS:
        raise DomainRefused(_("The term is from 1 to %(max)s years.", max=MAX_TERM_YEARS))
    if locality not in LOCALITIES:
        raise DomainRefused(_("Choose the locality: urban or rural."))
    if places <= 0:
        raise DomainRefused(_("Order at least one place."))
    check_budget_and_window(budget_tiyn, window_opens, window_closes)
    period_start, period_end = term_of(first_year, years)
    if window_closes >= period_start:
        raise DomainRefused(_("The application window must close before the term starts on %(date)s.",
                              date=format_day(period_start)))
    academic_year = f"{first_year}/{first_year + 1}"
    exists = db.session.scalars(select(StateOrder).where(StateOrder.region_id == region.id,
                                                         StateOrder.instrument == DORMITORY,
                                                         StateOrder.academic_year == academic_year)).first()
    if exists is not None:
        raise DomainRefused(_("An order for dormitory places from %(year)s has already been placed in this region.",
                              year=academic_year))
    order = StateOrder(number=f"DO-{region.code}-{first_year}", instrument=DORMITORY, region_id=region.id,
                       academic_year=academic_year, budget_tiyn=budget_tiyn, period_start=period_start,
                       period_end=period_end, window_opens=window_opens, window_closes=window_closes,
                       status="placed", placed_by_id=getattr(actor, "id", None), placed_at=clock.now())
    db.session.add(order)
    db.session.flush()
    db.session.add(DormitoryOrderTerms(order_id=order.id, locality=locality, places=places, place_rate_tiyn=0,
                                       excludes_local_residents=excludes_local_residents))
    instance = start_instance(
        ORDER_PROCESS, title=f"{order.number} · {academic_year}", actor=actor, region_id=region.id,
        subject_type="state_order", subject_id=order.id,
        data={"order_id": order.id, "region_code": region.code, "locality": locality,
              "window_closes_at": local_midnight(window_closes + timedelta(days=1)).isoformat()})
    order.instance_id = instance.id
    record_event(_chain(order), "order.placed", "state_order", order.id, actor_id=getattr(actor, "id", None),
                 details={"number": order.number, "instrument": DORMITORY, "budget_tiyn": budget_tiyn,
                          "term": f"{period_start.isoformat()}..{period_end.isoformat()}", "places": places,
                          "locality": locality, "excludes_local_residents": excludes_local_residents,
                          "window": f"{window_opens.isoformat()}..{window_closes.isoformat()}"})
    db.session.flush()
    return order


def table_rate(regions: list, amounts: list, region_code: str) -> int:
    """The rates table's rate for a region: the last row for the region, else the last row for every region."""
    rows = list(zip(regions, amounts, strict=True))
    chosen = [a for r, a in rows if r == region_code] or [a for r, a in rows if r == "*"]
    if not chosen:
        raise ServiceValue(N_("The rates table has no rate per place for region %(region)s: add a row for the "
                                 "region, or one for every region (*), then retry the step."), region=region_code)
    return int(chosen[-1])


def usable_rate(rate_tiyn: int) -> int:
    """A rate per place from the rates table, refused unless above zero: every cap is places × rate, and a zero or
    negative rate (a row the process owner mistyped) made the contract's caps zero or negative."""
    if rate_tiyn <= 0:
        raise ServiceValue(N_("The rates table gave an unusable rate per place, %(rate)s: a rate must be above "
                                 "zero. Correct the table's row, then retry the step."), rate=Spoken.tenge(rate_tiyn))
    return rate_tiyn


def open_dormitory_order(order: StateOrder, rate_tiyn: int) -> None:
    """The rate the decision table gave becomes the order's (its contracts take it); the window opens."""
    if order.instrument != DORMITORY or order.status != "placed":
        raise DomainRefused.said(N_("Only a placed dormitory order opens."))
    usable_rate(rate_tiyn)
    order.dormitory_terms.place_rate_tiyn = rate_tiyn
    order.status = "open"
    record_event(_chain(order), "order.opened", "state_order", order.id, actor_id=None,
                 details={"place_rate_tiyn": rate_tiyn, "locality": order.dormitory_terms.locality})
    db.session.flush()


def places_allocated(order: StateOrder, exclude_application_id: int | None = None) -> int:
    query = (select(func.coalesce(func.sum(DormitoryApplicationTerms.places_allocated), 0))
             .join(Application, Application.id == DormitoryApplicationTerms.application_id)
             .where(Application.order_id == order.id, Application.status == "allocated"))
    if exclude_application_id is not None:
        query = query.where(Application.id != exclude_application_id)
    return int(db.session.scalar(query) or 0)


def terms_of(application: Application) -> DormitoryApplicationTerms:
    if application.dormitory_terms is None:
        db.session.add(DormitoryApplicationTerms(application_id=application.id))
        db.session.flush()
        db.session.refresh(application)
    return application.dormitory_terms


def submit_dormitory_application(application: Application, data: dict, actor) -> None:
    if application.status != "draft":
        raise DomainRefused(_("This application has already been submitted."))
    if not application.order.window_is_open(clock.today()):
        raise DomainRefused(_("The application window for this order is closed."))
    terms = terms_of(application)
    terms.places_requested = int(data["places_requested"])
    application.iban = iban_text(data["iban"])
    application.locality = application.order.dormitory_terms.locality
    application.status = "submitted"
    application.submitted_at = clock.now()
    record_event(_chain(application), "application.submitted", "application", application.id, actor_id=actor.id,
                 details={"places_requested": terms.places_requested, "iban": application.iban})
    db.session.flush()


def dormitory_eligibility_reasons(application: Application) -> list[str]:
    """The rules this dormitory's application fails, in a fixed order; empty means eligible."""
    reasons: list[str] = []
    dormitory, start = application.school, application.order.period_start
    if not is_valid_bin(dormitory.bin):
        reasons.append("dorm_bin_invalid")
    else:  # no record, no payment — the schools' check of the business register, any main activity
        reasons += business_register_reasons(dormitory.bin, activity=None, missing="dorm_not_in_business_register")
    documents = db.session.scalars(select(DormitoryDocument).where(DormitoryDocument.dormitory_bin == dormitory.bin))
    valid = {d.kind for d in documents if d.valid_from <= start and (d.valid_until is None or d.valid_until >= start)}
    if "commissioning" not in valid:
        reasons.append("dorm_no_commissioning")
    if "ownership" not in valid:
        reasons.append("dorm_no_ownership")
    requested = terms_of(application).places_requested
    if requested <= 0:
        reasons.append("dorm_no_places")
    beds = db.session.scalar(select(func.count()).select_from(DormitoryBed)
                             .where(DormitoryBed.dormitory_bin == dormitory.bin)) or 0
    if requested > beds:
        reasons.append("dorm_beds_short")
    if not is_valid_kz_iban(application.iban or ""):
        reasons.append("dorm_iban_invalid")
    return reasons


def allocate_dormitory_places(application: Application, decision: str, places: int, comment: str | None,
                              actor) -> None:
    """The official allocates places (at most those offered, those left in the order, within the budget) or
    rejects with a reason."""
    if rejected(application, decision, comment, actor):
        return
    terms, order = terms_of(application), application.order
    if places <= 0:
        raise DomainRefused(_("Allocate at least one place, or reject the application."))
    if places > terms.places_requested:
        raise DomainRefused(_("More places than the dormitory offers (%(offered)s).", offered=terms.places_requested))
    left = order.dormitory_terms.places - places_allocated(order, exclude_application_id=application.id)
    if places > left:
        raise DomainRefused(_("Only %(left)s of the order's places are left.", left=left))
    annual = places * order.dormitory_terms.place_rate_tiyn * order.months
    check_budget(application, annual)
    terms.places_allocated = places
    application.status = "allocated"
    record_event(_chain(application), "application.allocated", "application", application.id, actor_id=actor.id,
                 details={"places": places, "annual_tiyn": annual, "comment": comment or ""})
    db.session.flush()


def generate_dormitory_contract(application: Application, actor=None) -> Contract:
    """The contract from the allocation at the order's rate; the ``dorm_contract`` process has it signed on screen
    by the dormitory's director and the department head, then runs its months."""
    if application.status != "allocated":
        raise DomainRefused.said(N_("Only an allocated application gets a contract."))
    existing = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).first()
    if existing is not None:
        return existing
    order, places = application.order, application.dormitory_terms.places_allocated
    rate = order.dormitory_terms.place_rate_tiyn
    department = db.session.scalars(select(Organisation).where(
        Organisation.kind == "department", Organisation.region_id == order.region_id)).first()
    contract = Contract(
        number=f"DC-{order.number[3:]}-{application.id:05d}", instrument=DORMITORY, order_id=order.id,
        application_id=application.id, school_id=application.school_id,
        department_id=department.id if department else None, region_id=order.region_id,
        period_start=order.period_start, period_end=order.period_end, design_capacity=places,
        locality=order.dormitory_terms.locality, iban=application.iban, monthly_cap_tiyn=places * rate,
        amount_cap_tiyn=places * rate * order.months, status="awaiting_director", created_at=clock.now())
    db.session.add(contract)
    db.session.flush()
    db.session.add(DormitoryTerms(contract_id=contract.id, places=places, place_rate_tiyn=rate,
                                  excludes_local_residents=order.dormitory_terms.excludes_local_residents))
    region = db.session.get(Region, order.region_id)
    instance = start_instance(
        CONTRACT_PROCESS, title=f"{contract.number} · {application.school.name}", actor=actor,
        region_id=contract.region_id, organisation_id=contract.school_id, subject_type="contract",
        subject_id=contract.id, data={"contract_id": contract.id, "region_code": region.code,
                                      "locality": contract.locality, "signing": "screen"})
    contract.instance_id = instance.id
    record_event(f"instance:{instance.id}", "contract.generated", "contract", contract.id,
                 actor_id=getattr(actor, "id", None),
                 details={"number": contract.number, "places": places, "place_rate_tiyn": rate,
                          "monthly_cap_tiyn": contract.monthly_cap_tiyn, "amount_cap_tiyn": contract.amount_cap_tiyn},
                 facts=contract_facts(contract))
    db.session.flush()
    return contract


def set_contract_terms(contract: Contract, table_rate_tiyn: int) -> int:
    """Before the signatures: the rate is the order's (what the dormitory applied to), or the table's when the
    order set none; the caps follow from places × rate. Returns the rate."""
    if contract.instrument != DORMITORY or contract.status != "awaiting_director":
        raise DomainRefused.said(N_("This contract is not a dormitory contract waiting for its terms."))
    order_terms = contract.order.dormitory_terms
    rate = order_terms.place_rate_tiyn if order_terms is not None and order_terms.place_rate_tiyn else table_rate_tiyn
    usable_rate(rate)
    terms = contract.dormitory_terms
    terms.place_rate_tiyn = rate
    contract.monthly_cap_tiyn = terms.places * rate
    months = (contract.period_end.year - contract.period_start.year) * 12 + \
        contract.period_end.month - contract.period_start.month + 1
    contract.amount_cap_tiyn = contract.monthly_cap_tiyn * months
    db.session.flush()
    return rate
