"""verify-audit over payments the bank returned (guards, right when written): a return, the department's confirmation
of a new account and the repayment verify clean, command and all; a returned payment's row edited behind the app's
back — its return cleared, its amount changed — and a repayment's amount changed are each reported."""

from __future__ import annotations

import random

from sqlalchemy import update

from app import clock
from app.acts.models import Act
from app.audit.operations import verify_chains_and_rows
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import confirm_repayment_account, record_return
from app.registry.synthetic import _iban
from tests.audit.helpers import tamper
from tests.helpers import accepted_and_paid, user


def _returned(name: str = "Alatau Lyceum") -> tuple[Act, Payment]:
    act, payment = accepted_and_paid(name, "PP-AUD-1")
    record_return(act, payment, clock.today(), "account_closed", "RET/AUD-1", "", user("operator"))
    db.session.commit()
    return db.session.get(Act, act.id), db.session.get(Payment, payment.id)


def _repaid(act: Act) -> Payment:
    iban = _iban(random.Random(act.id))
    act.school.iban = iban
    db.session.commit()
    confirm_repayment_account(db.session.get(Act, act.id), iban, user("official_almaty"))
    db.session.commit()
    again = register_payment(db.session.get(Act, act.id), "PP-AUD-2", clock.today(), user("operator2"))
    db.session.commit()
    return again


def _problems() -> str:
    return " | ".join(p.reason for p in verify_chains_and_rows().problems)


def test_a_return_a_confirmation_and_a_repayment_verify_clean_with_the_command(world, app, anchor_dir):
    act, _payment = _returned()
    _repaid(act)
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0 and " 0 problem(s)." in result.output, result.output


def test_a_returned_payment_made_standing_again_behind_the_app_is_reported(world, app, anchor_dir):
    act, payment = _returned()
    tamper(update(Payment).where(Payment.id == payment.id).values(
        returned_on=None, return_reason=None, return_reference=None))
    problems = _problems()
    assert f"payment {payment.id}: returned_on differs" in problems, problems
    assert f"act {act.id}: a payment pays it, but its status is 'accepted'" in problems, problems
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code != 0


def test_the_amount_of_a_returned_payment_or_of_its_repayment_changed_behind_the_app_is_reported(world):
    act, payment = _returned()
    again = _repaid(act)
    assert _problems() == ""
    amount, again_amount = payment.amount_tiyn, again.amount_tiyn
    tamper(update(Payment).where(Payment.id == payment.id).values(amount_tiyn=amount - 100_00))
    assert f"payment {payment.id}: amount_tiyn differs" in _problems()
    tamper(update(Payment).where(Payment.id == payment.id).values(amount_tiyn=amount))
    assert _problems() == ""
    tamper(update(Payment).where(Payment.id == again.id).values(amount_tiyn=again_amount + 1))
    assert f"payment {again.id}: amount_tiyn differs" in _problems()


def test_an_act_set_paid_again_behind_the_app_after_its_payment_was_returned_is_reported(world):
    """The bank returned the act's payment; a database writer sets the act back to "paid" with no payment standing
    (nor closed at 0 ₸): the year-end would take the month as paid with nothing paid, the act would never be paid
    again — verify-audit says so."""
    act, _payment = _returned()
    assert _problems() == ""
    tamper(update(Act).where(Act.id == act.id).values(status="paid"))
    assert f"act {act.id}:" in _problems()
