"""The department accepts an act with its payee: the account is pinned at acceptance, and the payment pays it.

Read at payment time, the account was the contract's IBAN, else the organisation's as it was then: an administrator
(or anyone writing to the database) who changed the school's IBAN between the department's acceptance and the
operator's payment redirected the money, and verify-audit could not see it for an act with no contract IBAN.
On SQLite and on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

import app.acts.operations as act_operations
from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine.errors import DomainRefused
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from tests.audit.helpers import chain_of, tamper
from tests.helpers import act_of_school, open_task, user

LYCEUM = "Alatau Lyceum"  # verified in the seed, no contract: paid to the organisation's own IBAN
ACCEPTED_WITH = "KZ563190000012344567"  # Alatau Lyceum's IBAN in the seed
THEIRS = "KZ77125KZT9999999999"  # a valid Kazakh IBAN nobody accepted


def _accepted() -> Act:
    act = act_of_school(LYCEUM)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    return db.session.get(Act, act.id)


def _pay(act: Act, order: str = "PP-PIN-1") -> None:
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": order, "paid_on": clock.today().isoformat()})
    db.session.commit()


def _admin_sets_iban(browser, act: Act, iban: str) -> None:
    school = act.school
    edited = browser("admin").post(f"/admin/organisations/{school.id}", {
        "kind": school.kind, "bin": school.bin, "name": school.name, "region_id": str(school.region_id),
        "design_capacity": str(school.design_capacity or ""), "iban": iban})
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    db.session.expire_all()


def _reasons() -> list[str]:
    db.session.expire_all()
    return [str(p) for p in verify_all_chains()[1]]


def _payments(act: Act) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.act_id == act.id)))


def test_the_department_accepts_the_act_with_its_account_in_the_row_and_the_events_facts(world):
    act = _accepted()
    assert act.payee_iban == ACCEPTED_WITH
    accepted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.accepted",
                                                           AuditEvent.object_id == act.id)).one()
    assert accepted.facts["payee_iban"] == ACCEPTED_WITH and accepted.details["iban"] == ACCEPTED_WITH
    assert _reasons() == []


def test_an_iban_changed_after_acceptance_is_shown_to_the_operator_and_the_accepted_account_is_paid(world, browser):
    act = _accepted()
    _admin_sets_iban(browser, act, THEIRS)
    page = browser("operator").get(f"/tasks/{open_task(act, 'pay_act').id}").get_data(as_text=True)
    assert f'<span id="pay-iban">{ACCEPTED_WITH}</span>' in page
    assert 'id="pay-iban-changed"' in page and THEIRS in page
    assert 'id="pay-iban-changed-by"' in page and user("admin").full_name in page

    _pay(act)
    payment = _payments(act)[0]
    assert payment.payee_iban == ACCEPTED_WITH, "paid to the account the department accepted"
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).one()
    assert paid.facts["payee_iban"] == ACCEPTED_WITH
    assert paid.details["iban"] == ACCEPTED_WITH and paid.details["account_on_record"] == THEIRS
    assert _reasons() == []
    # the JSON API and the payments register say the same account
    operator = browser("operator")
    document = operator.get(f"/api/v1/acts/{act.id}").get_json()
    assert document["payee_iban"] == ACCEPTED_WITH
    assert document["payment"]["payee_iban"] == ACCEPTED_WITH
    assert document["payment"]["order_number"] == "PP-PIN-1"
    rows = list(csv.reader(io.StringIO(operator.get(f"/reports/payments.csv?period={act.period:%Y-%m}")
                                       .get_data().decode("utf-8-sig"))))
    assert [r[8] for r in rows[1:]] == [ACCEPTED_WITH]  # the IBAN column (more columns follow it)


def test_the_pinned_account_rewritten_in_the_database_is_not_paid_and_verify_audit_reports_it(world, browser):
    act = _accepted()
    tamper(update(Act).where(Act.id == act.id).values(payee_iban=THEIRS))
    act = db.session.get(Act, act.id)
    page = browser("operator").get(f"/tasks/{open_task(act, 'pay_act').id}").get_data(as_text=True)
    assert 'id="pay-iban-not-accepted"' in page, "the operator is told before typing the payment order"
    act = db.session.get(Act, act.id)
    with pytest.raises(DomainRefused, match="is not the one the education department accepted it with"):
        _pay(act)
    db.session.rollback()
    assert _payments(act) == [] and db.session.get(Act, act.id).status == "accepted"
    reasons = _reasons()
    assert len(reasons) == 1 and f"act {act.id}: payee_iban differs from event {chain_of(act)}#" in reasons[0]


def test_a_payment_sent_to_another_account_than_the_accepted_one_is_reported(world):
    act = _accepted()
    _pay(act)
    payment = _payments(act)[0]
    tamper(update(Payment).where(Payment.id == payment.id).values(payee_iban=THEIRS))
    reasons = _reasons()
    assert any(f"payment {payment.id}: payee_iban differs from event" in r for r in reasons), reasons
    assert f"payment {payment.id}: sent to {THEIRS}, but act {act.id} was accepted to be paid to {ACCEPTED_WITH}" \
        in reasons


def test_an_act_accepted_before_payees_were_pinned_is_paid_as_before(world, browser, monkeypatch):
    """An act accepted before migration 0027: no pinned account, and an acceptance event without the fact. It is paid
    to the account on record at payment, as it always was; a database writer who pins one on it is found, and that
    account is not paid."""
    legacy_facts = act_operations.act_facts
    monkeypatch.setattr(act_operations, "act_facts",
                        lambda a: {k: v for k, v in legacy_facts(a).items() if k != "payee_iban"})
    act = _accepted()
    tamper(update(Act).where(Act.id == act.id).values(payee_iban=None))  # the row as before the migration
    monkeypatch.undo()
    assert _reasons() == []

    tamper(update(Act).where(Act.id == act.id).values(payee_iban=THEIRS))
    assert any(f"act {act.id}: payee_iban differs from event" in r for r in _reasons())
    with pytest.raises(DomainRefused, match="is not the one the education department accepted it with"):
        _pay(db.session.get(Act, act.id))
    db.session.rollback()

    tamper(update(Act).where(Act.id == act.id).values(payee_iban=None))
    _admin_sets_iban(browser, act, THEIRS)  # no pinned account: the one on record at payment, as before
    page = browser("operator").get(f"/tasks/{open_task(act, 'pay_act').id}").get_data(as_text=True)
    assert f'<span id="pay-iban">{THEIRS}</span>' in page and 'id="pay-iban-changed"' not in page
    _pay(db.session.get(Act, act.id))
    assert _payments(act)[0].payee_iban == THEIRS
    assert _reasons() == []


def test_an_act_of_an_organisation_without_an_account_is_not_accepted(world):
    act = act_of_school(LYCEUM)
    act.school.iban = None
    db.session.commit()
    with pytest.raises(DomainRefused, match="has no bank account \\(IBAN\\) on record"):
        complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.rollback()
    assert db.session.get(Act, act.id).status == "verified"
