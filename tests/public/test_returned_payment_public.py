"""The public figures and the open data over a payment the bank returned (guards, right when written): after the
background pass, the organisation's month shows nothing paid and the contract no transaction while the money is back
with the operator; paid again, the month shows the amount once and the contract one transaction, the new order's."""

from __future__ import annotations

import json

from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.extensions import db
from app.payments.operations import register_payment
from app.payments.returns import record_return
from app.public.cache import refresh_public
from app.public.models import PublicSchoolMonth
from tests.conftest import Browser
from tests.helpers import user
from tests.public.test_ocds import paid_contract_act  # noqa: F401 (a fixture)


def _paid_month(act: Act) -> int:
    return db.session.scalar(select(PublicSchoolMonth.paid_tiyn).where(
        PublicSchoolMonth.school_id == act.school_id, PublicSchoolMonth.period == act.period,
        PublicSchoolMonth.instrument == act.instrument))


def _transactions(app, contract) -> list[tuple[str, float]]:
    package = json.loads(Browser(app).get("/public/ocds/records.json").get_data(as_text=True))
    record = next(r for r in package["records"] if r["ocid"].endswith(contract.order.number))
    merged = next(c for c in record["compiledRelease"]["contracts"] if c["id"] == contract.number)
    released = [t["id"] for r in record["releases"] for c in r.get("contracts", [])
                for t in c.get("implementation", {}).get("transactions", [])]
    compiled = [(t["id"], t.get("value", {}).get("amount"))
                for t in merged.get("implementation", {}).get("transactions", [])]
    assert sorted(released) == sorted(t for t, _ in compiled)
    return compiled


def test_a_returned_payment_is_not_public_money_and_the_repayment_counts_once(paid_contract_act, app):  # noqa: F811
    payment, contract = paid_contract_act
    act = db.session.get(Act, payment.act_id)
    amount = payment.amount_tiyn
    refresh_public(full=True)
    db.session.commit()
    assert _paid_month(act) == amount and _transactions(app, contract) == [("PP-2026-0042", amount / 100)]

    record_return(act, payment, clock.today(), "bank_refused", "RET-PUB-1", "", user("operator"))
    db.session.commit()
    refresh_public()
    db.session.commit()
    assert _paid_month(act) == 0 and _transactions(app, contract) == []

    register_payment(db.session.get(Act, act.id), "PP-2026-0043", clock.today(), user("operator"))
    db.session.commit()
    refresh_public()
    db.session.commit()
    assert _paid_month(act) == amount and _transactions(app, contract) == [("PP-2026-0043", amount / 100)]
