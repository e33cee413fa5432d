"""What an act is checked against besides the registries: the terms under which the school is funded.

Verification asks :func:`terms_for` once per act, or :func:`terms_for_acts` once for many (a provider may
offer a ``many`` attribute answering for a list of acts at once; otherwise it is asked act by act). The
default provider knows only the school's design capacity; the state-order lifecycle registers a provider
that reads the school's active contract (levels, places, amount cap). The terms carry no licence period: the
licence registry decides which days are covered (``app.acts.verification``), so a renewal registered after the
contract was signed pays on. Providers are tried
newest first; the first non-None answer wins.
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


def terms_for(act) -> ActTerms:
    for provider in _providers:
        terms = provider(act)
        if terms is not None:
            return terms
    return ActTerms(design_capacity=act.school.design_capacity)


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
        found[act.id] = ActTerms(design_capacity=act.school.design_capacity)
    return found
