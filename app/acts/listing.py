"""The acts list: filtered by month, status and a number or organisation name, a page at a time with its total.
It stopped at its 200th act with no word and no filter but the status (the operator sees the whole country)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.acts.models import Act
from app.listing import ListPage, number_or_organisation, page_of
from app.payments.models import Payment
from app.people.access import scope_clause
from app.ui import ACT_STATUS

PAGE_SIZE = 50
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class ActFilter:
    month: date | None = None
    status: str | None = None
    q: str = ""
    #: the day range the act was decided in (accepted or returned), inclusive, in the app's time zone: an official
    #: looking for an act a colleague accepted last week had only "Completed by me"
    decided_from: date | None = None
    decided_to: date | None = None
    #: a region (its id) and a funding instrument (its code): the reconciliation's row of a region leads here, to the
    #: acts behind its figures (walk 7: the operator had the count and no way to the acts)
    region: int | None = None
    instrument: str | None = None
    #: the acts a month's reconciliation counts: submitted at least once (one awaiting submission claims nothing)
    claimed: bool = False
    #: (parameter, value) the address gave that is not a filter (a malformed month, an unknown status): said on the
    #: page, not applied — it had been dropped without a word, and the list looked filtered when it was not
    ignored: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> ActFilter:
        """Whatever the address says, a filter that can be run: what cannot be read is listed in ``ignored``."""
        ignored: list[tuple[str, str]] = []
        raw = (args.get("month") or "").strip()
        found = _MONTH.fullmatch(raw)
        month = None
        if found and 1 <= int(found.group(2)) <= 12 and 2000 <= int(found.group(1)) <= 2100:
            month = date(int(found.group(1)), int(found.group(2)), 1)
        elif raw:
            ignored.append(("month", raw[:40]))
        status = args.get("status") if args.get("status") in ACT_STATUS else None
        if args.get("status") and status is None:
            ignored.append(("status", args["status"][:40]))
        days = {}
        for name in ("decided_from", "decided_to"):
            raw = (args.get(name) or "").strip()
            try:
                days[name] = date.fromisoformat(raw) if raw and _DAY.fullmatch(raw) else None
            except ValueError:
                days[name] = None
            if raw and days[name] is None:
                ignored.append((name, raw[:40]))
        raw = (args.get("region") or "").strip()
        region = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        if raw and region is None:
            ignored.append(("region", raw[:40]))
        from app.instruments import instruments

        raw = (args.get("instrument") or "").strip()
        instrument = raw if raw in {one.code for one in instruments()} else None
        if raw and instrument is None:
            ignored.append(("instrument", raw[:40]))
        return cls(month=month, status=status, q=(args.get("q") or "").strip()[:100], ignored=ignored,
                   region=region, instrument=instrument, claimed=args.get("claimed") == "1", **days)

    def params(self, **extra) -> dict:
        out = {"month": f"{self.month:%Y-%m}" if self.month else None, "status": self.status, "q": self.q or None,
               "decided_from": self.decided_from.isoformat() if self.decided_from else None,
               "decided_to": self.decided_to.isoformat() if self.decided_to else None,
               "region": self.region, "instrument": self.instrument, "claimed": "1" if self.claimed else None}
        return {k: v for k, v in {**out, **extra}.items() if v is not None}


def _start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in the app's time zone (Asia/Almaty), as a UTC moment."""
    from flask_babel import get_timezone

    return datetime.combine(day, time.min, tzinfo=get_timezone()).astimezone(UTC)


def acts_page(user, f: ActFilter, page: int = 1) -> ListPage:
    query = select(Act).where(scope_clause(user, Act.region_id, Act.school_id))
    if f.month:
        query = query.where(Act.period == f.month)
    if f.status:
        query = query.where(Act.status == f.status)
    if f.region is not None:
        query = query.where(Act.region_id == f.region)
    if f.instrument:
        query = query.where(Act.instrument == f.instrument)
    if f.claimed:
        query = query.where(Act.status != "awaiting_submission")
    if f.decided_from:
        query = query.where(Act.decided_at >= _start_of_day(f.decided_from))
    if f.decided_to:
        query = query.where(Act.decided_at < _start_of_day(f.decided_to + timedelta(days=1)))
    if f.q:
        # the payment order's number too: the operator finding a payment again later has the order in hand
        # (an EXISTS: an act paid again after the bank returned its payment has two payments, and a join listed and
        # counted it twice)
        query = number_or_organisation(query, f.q, Act.number, Act.school_id, related=lambda matches: (
            select(Payment.id).where(Payment.act_id == Act.id, matches(Payment.order_number)).exists()))
    order = ((Act.decided_at.desc(), Act.id) if f.decided_from or f.decided_to  # the latest decisions first
             else (Act.period.desc(), Act.number, Act.id))
    return page_of(query, order, page, PAGE_SIZE)
