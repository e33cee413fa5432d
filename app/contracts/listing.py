"""The contracts list: found by contract number, organisation name or BIN, narrowed by status (and to the contracts
whose signed document was not found), a page at a time with its total. It had no search and stopped at its 200th
contract: a department or the operator with many contracts could not find one."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.contracts import document_restore
from app.contracts.labels import status_label
from app.contracts.models import Contract
from app.listing import ListPage, number_or_organisation, page_of
from app.people.access import scope_clause


def statuses() -> dict[str, str]:
    """The filter's choices: a contract's status codes in words (waiting for the director is the school's or the
    dormitory's director, as the instrument says — one choice for both)."""
    return {"awaiting_director": str(_l("awaiting the director's signature")),
            **{code: status_label(code) for code in ("awaiting_head", "active", "closed")}}


@dataclass
class ContractFilter:
    q: str = ""
    status: str | None = None
    #: only the contracts signed before 0030 whose signed document no layout gave back (the operator restores them)
    unmatched: bool = False
    #: (parameter, value) the address gave that is not a filter: said on the page, not applied
    ignored: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> ContractFilter:
        status = args.get("status") or None
        ignored = []
        if status is not None and status not in statuses():
            ignored.append(("status", status[:40]))
            status = None
        return cls(q=(args.get("q") or "").strip()[:100], status=status,
                   unmatched=args.get("document") == "unmatched", ignored=ignored)

    def params(self, **extra) -> dict:
        out = {"q": self.q or None, "status": self.status, "document": "unmatched" if self.unmatched else None}
        return {k: v for k, v in {**out, **extra}.items() if v is not None}


def contracts_page(user, f: ContractFilter, page: int = 1) -> ListPage:
    # A dormitory contract's places are its terms' (the schools' per-level places are 0): loaded with the list, as
    # the organisations are, not one query per row.
    query = (select(Contract).where(scope_clause(user, Contract.region_id, Contract.school_id))
             .options(selectinload(Contract.school), selectinload(Contract.dormitory_terms)))
    if f.unmatched:
        query = query.where(Contract.id.in_(document_restore.unmatched_ids()))
    if f.status:
        query = query.where(Contract.status == f.status)
    if f.q:
        query = number_or_organisation(query, f.q, Contract.number, Contract.school_id)
    return page_of(query, (Contract.id.desc(),), page)
