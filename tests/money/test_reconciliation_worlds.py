"""Every tenge explained on worlds with every money feature at once: the month's reconciliation (page, CSV, XLSX,
API) equals the line-by-line sums of act lines, adjustment lines, payments and settlements outside the acts, and
its identities hold (``tests/money/reconciliation_checks.py``) — for an act returned and resubmitted, a contract with
its own norms, a contract's amount cap, a claw-back larger than the next act, two regions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from app.acts.models import Act, ActAdjustment
from app.acts.operations import prefill_lines, submit_act
from app.engine.runtime import complete_task
from app.extensions import db
from app.orders.models import OrderNorm
from app.reports.reconciliation import reconcile
from tests.helpers import act_of_school, open_task, user
from tests.money.reconciliation_checks import assert_explained, assert_views_agree, everything
from tests.money.test_reconciliation import OCTOBER, _month_of_every_kind

ALATAU = "Alatau Lyceum"


def test_an_act_returned_and_submitted_again_is_counted_once_while_it_waits_for_verification(world, browser):
    """Users probe: Alatau's verified October act is returned and the school submits it again; its verification has
    not run yet (a registry down: an incident, the act waits submitted). The reconciliation counted the new lines'
    norms under review *and* the amount, withholding and adjustments of the verification before the return — the
    act's money twice, and a claimed figure above what its lines claim."""
    _month_of_every_kind()
    assert_explained(OCTOBER)
    alatau = act_of_school(ALATAU)
    assert alatau.status == "verified" and alatau.amount_tiyn > 0 and alatau.withheld_tiyn > 0
    complete_task(open_task(alatau, "accept_act").id, user("official_almaty"),
                  data={"decision": "return", "comment": "line 5 is a duplicate"})
    db.session.commit()
    assert_explained(OCTOBER)  # returned: its lines under review as verified, its adjustments not counted

    alatau = act_of_school(ALATAU)
    submit_act(alatau, prefill_lines(alatau), None, user("accountant3"))  # verification has not run (yet)
    db.session.commit()
    alatau = act_of_school(ALATAU)
    assert alatau.status == "submitted" and {ln.outcome for ln in alatau.lines} == {"pending"}
    assert_explained(OCTOBER)
    assert_views_agree(browser, OCTOBER)
    assert (alatau.amount_tiyn, alatau.withheld_tiyn, alatau.adjustment_tiyn) == (0, 0, 0), \
        "an act submitted again has no amount until it is verified again"


def test_withheld_by_rule_is_what_the_contracts_own_norms_withhold(world, browser):
    """Samruk is funded under a contract whose order prices a pupil above the year's norm table. An excluded line
    withheld the contract's norm on the act (the act's withheld), but the reconciliation's "withheld by rule" (and
    "claimed" of lines pending verification) priced it at the year's table — the rule's figure was not what the
    act withheld, and the difference sat in "withheld: days, cap, contract norms", negative where the contract pays
    less than the table."""
    from app.contracts.models import Contract

    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    db.session.execute(update(OrderNorm).where(OrderNorm.order_id == contract.order_id,
                                               OrderNorm.locality == contract.locality)
                       .values(monthly_tiyn=OrderNorm.monthly_tiyn - 500_000))
    db.session.commit()
    _month_of_every_kind()  # Samruk's October act: submitted, its lines pending verification
    assert_explained(OCTOBER)
    samruk = db.session.scalars(select(Act).where(Act.number.like("%202610"), Act.school_id == contract.school_id)
                                ).one()
    from app.acts.operations import verify

    verify(samruk)
    db.session.commit()
    samruk = db.session.get(Act, samruk.id)
    assert samruk.status == "verified" and any(ln.outcome == "excluded" for ln in samruk.lines)
    assert_explained(OCTOBER)
    assert_views_agree(browser, OCTOBER)


def test_adjustment_lines_equal_the_adjusted_figures_of_their_settling_month(world, browser):
    """A claw-back larger than the next act: November's act earns less than what October's lines of withdrawn pupils
    were paid. November settles what fits (its net never below zero) — the adjusted figure of November, the month
    whose act settles it — and the rest stays owed for a later act."""
    from app.registry.models import NedbEnrollment
    from tests.money.test_adjustments import _submit
    from tests.money.test_reconciliation import NOVEMBER

    _month_of_every_kind()
    october = act_of_school("Bilim Innovation School")
    assert october.status == "paid"
    gone = sorted(october.lines, key=lambda ln: ln.line_no)
    stays = {ln.iin for ln in gone[:2]}
    for enrolment in db.session.scalars(select(NedbEnrollment).where(
            NedbEnrollment.iin.in_([ln.iin for ln in gone]), NedbEnrollment.school_bin == october.school.bin)):
        if enrolment.iin not in stays:
            enrolment.withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    assert november.amount_tiyn == 0 and november.adjustment_tiyn < 0, "the claw-back took all November earns"
    assert -november.adjustment_tiyn < sum(ln.amount_tiyn for ln in gone[2:]), "the rest stays owed"
    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    for month in (OCTOBER, NOVEMBER):
        assert_explained(month)
        assert_views_agree(browser, month)
    assert sum(a.amount_tiyn for a in db.session.scalars(select(ActAdjustment))) == november.adjustment_tiyn


def test_a_carried_top_up_settled_outside_the_acts_is_explained_in_the_month_it_corrects(world, browser):
    """A top-up of May 2026 (a closed academic year) is carried, then paid by a payment order: May's reconciliation
    moves it from "adjusted, unsettled" to "paid outside the acts" — booked to May, the month it corrects, never to
    the month it was paid in — and every view shows the same."""
    from tests.money.test_outside_settlement import _carried_may, _form
    from tests.money.test_reconciliation_unsettled import MAY

    contract, line, carried = _carried_may()
    may = db.session.get(Act, line.act_id)
    may.withheld_tiyn = 3_850_000 - line.amount_tiyn  # as verification left it: 10 of 31 days paid
    db.session.commit()
    _rows, before = assert_explained(MAY)
    assert (before.unsettled_tiyn, before.settled_outside_tiyn) == (carried, 0)
    assert_views_agree(browser, MAY)
    browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                             _form(line, carried, order_number="PP-2027-9", paid_on="2026-11-20"))
    _rows, after = assert_explained(MAY)
    assert (after.unsettled_tiyn, after.settled_outside_tiyn) == (0, carried)
    assert_views_agree(browser, MAY)
    _rows, november = reconcile(date(2026, 11, 1), everything())
    assert november.settled_outside_tiyn == 0
