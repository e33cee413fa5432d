"""Paging of the API's lists: ``?page=`` and ``?page_size=`` (flask-smorest's pagination), the totals in the
``X-Pagination`` header. A list used to stop at its 500th item without saying so."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from app.extensions import db

#: the keyword arguments of ``@blp.paginate`` for every list: 100 a page unless asked, at most 500
PAGING = {"page_size": 100, "max_page_size": 500}


def page_of(query: Select, pagination_parameters) -> list:
    """One page of ``query`` (already ordered, by a unique key last, so pages neither overlap nor skip), and the
    total count in the parameters for the header."""
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery()))
    return list(db.session.scalars(query.limit(pagination_parameters.page_size)
                                   .offset(pagination_parameters.first_item)))
