"""What the filtered lists share (acts, contracts): a page of rows with its total, and the search box that finds a
document by its number, its organisation's name (a part of either) or the organisation's BIN (whole)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from app.extensions import db
from app.people.models import Organisation
from app.registry.cells import UnreadableIdentifier, searched_identifier
from app.user_input import escape_like

PAGE_SIZE = 50


@dataclass
class ListPage:
    rows: list[Any]
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def has_next(self) -> bool:
        return self.page * self.size < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_of(query, order: tuple, page: int, size: int | None = None) -> ListPage:
    """The ``page``-th page of ``query`` in ``order``, with the total; a page past the last is the last."""
    size = size or PAGE_SIZE
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // size))))
    rows = list(db.session.scalars(query.order_by(*order).limit(size).offset((page - 1) * size)))
    return ListPage(rows=rows, page=page, total=total, size=size)


def number_or_organisation(query, q: str, number, organisation_id, *other_numbers, related=None):
    """``query`` narrowed to the rows whose ``number`` (or one of ``other_numbers``, already joined) or organisation's
    name holds ``q``, or whose organisation's BIN is ``q`` (a BIN is looked up whole: a part of one matches too
    many), written in groups or not (:func:`searched_bin`). ``related(column_matches)``: a condition on rows of
    another table, several per row (an act's payments — one returned by the bank, one paying it again), given how a
    column of theirs matches ``q`` — an EXISTS, so a row is listed once, not once per related row."""
    pattern = f"%{escape_like(q)}%"

    def matches(column):
        return column.ilike(pattern, escape="\\")

    return query.join(Organisation, Organisation.id == organisation_id).where(or_(
        *(matches(column) for column in (number, *other_numbers)),
        *((related(matches),) if related is not None else ()),
        Organisation.name.ilike(pattern, escape="\\"), Organisation.bin == searched_bin(q)))


def searched_bin(q: str) -> str:
    """The BIN a search box's text is compared with: its twelve digits when it is a BIN written in groups ("150849
    718024" found nothing); the text as typed otherwise — twelve digits of another script then match no BIN, as they
    did, and the name and number searches still see the text."""
    try:
        return searched_identifier(q) or q
    except UnreadableIdentifier:
        return q

