"""Open Contracting Data Standard 1.1: the state order's contracting processes as releases and records.

One contracting process (one ``ocid``) per order of any funding instrument (its title and items are the
instrument's: the schools' places per level, the dormitories' places at a rate per place): the order and its budget
(``planning``), the call for applications (``tender``), each allocation of places (``award``), each signed contract
(``contract``), each payment of an act under a contract (``implementation`` transaction) and each payment the bank
returned (``implementationUpdate``: a negative transaction beside the payment's, which stays as published).
Releases are built from the audited operations' tables, never typed in; parties are identified by their BIN
(org-id scheme ``KZ-BIN``), amounts are in KZT. Records carry their releases and a compiled release merged by
ocdsmerge with the standard's own merge rules (the release schema shipped in ``app/public/ocds/``, so nothing is
fetched).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.acts.models import Act
from app.acts.report import students_paid_for
from app.applications.models import Application
from app.contracts.models import Contract, ContractAct
from app.extensions import db
from app.instruments import instrument_of
from app.orders.models import StateOrder
from app.payments.models import Payment
from app.people.models import Organisation
from app.public import figures
from app.registry.identifiers import without_iins

VERSION = "1.1"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
LEVEL_NAMES = {"primary": "Primary education (grades 1–4)", "basic": "Basic secondary education (grades 5–9)",
               "secondary": "General secondary education (grades 10–11)"}


@cache
def release_schema() -> dict:
    return json.loads((Path(__file__).parent / "ocds" / "release-schema.json").read_text(encoding="utf-8"))


@cache
def merger():
    """The merge rules come from the schema once per process (dereferencing it costs more than a page)."""
    import ocdsmerge

    return ocdsmerge.Merger(schema=release_schema())


def ocid(order: StateOrder) -> str:
    """Stable: the configured prefix and the order's number, which never changes once placed."""
    return f"{current_app.config['OCDS_OCID_PREFIX']}-{order.number}"


def _amount(tiyn: int) -> dict:
    value = Decimal(tiyn) / 100
    return {"amount": int(value) if value == value.to_integral_value() else float(value), "currency": "KZT"}


def _when(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    if value.tzinfo is None:  # SQLite gives naive datetimes; every one we store is UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class _Names:
    """The names as they were at a release's date. A release once published is never changed, but it was rebuilt
    from the organisation's (and region's) name of the day: a renamed school, department or operator — and a renamed
    region — changed every release that named them, under the same ids. Each rename is in the audit trail
    (``organisation.updated`` / ``region.updated``, the old and the new name): a release names a party as it was
    named when the release happened, so a rebuild after a rename gives the same bytes and the new name is published
    by the releases that come after it."""

    #: organisation id → its renames, oldest first: (when, the name it had until then)
    organisations: dict[int, list[tuple[datetime, str]]] = field(default_factory=dict)
    #: region id → its English renames, oldest first: (when, the English name it had until then)
    regions: dict[int, list[tuple[datetime, str]]] = field(default_factory=dict)

    @staticmethod
    def _as_of(renames: list[tuple[datetime, str]], now_named: str, when) -> str:
        moment = _moment(when)
        if moment is None:
            return now_named
        for renamed_at, before in renames:
            if renamed_at > moment:
                return before  # the name it had until its first rename after the release
        return now_named

    def org(self, org: Organisation, when) -> str:
        return self._as_of(self.organisations.get(org.id, []), org.name, when)

    def region(self, region, when) -> str:
        return self._as_of(self.regions.get(region.id, []), region.name_en, when)


def _moment(value) -> datetime | None:
    """A release's date as an aware UTC moment (a day is its UTC midnight, as :func:`_when` writes it)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_names() -> _Names:
    """Every rename of an organisation or a region, from the audit trail (one statement each; renames are rare)."""
    from app.audit.models import AuditEvent

    names = _Names()
    for kind, action, key, into in (("organisation", "organisation.updated", "name", names.organisations),
                                    ("region", "region.updated", "name_en", names.regions)):
        for object_id, at, details in db.session.execute(
                select(AuditEvent.object_id, AuditEvent.at, AuditEvent.details)
                .where(AuditEvent.object_type == kind, AuditEvent.action == action).order_by(AuditEvent.id)):
            change = ((details or {}).get("changes") or {}).get(key)
            if object_id is not None and isinstance(change, list) and len(change) == 2:
                into.setdefault(object_id, []).append((_moment(at), change[0]))
    for renames in (*names.organisations.values(), *names.regions.values()):
        renames.sort(key=lambda rename: rename[0])
    return names


def _party_ref(org: Organisation, names: _Names, when) -> dict:
    return {"id": f"KZ-BIN-{org.bin}", "name": names.org(org, when)}


def _party(org: Organisation, roles: list[str], names: _Names, when) -> dict:
    party = {**_party_ref(org, names, when), "identifier": {"scheme": "KZ-BIN", "id": org.bin,
                                                            "legalName": names.org(org, when)},
             "roles": roles}
    if org.region is not None:
        party["address"] = {"region": names.region(org.region, when), "countryName": "Kazakhstan"}
    return party


def _release(order: StateOrder, suffix: str, when, tags: list[str], buyer: Organisation | None, names: _Names,
             **sections) -> dict:
    release = {"ocid": ocid(order), "id": f"{ocid(order)}-{suffix}", "date": _when(when), "tag": tags,
               "initiationType": "tender", "language": "en"}
    parties = sections.pop("parties", [])
    if buyer is not None:
        release["buyer"] = _party_ref(buyer, names, when)
        parties = [_party(buyer, ["buyer", "procuringEntity"], names, when), *parties]
    if parties:
        release["parties"] = parties
    release.update(sections)
    return release


def _tender_status(order: StateOrder, today: date) -> str:
    if today < order.window_opens:
        return "planned"
    return "active" if today <= order.window_closes else "complete"


def _tender_updates(order: StateOrder, placed_status: str) -> list[tuple[str, datetime, str]]:
    """The call's status changes since it was placed, each once its day has come: (status, when, release suffix).
    The call's own release says the status of the day it was placed and never changes; the window opening and
    closing are releases of their own (``tenderUpdate``), dated by the order's window — a release rebuilt any later
    day is the same, and the compiled release follows the calendar."""
    today, updates = clock.today(), []
    if placed_status == "planned" and today >= order.window_opens:
        updates.append(("active", datetime.combine(order.window_opens, time(0, 0), tzinfo=UTC), "tender-active"))
    if placed_status != "complete" and today > order.window_closes:
        closed = order.window_closes + timedelta(days=1)
        updates.append(("complete", datetime.combine(closed, time(0, 0), tzinfo=UTC), "tender-complete"))
    return updates


@dataclass
class _Loaded:
    """Everything the releases of some orders need, read in a fixed handful of statements (not per order)."""

    departments: dict[int, Organisation]
    applications: dict[int, list[Application]]
    contracts: dict[int, list[Contract]]
    payments: dict[int, list[Payment]]
    payer: Organisation | None
    #: the payments whose amount is not published (app.public.figures.suppression)
    hidden_payments: set[int] = field(default_factory=set)
    #: the parties' and regions' names as they were at each release's date
    names: _Names = field(default_factory=_Names)


def load(orders: list[StateOrder]) -> _Loaded:
    order_ids = [o.id for o in orders] or [0]
    departments: dict[int, Organisation] = {}
    for dept in db.session.scalars(select(Organisation).where(Organisation.kind == "department")
                                   .order_by(Organisation.id.desc())):
        departments[dept.region_id] = dept  # the first department of a region wins
    applications: dict[int, list[Application]] = defaultdict(list)
    for app_ in db.session.scalars(select(Application).where(Application.order_id.in_(order_ids),
                                                             Application.status == "allocated")
                                   .options(selectinload(Application.school)).order_by(Application.number)):
        applications[app_.order_id].append(app_)
    contracts: dict[int, list[Contract]] = defaultdict(list)
    for contract in db.session.scalars(select(Contract).where(Contract.order_id.in_(order_ids),
                                                              Contract.status.in_(("active", "closed")))
                                       .options(selectinload(Contract.signatures), selectinload(Contract.school),
                                                selectinload(Contract.application),
                                                selectinload(Contract.amendments)).order_by(Contract.number)):
        contracts[contract.order_id].append(contract)
    contract_ids = [c.id for group in contracts.values() for c in group] or [0]
    payments: dict[int, list[Payment]] = defaultdict(list)
    hidden: set[int] = set()
    unbuilt: dict[int, list[int]] = defaultdict(list)  # act → its payments whose month the figures do not have yet
    for contract_id, payment, kind, school_id, period in db.session.execute(
            select(ContractAct.contract_id, Payment, Act.instrument, Act.school_id, Act.period)
            .join(Payment, Payment.act_id == ContractAct.act_id).join(Act, Act.id == Payment.act_id)
            .where(ContractAct.contract_id.in_(contract_ids))  # returned too: its release stays, its return follows
            .order_by(Payment.registered_at, Payment.id)):
        payments[contract_id].append(payment)
        # a payment is one organisation's month: its amount is published only where the portal publishes that
        # month's figures (amount / norm would give a hidden count away; the year's payments add up to its total)
        withheld = figures.cell_hidden(kind, school_id, period)
        if withheld is None:
            unbuilt[payment.act_id].append(payment.id)
        elif withheld:
            hidden.add(payment.id)
    if unbuilt:  # the figures have not been built yet: at least a small count of students (as they count) stays hidden
        students = students_paid_for(sorted(unbuilt))
        hidden |= {payment_id for act_id, ids in unbuilt.items()
                   if 0 < students.get(act_id, 0) < figures.SMALL_CELL for payment_id in ids}
    payer = db.session.scalars(select(Organisation).where(Organisation.kind == "operator")
                               .order_by(Organisation.id)).first()  # the operator pays every act
    return _Loaded(departments, applications, contracts, payments, payer, hidden, load_names())


def releases_for(order: StateOrder, loaded: _Loaded | None = None) -> list[dict]:
    """Every release of one order's contracting process, oldest first."""
    loaded = loaded or load([order])
    buyer, names = loaded.departments.get(order.region_id), loaded.names
    instrument = instrument_of(order)
    title = f"{instrument.ocds_title} {order.academic_year}: {names.region(order.region, order.placed_at)}"
    if instrument.ocds_items is not None:
        tender_items = instrument.ocds_items("tender", order, None)
    else:
        tender_items = [{"id": f"{n.level}-{n.locality}",
                         "description": f"{LEVEL_NAMES.get(n.level, n.level)}, {n.locality}: one student-month",
                         "unit": {"name": "student-month", "value": _amount(n.monthly_tiyn)}} for n in order.norms]
    placed_status = _tender_status(order, clock.local_day(order.placed_at) if order.placed_at else clock.today())
    releases = [
        _release(order, "planning", order.placed_at, ["planning"], buyer, names,
                 planning={"budget": {"description": f"Budget of the {instrument.ocds_title.lower()} "
                                                     f"{order.academic_year}",
                                      "amount": _amount(order.budget_tiyn)}}),
        _release(order, "tender", order.placed_at, ["tender"], buyer, names, tender={
            "id": order.number, "title": title, "status": placed_status,
            "procurementMethod": "open", "procurementMethodDetails": instrument.ocds_call,
            "mainProcurementCategory": "services", "value": _amount(order.budget_tiyn),
            "tenderPeriod": {"startDate": _when(order.window_opens), "endDate": _when(order.window_closes)},
            "contractPeriod": {"startDate": _when(order.period_start), "endDate": _when(order.period_end)},
            "items": tender_items}),
    ]
    releases += [_release(order, suffix, when, ["tenderUpdate"], buyer, names,
                          tender={"id": order.number, "status": status})
                 for status, when, suffix in _tender_updates(order, placed_status)]
    for app_ in loaded.applications.get(order.id, []):
        if instrument.ocds_items is not None:
            items = instrument.ocds_items("award", app_, None)
        else:
            items = [{"id": level, "description": LEVEL_NAMES[level], "quantity": places, "unit": {"name": "place"}}
                     for level, places in (("primary", app_.places_primary), ("basic", app_.places_basic),
                                           ("secondary", app_.places_secondary)) if places]
        when = app_.decided_at or order.placed_at
        award = {"id": app_.number, "title": f"Places allocated to {names.org(app_.school, when)}",
                 "status": "active", "date": _when(app_.decided_at),
                 "suppliers": [_party_ref(app_.school, names, when)], "items": items}
        releases.append(_release(order, f"award-{app_.number}", when, ["award"], buyer, names,
                                 parties=[_party(app_.school, ["supplier"], names, when)], awards=[award]))
    payer = loaded.payer
    for contract in loaded.contracts.get(order.id, []):
        releases.extend(_contract_releases(order, contract, buyer, payer, loaded.payments.get(contract.id, []),
                                           loaded.hidden_payments, names))
    return releases


def _contract_items(terms: dict, levels: list[str]) -> list[dict]:
    return [{"id": level, "description": LEVEL_NAMES[level], "quantity": terms[f"places_{level}"],
             "unit": {"name": "place"}} for level in levels]


def _contract_releases(order: StateOrder, contract: Contract, buyer, payer, payments: list[Payment],
                       hidden: set[int] = frozenset(), names: _Names | None = None) -> list[dict]:
    """The signed contract (with the terms as signed), each amendment (``contractAmendment``: the terms from then
    on, and the amendment pointing at the release it amends), each payment (``implementation``) and, after a
    payment's own release, its return when the bank sent it back (``implementationUpdate``), and the closing of a
    closed contract (``contractTermination``: status ``terminated``). Each release is built from facts that do not
    change once it is published: the signed contract's release said "terminated" once the contract closed, changing
    under the same id."""
    from app.contracts.amendments import signed_terms

    signed = max((s.signed_at for s in contract.signatures), default=contract.activated_at)
    terms = signed_terms(contract)
    levels = [lv for lv in LEVEL_NAMES if terms[f"places_{lv}"]
              or any(a.after[f"places_{lv}"] for a in contract.amendments)]
    custom = instrument_of(contract).ocds_items

    def items_of(stage_terms: dict, of_levels: list[str]) -> list[dict]:
        return custom("contract", contract, stage_terms) if custom else _contract_items(stage_terms, of_levels)

    names = names or _Names()

    def supplier(when) -> list[dict]:
        return [_party(contract.school, ["supplier", "payee"], names, when)]

    ends = date.fromisoformat(terms["period_end"])
    signed_when = signed or contract.created_at
    body = {"id": contract.number, "awardID": contract.application.number,
            "title": f"Contract with {names.org(contract.school, signed_when)}",
            "status": "active",  # as signed: the closing is a release of its own
            "period": {"startDate": _when(contract.period_start),
                       "endDate": _when(ends)},
            "value": _amount(terms["amount_cap_tiyn"]), "dateSigned": _when(signed),
            "items": items_of(terms, [lv for lv in levels if terms[f"places_{lv}"]])}
    releases = [_release(order, f"contract-{contract.number}", signed_when, ["contract"], buyer, names,
                         parties=supplier(signed_when), contracts=[body])]
    for amendment in contract.amendments:
        after = amendment.after
        release = _release(order, f"contract-{contract.number}-amendment-{amendment.seq}", amendment.amended_at,
                           ["contractAmendment"], buyer, names, parties=supplier(amendment.amended_at),
                           contracts=[{
                               "id": contract.number, "awardID": contract.application.number,
                               "period": {"startDate": _when(contract.period_start),
                                          "endDate": _when(date.fromisoformat(after["period_end"]))},
                               "value": _amount(after["amount_cap_tiyn"]), "items": items_of(after, levels)}])
        # the reason as typed, but a person's IIN in one stored before amendments refused it (DESIGN §3)
        release["contracts"][0]["amendments"] = [{
            "id": amendment.number, "date": _when(amendment.amended_at), "rationale": without_iins(amendment.rationale),
            "description": f"Places, amount or term amended from {amendment.effective_from:%Y-%m}",
            "amendsReleaseID": releases[-1]["id"], "releaseID": release["id"]}]
        releases.append(release)
    for payment in payments:
        releases.append(_payment_release(order, contract, buyer, payer, payment, payment.id in hidden, names))
        if payment.returned_on is not None:
            releases.append(_return_release(order, contract, buyer, payer, payment, payment.id in hidden, names))
    if contract.status == "closed":  # the signed contract's release stays "active"; its closing comes after it
        closed_when = contract.closed_at or ends
        releases.append(_release(order, f"contract-{contract.number}-closed", closed_when,
                                 ["contractTermination"], buyer, names, parties=supplier(closed_when), contracts=[{
                                     "id": contract.number, "awardID": contract.application.number,
                                     "status": "terminated"}]))
    return releases


def _transaction_release(order: StateOrder, contract: Contract, buyer, payer, suffix: str, when, tag: str,
                         transaction: dict, amount_tiyn: int | None, names: _Names) -> dict:
    transaction["payee"] = _party_ref(contract.school, names, when)
    if amount_tiyn is not None:
        transaction["value"] = _amount(amount_tiyn)
    if payer is not None:
        transaction["payer"] = _party_ref(payer, names, when)
    return _release(order, suffix, when, [tag], buyer, names,
                    parties=[_party(payer, ["payer"], names, when)] if payer is not None else [],
                    contracts=[{"id": contract.number, "awardID": contract.application.number,
                                "implementation": {"transactions": [transaction]}}])


def _payment_release(order: StateOrder, contract: Contract, buyer, payer, payment: Payment, hidden: bool,
                     names: _Names) -> dict:
    """A payment as it was registered (``implementation``, id ``payment-<payment's id>``): built from the payment's
    own facts only (order number, amount, when registered), never from its return, so a release once published is
    the same, byte for byte, at every later rebuild — returned or not. A repayment after a return is another payment:
    its own release, its own id."""
    return _transaction_release(order, contract, buyer, payer, f"payment-{payment.id}", payment.registered_at,
                                "implementation", {"id": payment.order_number, "date": _when(payment.registered_at)},
                                None if hidden else payment.amount_tiyn, names)


def _return_release(order: StateOrder, contract: Contract, buyer, payer, payment: Payment, hidden: bool,
                    names: _Names) -> dict:
    """The bank sent a payment back (app.payments.returns): a release of its own, ``implementationUpdate``, id
    ``payment-<payment's id>-returned``, dated when the return was recorded.

    OCDS 1.1 has no status on a transaction, and a release once published is never edited nor withdrawn (a release
    is a fact of its day; the record's compiled release is what changes). So the payment's release stays as it was,
    and the return is published the way the standard publishes a refund or correction of spending ("a negative
    value indicates a refund or correction", the schema's words on a transaction's amount): a transaction of
    its own (id ``<payment order>-returned``, dated the day the bank returned the money) with the returned amount
    as a *negative* value between the same payer and payee. The compiled release merges transactions by id and
    keeps both, so the contract's transactions add up to the net position (paid, less returned, plus the repayment,
    which is a payment of its own); the amount is withheld where the payment's is (same organisation-month)."""
    return _transaction_release(order, contract, buyer, payer, f"payment-{payment.id}-returned",
                                payment.returned_at or payment.returned_on,
                                "implementationUpdate",
                                {"id": f"{payment.order_number}-returned", "date": _when(payment.returned_on)},
                                None if hidden else -payment.amount_tiyn, names)


def releases_window(orders: list[StateOrder], start: int, count: int) -> tuple[list[dict], bool]:
    """``count`` releases from position ``start`` of the orders' releases, and whether more follow: only the orders
    up to the window are built (a page of a country-wide year no longer builds every release of the year)."""
    collected: list[dict] = []
    for order in orders:
        collected.extend(releases_for(order))
        if len(collected) > start + count:
            return collected[start : start + count], True
    return collected[start : start + count], False


def releases_of(orders: list[StateOrder]) -> list[dict]:
    """The releases of several orders, loaded together."""
    loaded = load(orders)
    return [release for order in orders for release in releases_for(order, loaded)]


def orders_of(year: str | None) -> list[StateOrder]:
    query = select(StateOrder).options(selectinload(StateOrder.norms), selectinload(StateOrder.region))
    if year:
        query = query.where(StateOrder.academic_year == year)
    return list(db.session.scalars(query.order_by(StateOrder.number)))


def package_meta(uri: str, links: dict | None = None) -> dict:
    return {"uri": uri, "version": VERSION, "publishedDate": _when(clock.now()),
            "publisher": {"name": current_app.config["OCDS_PUBLISHER"]}, "license": LICENSE,
            "publicationPolicy": "Aggregate figures only; no personal data of students is published.",
            **({"links": links} if links else {})}


def release_package(releases: list[dict], uri: str, links: dict | None = None) -> dict:
    package = {**package_meta(uri), "releases": releases}
    if links:
        package["links"] = links
    return package


def record_package(orders: list[StateOrder], uri: str, links: dict | None = None) -> dict:
    """One record per contracting process: its releases embedded and the compiled release (ocdsmerge)."""
    merging = merger()
    loaded = load(orders)
    records = []
    for order in orders:
        releases = releases_for(order, loaded)
        records.append({"ocid": ocid(order), "releases": releases,
                        "compiledRelease": merging.create_compiled_release(releases)})
    package = {**package_meta(uri), "records": records}
    if links:
        package["links"] = links
    return package
