"""A carried top-up paid outside the acts whose payment order the bank sent back.

The payment order that paid a carried top-up outside the acts (app.contracts.settlements.settle_outside) could not be
marked returned: the reconciliation, the contract's caps, the top-up lists and the year-end report counted the money
as paid though the school got nothing, and the top-up could never be paid again. Now the operator records the return
(the rules of an act's payment's return, app.payments.returns.check_return), audited on the contract's chain with the
settlement's new facts; the settlement counts as not paid everywhere, the top-up is carried again and is settled once
more — by a new payment order, not before the return. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.acts.models import OutsideSettlement
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.contracts.settlements import record_settlement_return
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db
from app.reports.reconciliation import reconcile
from tests.helpers import user
from tests.money.test_outside_settlement import _carried_may, _form
from tests.money.test_reconciliation_unsettled import MAY, _everything

PAID_ON = "2026-11-02"


def _paid_outside(browser):
    contract, line, carried = _carried_may()
    response = browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                                        _form(line, carried, order_number="PP-OUT-1", paid_on=PAID_ON))
    assert response.status_code == 303
    row = db.session.scalars(select(OutsideSettlement)).one()
    return contract, line, carried, row


def _rows() -> list[tuple]:
    db.session.expire_all()
    return [(s.seq, s.order_number, s.returned_on, s.return_reason, s.return_reference)
            for s in db.session.scalars(select(OutsideSettlement).order_by(OutsideSettlement.id))]


def test_a_returned_top_up_counts_as_not_paid_is_carried_again_and_is_paid_once_more(world, browser):
    contract, line, carried, row = _paid_outside(browser)
    assert reconcile(MAY, _everything())[1].settled_outside_tiyn == carried
    operator = browser("operator")
    page = operator.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'id="return-settlement-{row.id}"' in page

    response = operator.post(f"/contracts/{contract.id}/settlements/{row.id}/return",
                             {"returned_on": "2026-11-04", "reason": "wrong_details", "reference": "BANK/OUT-9",
                              "note": ""})
    assert response.status_code == 303
    assert _rows() == [(0, "PP-OUT-1", date(2026, 11, 4), "wrong_details", "BANK/OUT-9")]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settlement_returned")).one()
    assert (event.object_type, event.object_id, event.actor_id) == ("outside_settlement", row.id,
                                                                    user("operator").id)
    assert event.facts["returned_on"] == "2026-11-04" and event.facts["return_reason"] == "wrong_details"
    assert [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason] == []

    # not paid: the reconciliation has it unsettled again, the top-up is carried again
    _rows_, total = reconcile(MAY, _everything())
    assert (total.settled_outside_tiyn, total.unsettled_tiyn) == (0, carried)
    (again,) = unsettled_corrections(contract.school)
    assert (again.line.id, again.amount_tiyn, again.carried) == (line.id, carried, True)
    operator2 = browser("operator2")  # another operator pays it again (four eyes)
    page = operator2.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'data-returned-settlement="{row.id}"' in page and f'data-settle-line="{line.id}"' in page

    # paid again: not by the returned order, not before the return; then by a new order, once
    for bad, said in (({"order_number": "PP-OUT-1", "paid_on": "2026-11-05"}, "was returned by the bank on"),
                      ({"order_number": "PP-OUT-2", "paid_on": "2026-11-03"}, "is before the bank returned")):
        refused = operator2.post(f"/contracts/{contract.id}/settle-outside", _form(line, carried, seen=1, **bad))
        assert refused.status_code == 422 and said in refused.get_data(as_text=True)
    assert len(_rows()) == 1
    paid = operator2.post(f"/contracts/{contract.id}/settle-outside",
                          _form(line, carried, seen=1, order_number="PP-OUT-2", paid_on="2026-11-05"))
    assert paid.status_code == 303
    assert [r[:3] for r in _rows()] == [(0, "PP-OUT-1", date(2026, 11, 4)), (1, "PP-OUT-2", None)]
    assert unsettled_corrections(contract.school) == []
    assert reconcile(MAY, _everything())[1].settled_outside_tiyn == carried
    twice = operator2.post(f"/contracts/{contract.id}/settle-outside",
                           _form(line, carried, seen=1, order_number="PP-OUT-3", paid_on="2026-11-05"))
    assert twice.status_code == 303 and len(_rows()) == 2


@pytest.mark.parametrize("mistake, error, said", [
    ("twice", DomainConflict, "was already recorded as returned on"),
    ("reason", DomainRefused, "Choose why the bank returned the payment from the list."),
    ("reference", DomainRefused, "Enter the bank's reference of the return"),
    ("other_without_note", DomainRefused, "Say in the note why the bank returned the payment."),
    ("before_payment", DomainRefused, "is before the payment on"),
    ("not_the_operator", DomainRefused, "Only the operator records a payment the bank returned."),
    ("written_off", DomainRefused, "A written-off top-up was not paid"),
])
def test_a_bad_return_of_a_settlement_is_refused_and_changes_nothing(world, browser, mistake, error, said):
    contract, line, carried = _carried_may()
    if mistake == "written_off":
        browser("official_shymkent").post(f"/contracts/{contract.id}/settle-outside",
                                          _form(line, carried, reason="The grade was checked: not owed"))
    else:
        browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                                 _form(line, carried, order_number="PP-OUT-1", paid_on=PAID_ON))
    row = db.session.scalars(select(OutsideSettlement)).one()
    today = clock.today()
    if mistake == "twice":
        record_settlement_return(contract, row.id, today, "bank_refused", "R-1", "", user("operator"))
        db.session.commit()
    before = _rows()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    args = {"returned_on": today, "reason": "bank_refused", "reference": "R-2", "note": "", "actor": user("operator")}
    args.update({"reason": {"reason": "lost"}, "reference": {"reference": " "},
                 "other_without_note": {"reason": "other"},
                 "before_payment": {"returned_on": date(2026, 11, 2) - timedelta(days=1)},
                 "not_the_operator": {"actor": user("official_shymkent")}}.get(mistake, {}))
    with pytest.raises(error, match=said):
        record_settlement_return(contract, row.id, args["returned_on"], args["reason"], args["reference"],
                                 args["note"], args["actor"])
    db.session.rollback()
    assert _rows() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_only_the_operator_may_record_it_on_the_page(world, browser):
    contract, _line, _carried, row = _paid_outside(browser)
    url = f"/contracts/{contract.id}/settlements/{row.id}/return"
    form = {"returned_on": "2026-11-04", "reason": "bank_refused", "reference": "R-3"}
    for username, status in (("official_shymkent", 403), ("accountant4", 403), ("auditor", 403),
                             ("official_almaty", 404)):
        assert browser(username).post(url, form).status_code == status
    assert _rows()[0][2] is None
    refused = browser("operator").post(url, {**form, "returned_on": "4 Nov"})
    assert refused.status_code == 422
    assert "Enter the day the bank returned the money as a date." in refused.get_data(as_text=True)
    assert _rows()[0][2] is None


def test_the_school_hears_its_top_up_came_back(world, browser):
    """An act's returned payment is told to the school; a returned top-up paid outside the acts was told to no one of
    the school, who read the top-up as paid. Now its director and accountants hear it, in their bell."""
    import html

    from app.notifications.models import Notification
    from app.people.models import User

    contract, _line, carried, row = _paid_outside(browser)
    record_settlement_return(contract, row.id, date(2026, 11, 4), "bank_refused", "R-1", "", user("operator"))
    db.session.commit()
    told = db.session.execute(select(User.username, User.role, User.organisation_id, Notification.params)
                              .join(User, User.id == Notification.user_id)
                              .where(Notification.kind == "top_up_returned")).all()
    assert told and {(role, org) for _name, role, org, _params in told} <= {
        ("school_director", contract.school_id), ("school_accountant", contract.school_id)}
    assert {"school_accountant"} <= {role for _name, role, _org, _params in told}
    assert all(params["contract_id"] == contract.id and params["order"] == "PP-OUT-1"
               and params["amount_tiyn"] == carried for *_rest, params in told)
    accountant = next(name for name, role, _org, _params in told if role == "school_accountant")
    page = html.unescape(browser(accountant).get("/notifications").get_data(as_text=True))
    assert f"Contract {contract.number}: the bank returned payment order PP-OUT-1 (" in page
    assert "of a top-up paid outside the acts. The top-up is to be paid again." in page
