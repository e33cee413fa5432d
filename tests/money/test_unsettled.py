"""A registry correction of a decided month is settled on the school's next act. When the contract has no act left
(its last month decided), the correction is settled nowhere: the contract's page shows it — what the school owes back
or is owed — until an act settles it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.acts.models import ActAdjustment, ActLine
from app.acts.operations import prefill_lines
from app.contracts.models import Contract, ContractAct
from app.engine.runtime import complete_task
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.helpers import open_task, user


def _samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()


def test_a_withdrawal_found_after_the_last_paid_month_is_shown_on_the_contract_until_settled(world, browser):
    contract = _samruk()
    september = db.session.scalars(select(ContractAct).where(ContractAct.contract_id == contract.id,
                                                             ContractAct.period == date(2026, 9, 1))).one().act
    complete_task(open_task(september, "submit_act").id, user("accountant4"),
                  data={"lines": prefill_lines(september)})
    db.session.commit()
    complete_task(open_task(september, "accept_act").id, user("official_shymkent"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(september, "pay_act").id, user("operator"),
                  data={"order_number": "PP-SEP-U", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert unsettled_corrections(contract.school) == []
    assert 'id="unsettled-corrections"' not in browser("official_shymkent").get(
        f"/contracts/{contract.id}").get_data(as_text=True)

    # NEDB learns that one paid pupil had left on 1 September: the month was paid for a child who was not there.
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == september.id, ActLine.outcome == "accepted")
                              .order_by(ActLine.line_no)).first()
    paid = line.amount_tiyn
    row = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin,
                                                          NedbEnrollment.school_bin == contract.school.bin)).one()
    row.withdrawn_on = date(2026, 9, 1)
    db.session.commit()

    (owed,) = unsettled_corrections(contract.school)
    assert (owed.line.id, owed.original.id, owed.correction.rule_code, owed.amount_tiyn) == (
        line.id, september.id, "withdrawn", -paid)
    for username in ("official_shymkent", "director4", "operator"):
        page = browser(username).get(f"/contracts/{contract.id}").get_data(as_text=True)
        assert 'id="unsettled-corrections"' in page and september.number in page, username
    assert db.session.scalars(select(ActAdjustment)).all() == [], "read only: nothing is settled by looking"

    # October's act settles it: it is no longer unsettled.
    october = db.session.scalars(select(ContractAct).where(ContractAct.contract_id == contract.id,
                                                           ContractAct.period == date(2026, 10, 1))).one().act
    complete_task(open_task(october, "submit_act").id, user("accountant4"), data={"lines": prefill_lines(october)})
    db.session.commit()
    assert [(a.original_line_id, a.amount_tiyn) for a in db.session.scalars(select(ActAdjustment))] == [
        (line.id, -paid)]
    assert unsettled_corrections(contract.school) == []
    assert 'id="unsettled-corrections"' not in browser("official_shymkent").get(
        f"/contracts/{contract.id}").get_data(as_text=True)
