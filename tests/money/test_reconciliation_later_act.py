"""Every tenge explained while a correction waits for an act: the rest of a claw-back the next act could not hold (an
act is never negative, the rest stays owed) was in no month's reconciliation until a later act settled it — neither
adjusted (no act carries it), nor unsettled (an act is to come). It is now "to be settled on a later act", booked to
the month it corrects, on the page, in the CSV, the XLSX and the API alike, until an act settles it."""

from __future__ import annotations

from datetime import date

from app.acts.models import Act, ActAdjustment
from app.acts.operations import open_monthly_act, prefill_lines
from app.engine.runtime import complete_task
from app.extensions import db
from app.reports.reconciliation import reconcile
from tests.helpers import act_of_school, open_task, school, user
from tests.money.reconciliation_checks import assert_explained, assert_views_agree, everything
from tests.money.test_adjustments import BILIM, DECEMBER, NOVEMBER, OCTOBER, _enrolment, _submit, _submit_accept_pay

GONE = 20  # of October's pupils found withdrawn in September: more than November's act can hold, less than two acts


def _later(period: date) -> tuple[int, int]:
    _rows, total = reconcile(period, everything())
    return total.later_clawback_tiyn, total.later_top_up_tiyn


def test_the_rest_of_a_claw_back_the_next_act_could_not_hold_is_shown_until_a_later_act_settles_it(world, browser):
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-L")
    gone = sorted(october.lines, key=lambda ln: ln.line_no)[:GONE]
    for line in gone:
        _enrolment(line.iin).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    owed = sum(ln.amount_tiyn for ln in gone)

    november = _submit(NOVEMBER)  # verified: it claws back all it can, its net is 0
    held = -november.adjustment_tiyn
    assert november.amount_tiyn == 0 and 0 < held < owed
    rest = owed - held
    # the rest is owed and on no act: October shows it, beside payable; November's act shows what it holds
    assert _later(OCTOBER) == (-rest, 0)
    _rows, nov = reconcile(NOVEMBER, everything())
    assert (nov.adjusted_under_review_tiyn, nov.later_clawback_tiyn) == (-held, 0)
    assert_explained(OCTOBER)
    assert_views_agree(browser, OCTOBER)
    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2026-10").get_data(as_text=True)
    assert 'data-col="later-clawback"' in page and 'id="reconciliation-later-note"' in page
    assert operator.get("/api/v1/reconciliation?period=2026-10").get_json()["total"]["later_clawback_tiyn"] == -rest
    almaty = browser("official_almaty").get("/api/v1/reconciliation?period=2026-10").get_json()
    assert almaty["total"]["later_clawback_tiyn"] == 0, "a department sees its region's only"

    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    # November holds nothing to pay (its claw-back took the month): closed without a payment order of 0 ₸
    assert november.amount_tiyn == 0 and november.status == "paid"
    _rows, oct_total = reconcile(OCTOBER, everything())
    assert (oct_total.unsettled_tiyn, oct_total.later_clawback_tiyn) == (-rest, 0), "no act to come: unsettled"
    december = open_monthly_act(school(BILIM), DECEMBER)  # awaiting submission: the rest waits for it
    db.session.commit()
    assert _later(OCTOBER) == (-rest, 0), "November paid, the rest still owed"
    assert reconcile(OCTOBER, everything())[1].unsettled_tiyn == 0
    assert_explained(OCTOBER)
    assert_views_agree(browser, OCTOBER)

    complete_task(open_task(december, "submit_act").id, user("accountant"), data={"lines": prefill_lines(december)})
    db.session.commit()
    db.session.expire_all()
    december = db.session.get(Act, december.id)  # verified: December's act holds the rest — gone from October
    assert december.adjustment_tiyn == -rest
    assert -db.session.query(db.func.sum(ActAdjustment.amount_tiyn)).scalar() == owed
    assert _later(OCTOBER) == (0, 0)
    _rows, dec = reconcile(DECEMBER, everything())
    assert dec.adjusted_under_review_tiyn == -rest
    assert_explained(OCTOBER)
    assert_views_agree(browser, OCTOBER)
    page = operator.get("/reports/reconciliation?period=2026-10").get_data(as_text=True)
    assert 'data-col="later-clawback"' not in page
