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


def _party_ref(org: Organisation) -> dict:
    return {"id": f"KZ-BIN-{org.bin}", "name": org.name}


def _party(org: Organisation, roles: list[str]) -> dict:
    party = {**_party_ref(org), "identifier": {"scheme": "KZ-BIN", "id": org.bin, "legalName": org.name},
             "roles": roles}
    if org.region is not None:
        party["address"] = {"region": org.region.name_en, "countryName": "Kazakhstan"}
    return party


def _release(order: StateOrder, suffix: str, when, tags: list[str], buyer: Organisation | None, **sections) -> dict:
    release = {"ocid": ocid(order), "id": f"{ocid(order)}-{suffix}", "date": _when(when), "tag": tags,
               "initiationType": "tender", "language": "en"}
    parties = sections.pop("parties", [])
    if buyer is not None:
        release["buyer"] = _party_ref(buyer)
        parties = [_party(buyer, ["buyer", "procuringEntity"]), *parties]
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
    return _Loaded(departments, applications, contracts, payments, payer, hidden)


def releases_for(order: StateOrder, loaded: _Loaded | None = None) -> list[dict]:
    """Every release of one order's contracting process, oldest first."""
    loaded = loaded or load([order])
    buyer = loaded.departments.get(order.region_id)
    instrument = instrument_of(order)
    title = f"{instrument.ocds_title} {order.academic_year}: {order.region.name_en}"
    if instrument.ocds_items is not None:
        tender_items = instrument.ocds_items("tender", order, None)
    else:
        tender_items = [{"id": f"{n.level}-{n.locality}",
                         "description": f"{LEVEL_NAMES.get(n.level, n.level)}, {n.locality}: one student-month",
                         "unit": {"name": "student-month", "value": _amount(n.monthly_tiyn)}} for n in order.norms]
    placed_status = _tender_status(order, clock.local_day(order.placed_at) if order.placed_at else clock.today())
    releases = [
        _release(order, "planning", order.placed_at, ["planning"], buyer,
                 planning={"budget": {"description": f"Budget of the {instrument.ocds_title.lower()} "
                                                     f"{order.academic_year}",
                                      "amount": _amount(order.budget_tiyn)}}),
        _release(order, "tender", order.placed_at, ["tender"], buyer, tender={
            "id": order.number, "title": title, "status": placed_status,
            "procurementMethod": "open", "procurementMethodDetails": instrument.ocds_call,
            "mainProcurementCategory": "services", "value": _amount(order.budget_tiyn),
            "tenderPeriod": {"startDate": _when(order.window_opens), "endDate": _when(order.window_closes)},
            "contractPeriod": {"startDate": _when(order.period_start), "endDate": _when(order.period_end)},
            "items": tender_items}),
    ]
    releases += [_release(order, suffix, when, ["tenderUpdate"], buyer, tender={"id": order.number, "status": status})
                 for status, when, suffix in _tender_updates(order, placed_status)]
    for app_ in loaded.applications.get(order.id, []):
        if instrument.ocds_items is not None:
            items = instrument.ocds_items("award", app_, None)
        else:
            items = [{"id": level, "description": LEVEL_NAMES[level], "quantity": places, "unit": {"name": "place"}}
                     for level, places in (("primary", app_.places_primary), ("basic", app_.places_basic),
                                           ("secondary", app_.places_secondary)) if places]
        award = {"id": app_.number, "title": f"Places allocated to {app_.school.name}", "status": "active",
                 "date": _when(app_.decided_at), "suppliers": [_party_ref(app_.school)], "items": items}
        releases.append(_release(order, f"award-{app_.number}", app_.decided_at or order.placed_at, ["award"], buyer,
                                 parties=[_party(app_.school, ["supplier"])], awards=[award]))
    payer = loaded.payer
    for contract in loaded.contracts.get(order.id, []):
        releases.extend(_contract_releases(order, contract, buyer, payer, loaded.payments.get(contract.id, []),
                                           loaded.hidden_payments))
    return releases


def _contract_items(terms: dict, levels: list[str]) -> list[dict]:
    return [{"id": level, "description": LEVEL_NAMES[level], "quantity": terms[f"places_{level}"],
             "unit": {"name": "place"}} for level in levels]


def _contract_releases(order: StateOrder, contract: Contract, buyer, payer, payments: list[Payment],
                       hidden: set[int] = frozenset()) -> list[dict]:
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

    supplier = [_party(contract.school, ["supplier", "payee"])]
    ends = date.fromisoformat(terms["period_end"])
    body = {"id": contract.number, "awardID": contract.application.number,
            "title": f"Contract with {contract.school.name}",
            "status": "active",  # as signed: the closing is a release of its own
            "period": {"startDate": _when(contract.period_start),
                       "endDate": _when(ends)},
            "value": _amount(terms["amount_cap_tiyn"]), "dateSigned": _when(signed),
            "items": items_of(terms, [lv for lv in levels if terms[f"places_{lv}"]])}
    releases = [_release(order, f"contract-{contract.number}", signed or contract.created_at, ["contract"], buyer,
                         parties=supplier, contracts=[body])]
    for amendment in contract.amendments:
        after = amendment.after
        release = _release(order, f"contract-{contract.number}-amendment-{amendment.seq}", amendment.amended_at,
                           ["contractAmendment"], buyer, parties=supplier, contracts=[{
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
        releases.append(_payment_release(order, contract, buyer, payer, payment, payment.id in hidden))
        if payment.returned_on is not None:
            releases.append(_return_release(order, contract, buyer, payer, payment, payment.id in hidden))
    if contract.status == "closed":  # the signed contract's release stays "active"; its closing comes after it
        releases.append(_release(order, f"contract-{contract.number}-closed",
                                 contract.closed_at or ends,
                                 ["contractTermination"], buyer, parties=supplier, contracts=[{
                                     "id": contract.number, "awardID": contract.application.number,
                                     "status": "terminated"}]))
    return releases


def _transaction_release(order: StateOrder, contract: Contract, buyer, payer, suffix: str, when, tag: str,
                         transaction: dict, amount_tiyn: int | None) -> dict:
    transaction["payee"] = _party_ref(contract.school)
    if amount_tiyn is not None:
        transaction["value"] = _amount(amount_tiyn)
    if payer is not None:
        transaction["payer"] = _party_ref(payer)
    return _release(order, suffix, when, [tag], buyer, parties=[_party(payer, ["payer"])] if payer is not None else [],
                    contracts=[{"id": contract.number, "awardID": contract.application.number,
                                "implementation": {"transactions": [transaction]}}])


def _payment_release(order: StateOrder, contract: Contract, buyer, payer, payment: Payment, hidden: bool) -> dict:
    """A payment as it was registered (``implementation``, id ``payment-<payment's id>``): built from the payment's
    own facts only (order number, amount, when registered), never from its return, so a release once published is
    the same, byte for byte, at every later rebuild — returned or not. A repayment after a return is another payment:
    its own release, its own id."""
    return _transaction_release(order, contract, buyer, payer, f"payment-{payment.id}", payment.registered_at,
                                "implementation", {"id": payment.order_number, "date": _when(payment.registered_at)},
                                None if hidden else payment.amount_tiyn)


def _return_release(order: StateOrder, contract: Contract, buyer, payer, payment: Payment, hidden: bool) -> dict:
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
                                None if hidden else -payment.amount_tiyn)


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
