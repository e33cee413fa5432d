"""Walk 7: a school accountant whose payment the bank returned opens the act from the notice ("Open").

The notice said what to do (tell the department the organisation's current account), but the act's page it leads to
did not: it told the school how the operators share the repayment ("another operator than … registers the new payment
order, four eyes") and that "first the organisation's bank account is corrected", in the passive, naming no one. The
act's own organisation now reads what it does at each stage; the operators' four-eyes line is the operators'."""

from __future__ import annotations

import random
import re

from app import clock
from app.acts.models import Act
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.returns import record_return
from app.registry.synthetic import _iban
from tests.helpers import act_of_school, open_task, user


def _returned_act() -> Act:
    act = act_of_school("Alatau Lyceum")
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-W7-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    payment = db.session.query(Payment).filter_by(act_id=act.id).one()
    record_return(db.session.get(Act, act.id), payment, clock.today(), "account_closed", "BANK/W7", "",
                  user("operator"))
    db.session.commit()
    return act


def _to_do(page: str) -> str | None:
    found = re.search(r'id="school-to-do"[^>]*>(.*?)</div>', page, re.S)
    return found and found.group(1)


def test_the_school_reads_what_it_does_when_its_account_was_closed_then_that_it_waits(world, browser):
    act = _returned_act()
    accountant = browser("accountant3")
    page = accountant.get(f"/acts/{act.id}").get_data(as_text=True)
    assert "tell your education department" in _to_do(page)
    assert 'id="repay-four-eyes"' not in page

    db.session.get(Act, act.id).school.iban = _iban(random.Random(act.id))  # the new account, on record
    db.session.commit()
    page = accountant.get(f"/acts/{act.id}").get_data(as_text=True)
    assert "waits for the department's confirmation" in _to_do(page)
    assert "There is nothing more to do." in _to_do(page)


def test_guard_the_operators_still_read_the_four_eyes_line_and_not_the_schools(world, browser):
    act = _returned_act()
    page = browser("operator2").get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="school-to-do"' not in page
    assert 'id="repay-four-eyes"' in page or 'id="repay-blocked"' in page
