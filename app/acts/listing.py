"""The acts list: filtered by month, status and a number or organisation name, a page at a time with its total.
It stopped at its 200th act with no word and no filter but the status (the operator sees the whole country)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from app.acts.models import Act
from app.extensions import db
from app.people.access import scope_clause
from app.people.models import Organisation
from app.ui import ACT_STATUS
from app.user_input import ascii_int, escape_like

PAGE_SIZE = 50
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass
class ActFilter:
    month: date | None = None
    status: str | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> ActFilter:
        """Whatever the address says, a filter that can be run: an unknown status or a malformed month is no filter."""
        found = _MONTH.fullmatch(args.get("month", "") or "")
        month = None
        if found and 1 <= int(found.group(2)) <= 12 and 2000 <= int(found.group(1)) <= 2100:
            month = date(int(found.group(1)), int(found.group(2)), 1)
        status = args.get("status") if args.get("status") in ACT_STATUS else None
        return cls(month=month, status=status, q=(args.get("q") or "").strip()[:100])

    def params(self, **extra) -> dict:
        out = {"month": f"{self.month:%Y-%m}" if self.month else None, "status": self.status, "q": self.q or None}
        return {k: v for k, v in {**out, **extra}.items() if v is not None}


@dataclass
class ActPage:
    acts: list[Act]
    page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * PAGE_SIZE < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def acts_page(user, f: ActFilter, page: int = 1) -> ActPage:
    query = select(Act).where(scope_clause(user, Act.region_id, Act.school_id))
    if f.month:
        query = query.where(Act.period == f.month)
    if f.status:
        query = query.where(Act.status == f.status)
    if f.q:
        pattern = f"%{escape_like(f.q)}%"
        query = query.join(Organisation, Organisation.id == Act.school_id).where(or_(
            Act.number.ilike(pattern, escape="\\"), Organisation.name.ilike(pattern, escape="\\"),
            Organisation.bin == f.q))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // PAGE_SIZE))))
    acts = list(db.session.scalars(query.order_by(Act.period.desc(), Act.number, Act.id)
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return ActPage(acts=acts, page=page, total=total)


def page_number(text) -> int:
    return ascii_int(text, 6) or 1
