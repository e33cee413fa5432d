"""Amending a signed contract: who may, what an amendment asks for, and which terms apply to a month.

An amendment changes the places per level, the amount cap or the end of the term of an *active* contract, from a
month on (``effective_from``) and for a stated reason. The contract row then holds the terms in force now; the
amendments keep what applied before, so a month keeps the terms it was funded under: :func:`terms_on` answers
"which places and caps apply to this month" for verification and payment. The change itself is made by
:func:`app.contracts.operations.amend_contract` (the one door that writes the audit event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from app.contracts.models import AMENDABLE_TERMS, Contract
from app.engine.errors import FormInvalid
from app.engine.forms import direction_controls, direction_controls_refused
from app.people.roles import Role
from app.registry.identifiers import iins_in_text
from app.user_input import NotTenge, ascii_int, calendar_date, tiyn_of_tenge

AMENDING_ROLES = (Role.DEPARTMENT_OFFICIAL.value, Role.DEPARTMENT_HEAD.value)
RATIONALE_MIN, RATIONALE_MAX = 10, 1000
PLACES_MAX = 100_000


@dataclass(frozen=True)
class AmendmentRequest:
    """What the department asks to change; ``revision`` is the number of amendments the asker saw (the lock)."""

    places_primary: int
    places_basic: int
    places_secondary: int
    amount_cap_tiyn: int
    period_end: date
    effective_from: date
    rationale: str
    revision: int


def rationale_problem(rationale: str) -> str | None:
    """Why a reason cannot be an amendment's, or None. The reason is published in the open data with the contract
    (OCDS ``contracts[].amendments[].rationale``, app/public/open_contracting.py), which holds no child's IIN
    (DESIGN §3): an official explaining the places of one pupil by the pupil's IIN published it to everyone."""
    if not RATIONALE_MIN <= len(rationale) <= RATIONALE_MAX:
        return _("Give the reason for the amendment (%(min)s to %(max)s characters).",
                 min=RATIONALE_MIN, max=RATIONALE_MAX)
    if direction_controls(rationale):  # the director is told the reason, and the contract page shows it
        return direction_controls_refused()
    if iins_in_text(rationale):
        return _("The reason is published in the open data with the contract: write it without a person's IIN "
                 "(and without children's names).")
    return None


def may_amend(user, contract: Contract) -> bool:
    """The education department of the contract's region (official or head) amends; schools, the operator and
    the auditor do not (the auditor reads everything and changes nothing)."""
    return (user.is_authenticated and user.role in AMENDING_ROLES and user.region_id is not None
            and user.region_id == contract.region_id and amendable_instrument(contract))


def amendable_instrument(contract: Contract) -> bool:
    """Amendments change places per school level priced by the order's norms: a schools' contract. A dormitory
    contract's places are priced by its own rate per place, which this amendment does not carry — amended here,
    its monthly cap became 0 ₸ and every place was withheld."""
    from app.instruments import SCHOOLS

    return (contract.instrument or SCHOOLS) == SCHOOLS


def terms_now(contract: Contract) -> dict:
    return {name: _stored(getattr(contract, name)) for name in AMENDABLE_TERMS}


def signed_terms(contract: Contract) -> dict:
    """The terms both parties signed: before the first amendment, or as they are if never amended."""
    return dict(contract.amendments[0].before) if contract.amendments else terms_now(contract)


def terms_on(contract: Contract, period: date) -> dict:
    """The amendable terms in force for the month ``period``: those of the last amendment effective by then,
    else those signed. (Effective months never go back: each amendment is effective no earlier than the last.)"""
    in_force = [a for a in contract.amendments if a.effective_from <= period]
    if in_force:
        return dict(in_force[-1].after)
    return signed_terms(contract)


def earliest_effective(contract: Contract) -> date:
    """The first month an amendment may apply to: not before the term, not a month whose act is decided (accepted
    or paid: Decided is final) or on its way to a decision (submitted, verified against the terms then: amended
    under it, it was accepted at an amount the new cap refused to pay — an act stuck for good), not before the
    last amendment's month. A returned act is verified again when resubmitted, under the terms then in force."""
    from sqlalchemy import func, select

    from app.acts.models import Act
    from app.contracts.models import ContractAct
    from app.extensions import db

    last_decided = db.session.scalar(select(func.max(ContractAct.period)).join(Act, Act.id == ContractAct.act_id)
                                     .where(ContractAct.contract_id == contract.id,
                                            Act.status.in_(("submitted", "verified", "accepted", "paid"))))
    candidates = [contract.period_start.replace(day=1), *(a.effective_from for a in contract.amendments)]
    if last_decided is not None:
        candidates.append(date(last_decided.year + last_decided.month // 12, last_decided.month % 12 + 1, 1))
    return max(candidates)


def _stored(value):
    return value.isoformat() if isinstance(value, date) else value


def parse_form(form) -> AmendmentRequest:
    """The amendment form's fields, checked for shape (the operation checks them against the contract).
    Every field's problem is reported at once, in the user's language (FormInvalid)."""
    errors: dict[str, str] = {}
    places = {}
    for level in ("primary", "basic", "secondary"):
        # ascii_int reads at most a few digits: int() of thousands of them raised ValueError (a 500)
        count = ascii_int((form.get(f"places_{level}") or "").strip(), max_digits=len(str(PLACES_MAX)))
        if count is None or count > PLACES_MAX:
            errors[f"places_{level}"] = _("Enter a whole number of places from 0 to %(max)s.", max=PLACES_MAX)
        else:
            places[level] = count
    amount = amount_field(form, errors)
    period_end = _date(form.get("period_end"))
    if period_end is None:
        errors["period_end"] = _("Enter the last day of the term as a date.")
    effective = _month(form.get("effective_from"))
    if effective is None:
        errors["effective_from"] = _("Choose the first month the amendment applies to.")
    rationale = (form.get("rationale") or "").strip()
    problem = rationale_problem(rationale)
    if problem:
        errors["rationale"] = problem
    if (form.get("confirm") or "") not in ("true", "on", "1", True):
        errors["confirm"] = _("Confirm the amendment.")
    revision = ascii_int(str(form.get("revision") or ""))
    if revision is None:
        errors["revision"] = _("The form is out of date: open the amendment page again.")
    if errors:
        raise FormInvalid(errors)
    return AmendmentRequest(places["primary"], places["basic"], places["secondary"], amount, period_end, effective,
                            rationale, revision)


def amount_field(form, errors: dict[str, str]) -> int | None:
    """The form's ``amount`` in tiyn (app/user_input.py), or None with the reason under ``errors["amount"]``."""
    try:
        return tiyn_of_tenge(form.get("amount") or "", _("Enter the amount in tenge, e.g. 150000000 or 150000000.50."))
    except NotTenge as refused:
        errors["amount"] = refused.message
        return None


def _date(value) -> date | None:
    return calendar_date(str(value or "").strip(), day_first=True)


def _month(value) -> date | None:
    """``YYYY-MM`` (a month input) or an ISO date: the first day of that month."""
    text = str(value or "").strip()
    found = calendar_date(f"{text}-01" if len(text) == 7 else text)
    return None if found is None else found.replace(day=1)
