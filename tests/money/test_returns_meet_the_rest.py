"""A payment the bank returned, and the act paid again, everywhere else: the acts list found by the organisation's
name or an order number shows the act once (the search joined the act's payments: two rows, the act twice)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.extensions import db
from app.payments.operations import register_payment
from app.payments.returns import record_return
from tests.helpers import accepted_and_paid, school, user


def _paid_returned_and_paid_again(name: str) -> Act:
    act, payment = accepted_and_paid(name, "PP-LIST-1")
    record_return(act, payment, clock.today(), "bank_refused", "REF-1", "", user("operator"))
    db.session.commit()
    register_payment(db.session.get(Act, act.id), "PP-LIST-2", clock.today(), user("operator2"))
    db.session.commit()
    return db.session.get(Act, act.id)


def _numbers(page: str) -> list[str]:
    return re.findall(r'href="/acts/\d+">([^<]+)</a>', page.split('id="acts-table"')[1])


def test_an_act_paid_again_after_a_return_is_listed_once_when_searched(world, browser):
    act = _paid_returned_and_paid_again("Alatau Lyceum")
    alatau = school("Alatau Lyceum")
    expected = db.session.scalar(select(func.count(Act.id)).where(Act.school_id == alatau.id))
    operator = browser("operator")
    for q in ("alatau", alatau.bin, act.number, "PP-LIST"):
        page = operator.get("/acts", query_string={"q": q}).get_data(as_text=True)
        numbers = _numbers(page)
        assert numbers.count(act.number) == 1, (q, numbers)
        if q in ("alatau", alatau.bin):
            assert f"Acts found: {expected}" in page, q
    for q in ("PP-LIST-1", "pp-list-2"):  # the returned order and the new one each find the act, once
        page = operator.get("/acts", query_string={"q": q}).get_data(as_text=True)
        assert _numbers(page) == [act.number] and "Acts found: 1" in page, q
