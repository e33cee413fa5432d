"""The public figures and the open data over a payment the bank returned: after the background pass, the
organisation's month shows nothing paid while the money is back with the operator, and paid again the amount once.
The open data never changes nor withdraws a published release: the payment's release stays as published, the return
is a release of its own (a negative transaction), the repayment another; the contract's transactions add up to the
net position, and a rebuild from nothing gives the same releases byte for byte."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.extensions import db
from app.payments.operations import register_payment
from app.payments.returns import record_return
from app.public.cache import rebuild_ocds, refresh_public
from app.public.models import OcdsRecord, OcdsRelease, PublicSchoolMonth
from tests.conftest import Browser
from tests.helpers import user
from tests.public.test_ocds import _errors, _validator, paid_contract_act  # noqa: F401 (a fixture)

#: the day is read more than once in a test (what is sent, what is expected): the clock stands still
pytestmark = pytest.mark.usefixtures("one_day")


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
    # the month: nothing paid; the contract: the payment and its return, net nothing
    assert _paid_month(act) == 0
    assert _transactions(app, contract) == [("PP-2026-0042", amount / 100), ("PP-2026-0042-returned", -amount / 100)]

    register_payment(db.session.get(Act, act.id), "PP-2026-0043", clock.today(), user("operator2"))
    db.session.commit()
    refresh_public()
    db.session.commit()
    assert _paid_month(act) == amount
    compiled = _transactions(app, contract)
    assert compiled == [("PP-2026-0042", amount / 100), ("PP-2026-0042-returned", -amount / 100),
                        ("PP-2026-0043", amount / 100)]
    assert sum(value for _, value in compiled) == amount / 100  # the net position: paid once


def _stored(order_id: int) -> dict[str, str]:
    """The order's stored releases, by release id, as published (the compact JSON bodies)."""
    db.session.expire_all()
    bodies = db.session.scalars(select(OcdsRelease.body).where(OcdsRelease.order_id == order_id)
                                .order_by(OcdsRelease.position))
    return {json.loads(body)["id"]: body for body in bodies}


def test_a_published_payment_release_stays_and_the_return_and_the_repayment_are_releases_of_their_own(
        paid_contract_act, app):  # noqa: F811
    """OCDS: a release, once published, is never changed nor withdrawn — the return and the repayment are new
    releases with ids of their own, and the contract's compiled transactions give the net position."""
    payment, contract = paid_contract_act
    act = db.session.get(Act, payment.act_id)
    amount, order_id = payment.amount_tiyn, contract.order_id
    refresh_public(full=True)
    db.session.commit()
    published = _stored(order_id)
    paid_id = next(i for i in published if i.endswith(f"-payment-{payment.id}"))

    record_return(act, payment, clock.today(), "bank_refused", "RET-PUB-2", "", user("operator"))
    db.session.commit()
    refresh_public()
    db.session.commit()
    after_return = _stored(order_id)
    assert {i: after_return[i] for i in published} == published  # every release as published, byte for byte
    [return_id] = set(after_return) - set(published)
    assert return_id == f"{paid_id}-returned"
    returned = json.loads(after_return[return_id])
    assert returned["tag"] == ["implementationUpdate"]
    [tx] = returned["contracts"][0]["implementation"]["transactions"]
    assert tx["id"] == "PP-2026-0042-returned" and tx["value"] == {"amount": -amount / 100, "currency": "KZT"}
    assert tx["date"].startswith(clock.today().isoformat())
    assert tx["payee"]["id"] == f"KZ-BIN-{contract.school.bin}"

    register_payment(db.session.get(Act, act.id), "PP-2026-0044", clock.today(), user("operator2"))
    db.session.commit()
    refresh_public()
    db.session.commit()
    after_repayment = _stored(order_id)
    assert {i: after_repayment[i] for i in after_return} == after_return
    [repaid_id] = set(after_repayment) - set(after_return)
    repaid = json.loads(after_repayment[repaid_id])
    assert repaid["tag"] == ["implementation"] and repaid_id not in (paid_id, return_id)
    assert repaid["contracts"][0]["implementation"]["transactions"][0]["id"] == "PP-2026-0044"

    # a rebuild from nothing: the same releases, byte for byte, and the same compiled record
    compiled = db.session.scalar(select(OcdsRecord.compiled).where(OcdsRecord.order_id == order_id))
    db.session.execute(OcdsRelease.__table__.delete())
    db.session.execute(OcdsRecord.__table__.delete())
    rebuild_ocds()
    db.session.commit()
    assert _stored(order_id) == after_repayment
    assert db.session.scalar(select(OcdsRecord.compiled).where(OcdsRecord.order_id == order_id)) == compiled
    refresh_public(full=True)
    db.session.commit()
    assert _stored(order_id) == after_repayment

    visitor = Browser(app)
    releases = json.loads(visitor.get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True))
    assert _errors(_validator("release-package-schema.json"), releases) == []
    records = json.loads(visitor.get("/public/ocds/records.json").get_data(as_text=True))
    assert _errors(_validator("record-package-schema.json"), records) == []
    ids = [r["id"] for r in releases["releases"]]
    assert len(ids) == len(set(ids)) and {paid_id, return_id, repaid_id} <= set(ids)
