"""The public caches, kept by the background pass: figures, the country-wide downloads, OCDS releases and records.

Everything public is built from the audited operations' tables, and every change of those tables writes an audit
event. So the pass asks one cheap question first — is there an audit event after the watermark? (the largest id:
the primary key's last entry) — and with none does nothing. Otherwise it reads the new events' objects (a range
scan of the primary key, a few hundred ids back as well: a transaction that took its id earlier may have
committed only after the last pass) and rebuilds only what they touch: the figures of the schools whose acts or
payments moved, the releases and records of the orders concerned, the downloads when figures or names changed.
Once a day everything is rebuilt (a tender's status follows the calendar; and it bounds any miss).

Pages read what is stored and never build it (the one exception: before the first pass, they build live).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import LargeBinary, cast, delete, func, insert, select

from app import clock
from app.acts.models import Act
from app.applications.models import Application
from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractAct
from app.extensions import db
from app.orders.models import StateOrder
from app.payments.models import Payment
from app.public import figures, open_contracting
from app.public.models import OcdsRecord, OcdsRelease, PublicPayload, PublicRefresh

log = logging.getLogger(__name__)
STATE_ID = 1
#: how far behind the watermark a pass looks again for events committed late (ids are taken at insert); the
#: setting ``PUBLIC_REFRESH_OVERLAP_EVENTS`` overrides it
OVERLAP_EVENTS = 500
#: the downloads kept ready: the country-wide ones (a region's are small and built per request)
KEPT_DOWNLOADS = (("schools", "csv"), ("schools", "json"))
_NAMES = ("organisation", "region")  # names shown in every release and download
_WATCHED = ("act", "payment", "contract", "application", "state_order", *_NAMES)


@dataclass
class RefreshOutcome:
    skipped: bool = False
    full: bool = False
    figure_rows: int = 0
    orders: int = 0
    downloads: int = 0
    watermark: int = 0
    # app.public.rebuild: a rebuild was running (who, since when), so this trigger only asked it for one more
    deferred: bool = False
    running_by: str | None = None
    running_since: datetime | None = None
    rounds: int = 0


@dataclass
class _Touched:
    schools: set[int] | None  # None: all
    orders: set[int] | None
    names: bool = False


def refresh_public(full: bool = False) -> RefreshOutcome:
    """One pass (the caller commits): rebuild what changed since the watermark, or everything when ``full``, on
    the first pass and on the first pass of a day. Triggers go through :func:`app.public.rebuild.rebuild_public`,
    which runs one pass at a time."""
    state = db.session.scalars(select(PublicRefresh).where(PublicRefresh.id == STATE_ID).with_for_update()).first()
    latest = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    today = clock.today()
    full = full or state is None or state.full_built_on != today
    if not full and latest <= state.watermark:
        return RefreshOutcome(skipped=True, watermark=state.watermark)
    overlap = current_app.config.get("PUBLIC_REFRESH_OVERLAP_EVENTS", OVERLAP_EVENTS)
    touched = _Touched(None, None, True) if full else _touched(max(0, state.watermark - overlap), latest)
    outcome = RefreshOutcome(full=full, watermark=latest)
    orders = touched.orders
    if touched.schools is None or touched.schools:
        before = _hidden_cells() if orders is not None else set()
        outcome.figure_rows = figures.refresh_public_figures(touched.schools)
        if orders is not None:  # a month hidden or shown again elsewhere (complementary suppression) changes
            # whether its payment's amount is published: those organisations' orders are rebuilt too
            changed = {key[2] for key in before ^ _hidden_cells()}
            orders = orders | set(_ids(select(Contract.order_id).where(Contract.school_id.in_(sorted(changed)))))
    if orders is None or orders:
        outcome.orders = rebuild_ocds(orders)
    if touched.names or touched.schools is None or touched.schools:
        outcome.downloads = rebuild_downloads()
    if state is None:
        state = PublicRefresh(id=STATE_ID)
        db.session.add(state)
    state.watermark = latest
    state.full_built_on = today if full else state.full_built_on
    state.built_at = clock.now()
    db.session.flush()
    return outcome


def _hidden_cells() -> set[tuple]:
    """Every organisation-month withheld from publication, in every year (app.public.figures.suppression)."""
    return {key for year in figures.years() for key in figures.suppression(year) if key[0] == "cell"}


def _touched(after_id: int, up_to: int) -> _Touched:
    """The schools and orders the events in (after_id, up_to] touched."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for object_type, object_id in db.session.execute(
            select(AuditEvent.object_type, AuditEvent.object_id).distinct()
            .where(AuditEvent.id > after_id, AuditEvent.id <= up_to, AuditEvent.object_type.in_(_WATCHED))):
        if object_id is not None:
            by_type[object_type].add(object_id)
    if any(by_type.get(kind) for kind in _NAMES):
        return _Touched(_schools_of(by_type), None, True)
    acts = set(by_type.get("act", ())) | set(_ids(select(Payment.act_id).where(
        Payment.id.in_(sorted(by_type.get("payment", ()))))))
    orders = set(by_type.get("state_order", ()))
    orders |= set(_ids(select(Application.order_id).where(Application.id.in_(sorted(by_type.get("application", ()))))))
    contracts = set(by_type.get("contract", ()))
    contracts |= set(_ids(select(ContractAct.contract_id).where(ContractAct.act_id.in_(sorted(acts)))))
    orders |= set(_ids(select(Contract.order_id).where(Contract.id.in_(sorted(contracts)))))
    return _Touched(_schools_of(by_type, acts), orders)


def _schools_of(by_type: dict[str, set[int]], acts: set[int] | None = None) -> set[int]:
    if acts is None:
        acts = set(by_type.get("act", ())) | set(_ids(select(Payment.act_id).where(
            Payment.id.in_(sorted(by_type.get("payment", ()))))))
    return set(_ids(select(Act.school_id).where(Act.id.in_(sorted(acts))))) if acts else set()


def _ids(query) -> list[int]:
    return list(db.session.scalars(query))


# -- OCDS -----------------------------------------------------------------------------------------------------
def rebuild_ocds(order_ids: set[int] | None = None) -> int:
    """Store the releases (compact JSON, in order) and the compiled release of these orders (all when None)."""
    query = select(StateOrder).order_by(StateOrder.number)
    if order_ids is not None:
        query = query.where(StateOrder.id.in_(sorted(order_ids)))
    orders = list(db.session.scalars(query))
    ids = [o.id for o in orders]
    if order_ids is None:
        db.session.execute(delete(OcdsRelease))
        db.session.execute(delete(OcdsRecord))
    elif ids:
        db.session.execute(delete(OcdsRelease).where(OcdsRelease.order_id.in_(ids)))
        db.session.execute(delete(OcdsRecord).where(OcdsRecord.order_id.in_(ids)))
    if not orders:
        return 0
    loaded = open_contracting.load(orders)
    merger = open_contracting.merger()
    now = clock.now()
    for order in orders:
        releases = open_contracting.releases_for(order, loaded)
        rows = [{"order_id": order.id, "order_number": order.number, "academic_year": order.academic_year,
                 "position": position, "body": compact(release)} for position, release in enumerate(releases)]
        if rows:
            db.session.execute(insert(OcdsRelease), rows)
        db.session.add(OcdsRecord(order_id=order.id, order_number=order.number, academic_year=order.academic_year,
                                  ocid=open_contracting.ocid(order), release_count=len(releases),
                                  compiled=compact(merger.create_compiled_release(releases)), built_at=now))
    db.session.flush()
    return len(orders)


def compact(document) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def ocds_ready() -> bool:
    """Whether a pass has built the open data (before the first one, pages build it per request)."""
    return db.session.get(PublicRefresh, STATE_ID) is not None


def release_bodies(year: str | None, start: int, count: int) -> list[str]:
    query = select(OcdsRelease.body)
    if year:
        query = query.where(OcdsRelease.academic_year == year).order_by(OcdsRelease.academic_year,
                                                                        OcdsRelease.order_number, OcdsRelease.position)
    else:
        query = query.order_by(OcdsRelease.order_number, OcdsRelease.position)
    return list(db.session.scalars(query.offset(start).limit(count)))


#: the last pass's bulk file sizes, by the pass (its watermark and time): the country page names them on every view,
#: and summing every stored release each time would read the whole open data
_bulk_sizes: dict[tuple, dict[str, int]] = {}


def bulk_sizes() -> dict[str, int]:
    """Each academic year's bulk release file's size in bytes, near enough to name on its link (its releases and the
    commas between them; the package's few hundred bytes around them are left out). Before the first pass: {}."""
    state = db.session.get(PublicRefresh, STATE_ID)
    if state is None:
        return {}
    key = (state.watermark, state.built_at)
    sizes = _bulk_sizes.get(key)
    if sizes is None:
        sizes = _summed_sizes()
        _bulk_sizes.clear()
        _bulk_sizes[key] = sizes
    return sizes


def _summed_sizes() -> dict[str, int]:
    # bytes, not characters: an organisation's Cyrillic name is two bytes a letter in the file
    size = (func.octet_length(OcdsRelease.body) if db.engine.dialect.name == "postgresql"
            else func.length(cast(OcdsRelease.body, LargeBinary)))
    rows = db.session.execute(select(OcdsRelease.academic_year, func.sum(size), func.count())
                              .group_by(OcdsRelease.academic_year))
    return {year: int(total or 0) + count for year, total, count in rows}


def records_page(year: str | None, start: int, count: int) -> list[tuple[OcdsRecord, list[str]]]:
    """A page of records: each with its releases' stored bodies, in their order (two statements)."""
    query = select(OcdsRecord)
    if year:
        query = query.where(OcdsRecord.academic_year == year)
    records = list(db.session.scalars(query.order_by(OcdsRecord.order_number).offset(start).limit(count)))
    bodies: dict[int, list[str]] = defaultdict(list)
    for order_id, body in db.session.execute(
            select(OcdsRelease.order_id, OcdsRelease.body).where(OcdsRelease.order_id.in_([r.order_id for r in records]
                                                                                          or [0]))
            .order_by(OcdsRelease.order_id, OcdsRelease.position)):
        bodies[order_id].append(body)
    return [(record, bodies[record.order_id]) for record in records]


# -- downloads ------------------------------------------------------------------------------------------------
def download_key(dataset: str, fmt: str, year: str, locale: str) -> str:
    return f"{dataset}.{fmt}|{year}|{locale}"


def rebuild_downloads() -> int:
    """Render the kept downloads for every year and language, as a visitor would get them."""
    from flask_babel import refresh

    from app.public.downloads import render

    db.session.execute(delete(PublicPayload))
    now = clock.now()
    rows = []
    for locale in current_app.config["LANGUAGES"]:
        # A request of its own per language (no force_locale: it would switch the language of other threads'
        # requests); it shares this application context, so this session and transaction.
        with current_app.test_request_context("/public/", headers={"Accept-Language": locale}):
            refresh()  # Flask-Babel keeps the language and catalogue on the shared application context
            for year in figures.years():
                for dataset, fmt in KEPT_DOWNLOADS:
                    file = render(dataset, fmt, year, None)
                    rows.append({"key": download_key(dataset, fmt, year, locale), "content_type": file.mimetype,
                                 "body": file.body, "built_at": now})
    refresh()
    if rows:
        db.session.execute(insert(PublicPayload), rows)
    return len(rows)


def kept_download(dataset: str, fmt: str, year: str, locale: str) -> PublicPayload | None:
    if (dataset, fmt) not in KEPT_DOWNLOADS:
        return None
    return db.session.scalars(select(PublicPayload).where(
        PublicPayload.key == download_key(dataset, fmt, year, locale))).first()
