"""Funding instruments: what the schools' state order and the dormitory-places order share is written once.

Orders, applications, contracts with terms, monthly acts with lines, guarded writes, acceptance, payment exactly
once, reconciliation and public figures are generic (``app.acts``, ``app.payments``, ``app.contracts``, …); each
act, order, application and contract names its ``instrument``. An instrument supplies what differs: the kind of
organisation it funds, its monthly-act process, its rule set and the set-based pass that runs it, what its act
lines carry beyond the generic line (prefill, storage, the lines' panel), and how corrections of decided months
are settled. The generic code asks :func:`instrument_of` and never names an instrument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SCHOOLS = "schools"


@dataclass(frozen=True)
class Instrument:
    code: str
    title: object  # lazy string
    organisation_kind: str  # the organisations it funds (``organisation.kind``)
    monthly_process: str  # the BPMN process of its monthly act
    rules: Mapping[str, object]  # code → app.acts.rules.Rule, in precedence order
    #: verify(acts) → {act_id: VerificationSummary}: the rule set over every line of ``acts``, in the caller's
    #: transaction, writing lines' outcomes, amounts and the acts' totals
    verify: Callable[[Sequence], dict]
    prefill: Callable[[object], list[dict]]  # the act form's lines when the act is opened or returned
    #: line_values(act, line) → the generic line's ``grade`` and ``days_attended`` from a submitted form line
    #: (None: the form line carries them as they are)
    line_values: Callable[[object, dict], dict] | None = None
    #: the JSON Schema of one act line the instrument's line_values and store_lines read (app.acts.shapes): what
    #: the act form's lines must carry whatever form a process owner published (None: the generic line)
    line_shape: Mapping | None = None
    #: store_lines(act, lines): the instrument's part of each submitted line, after the generic lines exist
    store_lines: Callable[[object, list[dict]], None] | None = None
    #: settle(acts) → {act_id: [settled adjustments]}: what follows a verification of ``acts`` — the schools settle
    #: corrections of months already decided on them; the dormitories re-verify other open acts claiming the
    #: same students
    settle: Callable[[Sequence], dict] | None = None
    #: unsettled(organisation) → [app.acts.adjustments.Unsettled]: the corrections of its decided months that its
    #: next act would settle (read only; shown on the contract and its year-end report when no act is to come)
    unsettled: Callable[[object], list] | None = None
    #: unsettled_in_month(probes, period, top_ups_only) → [Unsettled]: the same for many organisations at once, of one
    #: month's lines only (``probes``: each organisation's next act, app.acts.adjustments.next_act_probe; of the
    #: organisations in ``top_ups_only`` the top-ups are enough) — the reconciliation's "adjusted, unsettled"
    unsettled_in_month: Callable[[Sequence, object, object], list] | None = None
    organisation_label: object = ""  # lazy string: "School", "Dormitory"
    #: the public portal's words for what the instrument funds, never added up across instruments (lazy strings):
    #: the organisations ("Schools"), how many had a decided month ("Schools funded"), the students paid for in a
    #: month ("Children funded": distinct IINs, not lines — app.public.figures) and over several months, each once a
    #: month ("Child-months funded"); ``funded_unit``: the downloads' code
    organisations_label: object = ""
    organisations_funded_label: object = ""
    funded_label: object = ""
    funded_months_label: object = ""
    funded_unit: str = ""
    level_label: object = ""  # lazy string: what the generic line's ``grade`` means ("Grade", "Course")
    submit_hint: object = ""  # lazy string: where the act form's lines come from
    #: withheld_expr(period): SQL expression over ``ActLine`` (any of the month's acts) of what the line would earn
    #: if it were paid in full for the days it claims — what an excluded line withholds
    withheld_expr: Callable[[object], object] | None = None
    accountant_role: str = "school_accountant"  # who applies and submits acts for the funded organisation
    director_role: str = "school_director"  # who signs its contracts (and the signature's capacity)
    application_process: str = "application"  # the BPMN process of an application to such an order
    contract_body: str = "contracts/_document_body.html"  # one language of the printable contract
    eligibility_rules: Mapping[str, object] = field(default_factory=dict)  # code → reason, for applications
    year_end_process: str = "year_end"  # the BPMN process of a contract's year-end report
    order_process: str = "state_order"  # the BPMN process of placing such an order (the department's alone)
    contract_process: str = "contract"  # the BPMN process of such a contract (signed by director and head)
    #: contracted_places(contract, period) → the places the contract funds in that month (terms in force then)
    contracted_places: Callable[[object, object], int] | None = None
    #: Open Contracting (English, as the releases' language): the contracting process's title and the call's words
    ocds_title: str = "State educational order"
    ocds_call: str = "Call for applications from private schools"
    #: ocds_items(stage, record, terms) → the items of a release ("tender": the order; "award": the application;
    #: "contract": the contract with its terms as signed or amended); None: the schools' places per level
    ocds_items: Callable[[str, object, dict | None], list[dict]] | None = None


_INSTRUMENTS: dict[str, Instrument] = {}


def register_instrument(instrument: Instrument) -> Instrument:
    _INSTRUMENTS[instrument.code] = instrument
    return instrument


def instrument(code: str) -> Instrument:
    try:
        return _INSTRUMENTS[code]
    except KeyError:
        raise LookupError(f"No funding instrument {code!r} is registered") from None


def instrument_of(record) -> Instrument:
    """The instrument of an act, order, application or contract (anything with ``instrument``)."""
    return instrument(getattr(record, "instrument", None) or SCHOOLS)


def instrument_for_kind(organisation_kind: str) -> Instrument:
    for candidate in _INSTRUMENTS.values():
        if candidate.organisation_kind == organisation_kind:
            return candidate
    raise LookupError(f"No funding instrument funds organisations of kind {organisation_kind!r}")


def funding_instrument_of(user) -> Instrument | None:
    """The instrument that funds the user's organisation (a school, a dormitory), or None (a department, the
    operator, the ministry)."""
    kind = getattr(getattr(user, "organisation", None), "kind", None)
    try:
        return instrument_for_kind(kind) if kind else None
    except LookupError:
        return None


def instruments() -> list[Instrument]:
    return list(_INSTRUMENTS.values())


def all_rules() -> dict[str, object]:
    """Every instrument's rules by code (pages that show lines of several instruments: reports, portal)."""
    merged: dict[str, object] = {}
    for candidate in _INSTRUMENTS.values():
        for code, rule in candidate.rules.items():
            merged.setdefault(code, rule)
    return merged
