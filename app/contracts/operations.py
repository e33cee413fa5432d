"""Every state change of a contract passes through here and writes its audit event."""

from __future__ import annotations

import logging
from calendar import monthrange
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app import clock
from app.acts.models import Act, ActAdjustment
from app.acts.operations import open_monthly_act
from app.acts.verification import academic_year
from app.applications.models import Application
from app.audit.facts import contract_facts
from app.audit.operations import record_event
from app.contracts.documents import bytes_to_sign
from app.contracts.models import Contract, ContractAct, ContractAmendment, ContractSignature
from app.engine.data_names import reserve_names
from app.engine.errors import DomainConflict, DomainRefused, Spoken
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import format_day, format_month
from app.instruments import instrument_of
from app.limits import count_wrong_session_password, session_password_retry_after
from app.orders.models import LEVELS, StateOrder
from app.orders.operations import local_midnight
from app.payments.models import Payment
from app.people.models import Organisation
from app.people.roles import Role
from app.processes.operations import guard_record
from app.words import N_

log = logging.getLogger(__name__)
CONTRACT_PROCESS = "contract"
SIGNING_ORDER = ("school_director", "department_head")


def _chain(contract: Contract) -> str:
    return f"instance:{contract.instance_id}" if contract.instance_id else f"contract:{contract.id}"


def generate_contract(application: Application, actor=None) -> Contract:
    """The contract from the allocation: parties, period, places per level, monthly and annual caps."""
    if application.status != "allocated":
        raise DomainRefused.said(N_("Only an allocated application gets a contract."))
    existing = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).first()
    if existing is not None:
        return existing
    order = application.order
    monthly = sum(application.places(lv) * order.norm(lv, application.locality) for lv in LEVELS)
    department = db.session.scalars(select(Organisation).where(
        Organisation.kind == "department", Organisation.region_id == order.region_id)).first()
    contract = Contract(
        number=f"C-{order.number[3:]}-{application.id:05d}", order_id=order.id, application_id=application.id,
        school_id=application.school_id, department_id=department.id if department else None,
        region_id=order.region_id, period_start=order.period_start, period_end=order.period_end,
        places_primary=application.places_primary, places_basic=application.places_basic,
        places_secondary=application.places_secondary, design_capacity=application.design_capacity,
        locality=application.locality, iban=application.iban, licence_number=application.licence_number,
        licence_valid_until=application.licence_valid_until, monthly_cap_tiyn=monthly,
        amount_cap_tiyn=monthly * order.months, status="awaiting_director", created_at=clock.now(),
    )
    db.session.add(contract)
    db.session.flush()
    instance = start_instance(
        CONTRACT_PROCESS, title=f"{contract.number} · {application.school.name}", actor=actor,
        region_id=contract.region_id, organisation_id=contract.school_id, subject_type="contract",
        subject_id=contract.id, data={"contract_id": contract.id},
    )
    contract.instance_id = instance.id
    record_event(_chain(contract), "contract.generated", "contract", contract.id,
                 actor_id=getattr(actor, "id", None),
                 details={"number": contract.number, "monthly_cap_tiyn": monthly,
                          "amount_cap_tiyn": contract.amount_cap_tiyn}, facts=contract_facts(contract))
    db.session.flush()
    return contract


HEAD_CAPACITY = "department_head"


def expected_signer(contract: Contract) -> str | None:
    """The capacity whose signature the contract waits for: the funded organisation's director (its instrument
    names the role), then the department head."""
    return {"awaiting_director": instrument_of(contract).director_role,
            "awaiting_head": HEAD_CAPACITY}.get(contract.status)


def check_signer(contract: Contract, user) -> str:
    """The capacity this user signs in, if it is their turn; otherwise DomainRefused saying why."""
    director = instrument_of(contract).director_role
    capacity = {director: director, Role.DEPARTMENT_HEAD.value: HEAD_CAPACITY}.get(user.role)
    schools = director == Role.SCHOOL_DIRECTOR.value
    if capacity is None:
        raise DomainRefused(_("Only the school director and the department head sign contracts.") if schools else
                            _("Only the dormitory director and the department head sign contracts."))
    if capacity == director and user.organisation_id != contract.school_id:
        raise DomainRefused(_("Only the director of this school can sign for it.") if schools else
                            _("Only the director of this dormitory can sign for it."))
    if capacity == HEAD_CAPACITY and user.region_id != contract.region_id:
        raise DomainRefused(_("Only the head of this region's department can sign for it."))
    expected = expected_signer(contract)
    if expected != capacity:
        if expected == director:
            raise DomainRefused(_("The school director signs first; the department head signs after.") if schools
                                else _("The dormitory director signs first; the department head signs after."))
        raise DomainRefused(_("This contract is not waiting for your signature."))
    return capacity


def sign_contract(contract: Contract, user, password: str, shown_sha256: str | None = None, *,
                  shown_required: bool = False) -> ContractSignature:
    """Re-authenticate, check it is this signer's turn, and sign the document's SHA-256 — only if it is the SHA-256
    of the document the signer was shown (``shown_sha256``; a person's form and an API client must send it:
    ``shown_required``)."""
    capacity = check_signer(contract, user)
    # The password is guessed no faster here than at the login (page, API token and task alike reach this door).
    wait = session_password_retry_after(user.id)  # the count the password change forms keep too
    if wait is not None:
        raise DomainRefused(_("Too many wrong passwords. Try again in %(minutes)s min; the contract was not signed.",
                              minutes=max(1, -(-wait // 60))))
    if not password or not user.check_password(password):
        count_wrong_session_password(user.id)
        log.warning("contract %s: signature refused, wrong password (user %s)", contract.number, user.id)
        raise DomainRefused(_("The password is not correct. The contract was not signed."))
    # the first signature stores the bytes it signs; the second signs those; either only if they are what was shown
    digest = bytes_to_sign(contract, shown_sha256, shown_required=shown_required)
    signature = ContractSignature(contract_id=contract.id, capacity=capacity, signer_id=user.id,
                                  document_sha256=digest, signed_at=clock.now())
    try:
        with db.session.begin_nested():  # the signature's unique (contract, capacity): a second tab loses here
            db.session.add(signature)
    except IntegrityError:
        raise DomainConflict(_("This contract has just been signed in this capacity (in another tab or by "
                               "another request). Nothing more was signed.")) from None
    contract.status = "active" if capacity == HEAD_CAPACITY else "awaiting_head"
    if contract.status == "active":
        contract.activated_at = clock.now()
    record_event(_chain(contract), "contract.signed", "contract", contract.id, actor_id=user.id,
                 details={"capacity": capacity, "document_sha256": digest, "number": contract.number},
                 facts=contract_facts(contract))
    db.session.flush()
    return signature


def activate(contract: Contract) -> None:
    if contract.status != "active" or len(contract.signatures) != 2:
        raise DomainRefused.said(N_("A contract becomes active only when both parties have signed."))
    record_event(_chain(contract), "contract.activated", "contract", contract.id, actor_id=None,
                 details={"number": contract.number})


def contract_months(contract: Contract) -> list[date]:
    months, current = [], contract.period_start.replace(day=1)
    while current <= contract.period_end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def contract_years(contract: Contract) -> dict[str, list[date]]:
    """The academic years (1 September – 31 August) the contract covers, in order, each with its months."""
    years: dict[str, list[date]] = {}
    for month in contract_months(contract):
        years.setdefault(academic_year(month), []).append(month)
    return years


def plan_next_month(contract: Contract) -> dict:
    """The first month of the contract without an act, and when it ends (its act opens then); ``year_end``: it is
    the last month of its academic year under the contract (once its act opens, that year's report is due)."""
    linked = set(db.session.scalars(select(ContractAct.period).where(ContractAct.contract_id == contract.id)))
    linked |= set(db.session.scalars(_decided_outside(contract)))
    months = contract_months(contract)
    pending = [m for m in months if m not in linked]
    if not pending:
        return {"period": None, "due": None, "last": True, "academic_year": None, "year_end": False}
    period = pending[0]
    after = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    year = academic_year(period)
    return {"period": period.isoformat(), "due": local_midnight(after).isoformat(), "last": len(pending) == 1,
            "academic_year": year, "year_end": period == contract_years(contract)[year][-1]}


def _decided_outside(contract: Contract):
    """The months of the contract whose act of the school was decided (accepted or paid) under no contract: a school
    paid without one (a pilot school) that signs a contract starting before those months, under an order placed in the
    middle of the year. Such an act keeps the terms it was decided under (DESIGN.md §3, decided is final) and is never
    linked to the contract: linked, the repricing of its month read the contract's norm instead of the one it was paid
    at (every line paid for part of the month topped up by the difference though NEDB had changed nothing), and its
    amount, never checked against the contract's caps, took the contract's amount."""
    return select(Act.period).where(Act.school_id == contract.school_id, Act.status.in_(COMMITTED),
                                    Act.period >= contract.period_start.replace(day=1),
                                    Act.period <= contract.period_end,
                                    ~select(ContractAct.id).where(ContractAct.act_id == Act.id).exists())


def month_has_ended(period: date) -> None:
    """A month's act lists what happened in the month: the contract's timer opens it once the month has ended. A
    timer fired early by hand (the cockpit) would have opened it, to be submitted and paid for days still ahead."""
    ends = local_midnight(date(period.year + period.month // 12, period.month % 12 + 1, 1))
    if clock.now() < ends:
        raise DomainRefused.said(N_("The act for %(month)s opens when the month has ended, on %(day)s."),
                                 month=Spoken.month(period), day=Spoken.day(ends.date()))


#: the contracts a school is funded under: signed by both sides (closed at its year-end report, it still was)
FUNDING = ("active", "closed")


def act_under_contract(school: Organisation, period: date, under=None):
    """The opening rule of every act (:func:`app.acts.operations.register_opening_rule`): a school funded under a
    contract has its acts under the active contract that covers the month — linked as it opens, whoever opens it
    — and none for a month that no such contract covers. A school never funded under a contract opens as before.
    ``under``: the contract whose timer opens the act (two contracts may cover one month: a new one signed before
    the old one ends), preferred when it covers the month.
    ``flask open-acts`` had opened such a school's act with no link: checked and paid with no places per level, no
    caps, the year's default norms — and for a month after the contract had ended."""
    contracts = list(db.session.scalars(select(Contract).where(Contract.school_id == school.id,
                                                               Contract.status.in_(FUNDING))))
    if not contracts:
        _not_funded_yet(school, period)
        return None
    covering = [c for c in contracts if c.status == "active" and period in contract_months(c)]
    if not covering:
        raise DomainRefused.said(N_("%(school)s is funded under its contract, and no active contract of the school "
                                    "covers %(month)s: no act is opened for that month."), school=school.name,
                                 month=Spoken.month(period))
    contract = under if under in covering else min(covering, key=lambda c: c.period_start)

    def link(act: Act) -> None:
        db.session.add(ContractAct(contract_id=contract.id, act_id=act.id, period=period))
        record_event(_chain(contract), "contract.act_opened", "act", act.id, actor_id=None,
                     details={"act": act.number, "period": f"{period:%Y-%m}"})

    return link


def _not_funded_yet(school: Organisation, period: date) -> None:
    """A school with no signed contract that has applied to a state order starting on or before the month is funded
    under a contract or not at all: while its contract awaits signatures, after its application was refused, and in
    the months no order covers (June to August, or after its order's last month), no act opens. ``flask open-acts``
    had opened such a school's act with no contract — checked at the year's default norms, no places per level, no
    cap, and paid before the contract was signed, to a school the department had refused, or for the summer after a
    refusal. A school that never applied (the pilot's schools) opens as before, and so do the months before the
    first order it applied to."""
    applied = db.session.scalar(select(Application.id).join(StateOrder, StateOrder.id == Application.order_id)
                                .where(Application.school_id == school.id, StateOrder.period_start <= period)
                                .limit(1))
    if applied is not None:
        raise DomainRefused.said(N_("%(school)s takes part in the state order and has no signed contract covering "
                                    "%(month)s: no act is opened for that month."), school=school.name,
                                 month=Spoken.month(period))


def open_contract_act(contract: Contract, period: date) -> Act:
    """Open the month's act under this contract (or link the act the school already has for that month)."""
    if contract.status != "active":
        raise DomainRefused.said(N_("Acts are opened only under an active contract."))
    act = db.session.scalars(select(Act).where(Act.school_id == contract.school_id, Act.period == period)).first()
    if act is None:
        act = open_monthly_act(contract.school, period, under=contract)  # linked as it opens (act_under_contract)
        db.session.flush()
    # An act decided under no contract keeps those terms, unlinked (:func:`_decided_outside`).
    if db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first() is None \
            and act.status not in COMMITTED:
        db.session.add(ContractAct(contract_id=contract.id, act_id=act.id, period=period))
        record_event(_chain(contract), "contract.act_opened", "act", act.id, actor_id=None,
                     details={"act": act.number, "period": f"{period:%Y-%m}"})
        db.session.flush()
        if act.status == "verified":
            # Verified before the contract was signed (no places, caps or contract norms): accepted as it stood, it was
            # paid for pupils beyond the contract's places, or refused at payment for good above its monthly cap.
            from app.reports.operations import verify_again

            verify_again([act.id], {"contract": contract.id})
    return act


def contract_acts(contract: Contract) -> list[Act]:
    return list(db.session.scalars(select(Act).join(ContractAct, ContractAct.act_id == Act.id)
                                   .where(ContractAct.contract_id == contract.id).order_by(Act.period)))


#: An act whose amount is owed under its contract: accepted (to be paid exactly that) or paid.
COMMITTED = ("accepted", "paid")


def committed_under(contract_ids, statuses=COMMITTED) -> dict[int, int]:
    """Per contract, what its acts in ``statuses`` (accepted or paid) take of its amount: their amounts, less the
    adjustments they carry for months of another contract. A claw-back of last year's month, settled on this
    year's act, lowers what the school is paid but makes no room in this year's contract (1,385,000 ₸ of lines
    were paid under a contract of 1,000,000 ₸)."""
    found: dict[int, int] = {}
    ids = list(contract_ids)
    for i in range(0, len(ids), 900):
        found.update(db.session.execute(
            select(ContractAct.contract_id, func.coalesce(func.sum(Act.amount_tiyn), 0))
            .join(Act, Act.id == ContractAct.act_id)
            .where(ContractAct.contract_id.in_(ids[i : i + 900]), Act.status.in_(statuses))
            .group_by(ContractAct.contract_id)).all())
        for contract_id, foreign in _foreign_adjustments(ids[i : i + 900], statuses).items():
            found[contract_id] = found.get(contract_id, 0) - foreign
    return {k: int(v) for k, v in found.items()}


def _foreign_adjustments(contract_ids, statuses, act_id: int | None = None) -> dict[int, int]:
    """Per contract, the adjustments its acts in ``statuses`` carry for acts that are not under that contract."""
    original_here = aliased(ContractAct)
    query = (select(ContractAct.contract_id, func.coalesce(func.sum(ActAdjustment.amount_tiyn), 0))
             .join(Act, Act.id == ContractAct.act_id).join(ActAdjustment, ActAdjustment.act_id == Act.id)
             .outerjoin(original_here, and_(original_here.act_id == ActAdjustment.original_act_id,
                                            original_here.contract_id == ContractAct.contract_id))
             .where(ContractAct.contract_id.in_(list(contract_ids)), Act.status.in_(statuses),
                    original_here.act_id.is_(None)))
    if act_id is not None:
        query = query.where(Act.id == act_id)
    return {k: int(v) for k, v in db.session.execute(query.group_by(ContractAct.contract_id)).all()}


def unsettled_under(contract: Contract) -> list:
    """The registry corrections of the contract's decided months that no act has settled yet
    (:func:`app.acts.adjustments.unsettled_corrections`): the school's next act settles them; with none to come (the
    contract's last month decided, its year-end report due) this is where they are seen at all. Not the time-barred
    claw-backs (not owed: :func:`corrections_under` has them too)."""
    from app.acts.adjustments import owed

    return owed(corrections_under(contract))


def corrections_under(contract: Contract) -> list:
    """:func:`unsettled_under` and the time-barred claw-backs of the contract's months (``time_barred``)."""
    from app.instruments import instrument_of

    unsettled = instrument_of(contract).unsettled
    if unsettled is None:
        return []
    own = set(db.session.scalars(select(ContractAct.act_id).where(ContractAct.contract_id == contract.id)))
    return [u for u in unsettled(contract.school) if u.original.id in own] if own else []


def taken_by(act: Act, contract_id: int) -> int:
    """What one act takes of its contract's amount: its amount, less what it settles for another contract's acts."""
    return (act.amount_tiyn or 0) - _foreign_adjustments([contract_id], (act.status,), act.id).get(contract_id, 0)


def paid_under(contract: Contract) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_tiyn), 0)).join(ContractAct, ContractAct.act_id == Payment.act_id)
        .where(ContractAct.contract_id == contract.id, Payment.returned_on.is_(None))) or 0  # returned: not paid


def close(contract: Contract) -> None:
    if contract.status != "active":
        raise DomainRefused.said(N_("Only an active contract can be closed."))
    contract.status = "closed"
    contract.closed_at = clock.now()
    record_event(_chain(contract), "contract.closed", "contract", contract.id, actor_id=None,
                 details={"number": contract.number, "paid_tiyn": paid_under(contract)})


def month_end(period: date) -> date:
    return period.replace(day=monthrange(period.year, period.month)[1])


def amend_contract(contract: Contract, actor, request) -> ContractAmendment:
    """Change an active contract's places, amount cap or term from a month on, for a reason (a supplementary
    agreement): the one door for it, checked here whoever calls (page or API), audited with the digests of the
    terms before and after. Acts already decided keep the terms they were decided under (Decided is final), so
    an amendment takes effect only after the last decided month.

    ``request`` is an :class:`app.contracts.amendments.AmendmentRequest`; ``request.revision`` is the number of
    amendments the department saw: if another amendment came first, ConflictError and nothing changes."""
    from app.audit.facts import terms_sha256
    from app.contracts.amendments import (
        amendable_instrument,
        earliest_effective,
        may_amend,
        rationale_problem,
        terms_now,
    )
    from app.contracts.models import AMENDABLE_TERMS
    from app.engine.errors import ConflictError, FormInvalid
    from app.i18n import format_tenge

    if not amendable_instrument(contract):
        raise DomainRefused(_("A dormitory contract cannot be amended here: its places are priced by its own rate "
                              "per place. Conclude a new contract for the changed places."))
    if not may_amend(actor, contract):
        raise DomainRefused(_("Only the education department of the contract's region amends it."))
    if contract.status != "active":
        raise DomainRefused(_("Only an active contract can be amended."))
    if request.revision != len(contract.amendments):
        raise ConflictError(_("Someone amended this contract meanwhile. Review its current terms and amend again."))
    errors: dict[str, str] = {}
    places = {"primary": request.places_primary, "basic": request.places_basic,
              "secondary": request.places_secondary}
    total = sum(places.values())
    if total == 0:
        errors["places_primary"] = _("A contract funds at least one place.")
    elif contract.design_capacity is not None and total > contract.design_capacity:
        errors["places_primary"] = _("%(total)s places exceed the building's design capacity of %(capacity)s.",
                                     total=total, capacity=contract.design_capacity)
    linked = sorted(db.session.scalars(select(ContractAct.period).where(ContractAct.contract_id == contract.id)))
    order_end = contract.order.period_end
    if request.period_end < contract.period_start or request.period_end > order_end:
        errors["period_end"] = _("The term ends between %(start)s and the end of the state order's period, %(end)s.",
                                 start=format_day(contract.period_start), end=format_day(order_end))
    elif request.period_end != month_end(request.period_end):
        # Each month of the term has an act paying the whole month's days NEDB gives (the act does not know the term's
        # last day): a term ending on 15 April had April paid to its 30th.
        errors["period_end"] = _("The term ends on the last day of a month (e.g. %(date)s): each month of the term "
                                 "is paid in full by its act.", date=format_day(month_end(request.period_end)))
    elif linked and request.period_end < month_end(linked[-1]):
        errors["period_end"] = _("The term cannot end before %(date)s: an act is already open for that month.",
                                 date=format_day(month_end(linked[-1])))
    effective = request.effective_from
    earliest = earliest_effective(contract)
    if effective < earliest:
        errors["effective_from"] = _("The amendment can apply from %(month)s on: earlier months are decided or "
                                     "already amended.", month=format_month(earliest))
    elif effective > request.period_end:
        errors["effective_from"] = _("The amendment must apply from a month within the term.")
    # The acceptance check takes this lock too (contracts.handlers.within_contract_amount_at_acceptance): an act
    # accepted while this amendment is being written is counted in what the contract owes, or waits for it.
    db.session.execute(select(Contract.id).where(Contract.id == contract.id).with_for_update(key_share=True))
    paid = paid_under(contract)
    # What the contract already owes: paid, accepted, and on its way to a decision (submitted or verified). An
    # amount below it left an accepted act that could never be paid — and no act or amendment could clear it.
    owed = committed_under([contract.id], ("submitted", "verified", *COMMITTED)).get(contract.id, 0)
    if request.amount_cap_tiyn <= 0:
        errors["amount"] = _("The amount must be more than zero.")
    elif request.amount_cap_tiyn < paid:
        errors["amount"] = _("The amount cannot be less than what has been paid already, %(paid)s.",
                             paid=format_tenge(paid))
    elif request.amount_cap_tiyn < owed:
        errors["amount"] = _("The amount cannot be less than what the contract's acts already claim (paid, accepted "
                             "or awaiting a decision), %(owed)s.", owed=format_tenge(owed))
    elif request.amount_cap_tiyn > contract.amount_cap_tiyn:
        # An increase comes out of the order's budget, as an allocation does (2,000,000,000 ₸ was accepted under
        # an order of 900,000,000 ₸).
        from app.orders.operations import allocated_tiyn

        left = contract.order.budget_tiyn - allocated_tiyn(contract.order)
        if request.amount_cap_tiyn - contract.amount_cap_tiyn > left:
            errors["amount"] = _("The increase of %(more)s exceeds what the state order's budget has left, %(left)s.",
                                 more=format_tenge(request.amount_cap_tiyn - contract.amount_cap_tiyn),
                                 left=format_tenge(max(left, 0)))
    problem = rationale_problem(request.rationale.strip())  # the API's reason too: it is published
    if problem:
        errors["rationale"] = problem
    if errors:
        raise FormInvalid(errors)
    before_sha256 = terms_sha256(contract)
    before = terms_now(contract)
    monthly = sum(places[lv] * contract.order.norm(lv, contract.locality) for lv in LEVELS)
    after = {"places_primary": places["primary"], "places_basic": places["basic"],
             "places_secondary": places["secondary"], "monthly_cap_tiyn": monthly,
             "amount_cap_tiyn": request.amount_cap_tiyn, "period_end": request.period_end.isoformat()}
    if after == before:
        raise DomainRefused(_("Nothing to amend: these are the contract's terms now."))
    for name in AMENDABLE_TERMS:
        value = after[name]
        setattr(contract, name, date.fromisoformat(value) if name == "period_end" else value)
    amendment = ContractAmendment(
        contract=contract, seq=len(contract.amendments) + 1, effective_from=effective,
        rationale=request.rationale.strip(), before=before, after=after, before_sha256=before_sha256,
        after_sha256=terms_sha256(contract), amended_by_id=actor.id, amended_at=clock.now())
    db.session.add(amendment)
    db.session.flush()  # the unique (contract, seq) refuses a second amendment of the same version here
    record_event(_chain(contract), "contract.amended", "contract", contract.id, actor_id=actor.id,
                 details={"number": contract.number, "amendment": amendment.seq,
                          "effective_from": f"{effective:%Y-%m}", "comment": amendment.rationale,
                          "before": before, "after": after, "before_sha256": amendment.before_sha256,
                          "after_sha256": amendment.after_sha256},
                 facts=contract_facts(contract))
    tell_school(contract, "contract_amended", start=f"{amendment.effective_from:%Y-%m}")
    return amendment


def tell_school(contract: Contract, kind: str, **params) -> None:
    """The school's director and accountants find what became of their contract in their bell (and e-mail): an
    amendment, a top-up paid outside the acts that the bank returned (app.contracts.settlements)."""
    from app.notifications.operations import notify, recipients_for

    for role in (Role.SCHOOL_DIRECTOR.value, Role.SCHOOL_ACCOUNTANT.value):
        for person in recipients_for(role, contract.region_id, contract.school_id):
            notify(person, kind, subject=contract.number, contract_id=contract.id, **params)


# A contract's process collects its signatures and opens its monthly acts: cancelled, an active contract stayed
# "in force" with no act ever opened again.
guard_record(Contract, ("awaiting_director", "awaiting_head", "active"), lambda contract: _(
    "This process carries contract %(number)s, which only it signs, funds month by month and closes: cancelling "
    "would strand the contract. Suspend the process instead.", number=contract.number))


#: the subject id this module starts its process with (a form field of this name is refused)
reserve_names("contract_id")
