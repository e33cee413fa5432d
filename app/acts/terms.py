"""What an act is checked against besides the registries: the terms under which the school is funded.

Verification asks :func:`terms_for` once per act, or :func:`terms_for_acts` once for many (a provider may
offer a ``many`` attribute answering for a list of acts at once; otherwise it is asked act by act). The
default provider knows only the school's design capacity (a decided act's as its verification pinned it:
:func:`design_capacity_of`); the state-order lifecycle registers a provider that reads the school's active contract
(levels, places, amount cap, the capacity signed). The terms carry no licence period: the licence registry decides
which days are covered (``app.acts.verification``), so a renewal registered after the contract was signed pays on.
Providers are tried newest first; the first non-None answer wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ActTerms:
    allowed_grades: frozenset[int] | None = None  # None: any grade 1–11
    design_capacity: int | None = None  # students at most (over_capacity rule)
    amount_cap_tiyn: int | None = None  # the act's amount may not exceed this
    contract_id: int | None = None
    #: monthly norm per level under this contract (its region's order, its locality), as (level, tiyn) pairs;
    #: None: the academic year's default norms (StudentNorm) apply
    norms_tiyn: tuple[tuple[str, int], ...] | None = None
    #: places contracted per level, as (level, places) pairs (over_contracted_places rule); None: no contract
    places_by_level: tuple[tuple[str, int], ...] | None = None
    #: what the contract's amount has left for this act (its own lines and the adjustments it settles); None: no
    #: contract
    total_left_tiyn: int | None = None


TermsProvider = Callable[[object], ActTerms | None]
_providers: list[TermsProvider] = []


def register_terms_provider(provider: TermsProvider) -> TermsProvider:
    _providers.insert(0, provider)
    return provider


#: An act whose money is decided (app.acts.adjustments.DECIDED): its month is repriced, never verified again.
_DECIDED = ("accepted", "paid")


def design_capacity_of(act) -> int | None:
    """The design capacity an act without a contract is held to (a pilot school: over_capacity, and the free places
    a top-up of its month may take — app.acts.topups).

    An open act: the school's capacity as it is now. A decided one: the capacity its lines were verified against,
    pinned on the act by the verification (``Act.verified_capacity``). The administrator may edit the school's
    capacity at any time; had a decided month followed the edit, raising it would top up places the school did not
    have when the month was accepted (money paid for places it never had), lowering it would claw back places it
    had. The accepted amount is final except by adjustments on registry evidence (DESIGN.md §3), and an edit of the
    organisation's record is no such evidence. Pinned on the act rather than kept as a dated history of the school's
    capacity: the act is what is decided, verification writes its totals in the same statement, and a late act of
    an undecided month still follows the capacity as it is now. An act decided before migration 0037 that nothing
    pinned (none in a migrated database) reads the school's capacity, as before."""
    if act.status in _DECIDED and act.capacity_pinned:
        return act.verified_capacity
    return act.school.design_capacity


def terms_for(act) -> ActTerms:
    for provider in _providers:
        terms = provider(act)
        if terms is not None:
            return terms
    return ActTerms(design_capacity=design_capacity_of(act))


def terms_for_acts(acts) -> dict[int, ActTerms]:
    """:func:`terms_for` of every act, by act id — the same answers, asked of each provider once per batch."""
    found: dict[int, ActTerms] = {}
    pending = list(acts)
    for provider in _providers:
        if not pending:
            break
        many = getattr(provider, "many", None)
        answers = many(pending) if many is not None else {a.id: provider(a) for a in pending}
        rest = []
        for act in pending:
            terms = answers.get(act.id)
            if terms is None:
                rest.append(act)
            else:
                found[act.id] = terms
        pending = rest
    for act in pending:
        found[act.id] = ActTerms(design_capacity=design_capacity_of(act))
    return found
