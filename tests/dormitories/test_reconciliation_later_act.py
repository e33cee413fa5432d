"""Every tenge explained while a dormitory's claw-back waits for an act: September's act of the clean dormitory is
paid, then the student registry says most of its residents were withdrawn on 16 September. October's act, not yet
submitted, is to settle the claw-back; verified, it holds what it can (an act is never negative) and the rest stays
owed until November's act settles it (returned meanwhile, it holds nothing until verified again). Meanwhile
September's reconciliation shows what is owed as "to be settled on a later act" — on the page, in the CSV, the XLSX
and the API alike — and drops it once an act settles it, as the schools'
(tests/money/test_reconciliation_later_act.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app import clock
from app.acts.models import Act, ActAdjustment
from app.contracts.operations import open_contract_act
from app.dormitories.demo import submit_month
from app.dormitories.models import DormitoryTerms, StudentEnrolment
from app.engine.runtime import complete_task
from app.extensions import db
from app.reports.reconciliation import reconcile
from tests.dormitories.test_adjustments import _accept_and_pay, _month
from tests.helpers import open_task, user
from tests.money.reconciliation_checks import assert_explained, assert_views_agree, everything

SEPTEMBER, OCTOBER, NOVEMBER = date(2027, 9, 1), date(2027, 10, 1), date(2027, 11, 1)
GONE = 29  # of September's 39 residents, withdrawn on 16 September: more than October's act can hold, less than two
DORMITORY = "dormitory"


def _figures(period: date) -> tuple[int, int, int]:
    _rows, total = reconcile(period, everything(), instrument=DORMITORY)
    return total.unsettled_tiyn, total.later_clawback_tiyn, total.later_top_up_tiyn


def _checked(browser, period: date) -> None:
    assert_explained(period, DORMITORY)
    assert_views_agree(browser, period, DORMITORY)


def _open(seeded: dict, period: date) -> Act:
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    clock.set_clock(clock.FrozenClock(datetime(following.year, following.month, 3, 5, 0, tzinfo=UTC)))
    act = open_contract_act(seeded["contracts"]["dorm_a"], period)
    db.session.commit()
    return act


def _submit(seeded: dict, act: Act) -> Act:
    submit_month(seeded["worlds"]["dorm_a"], act, "dorm_accountant")
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Act, act.id)


def test_a_dormitory_claw_back_waiting_for_a_later_act_is_shown_in_the_month_it_corrects(dorm_year, browser):
    contract = dorm_year["contracts"]["dorm_a"]
    september = _month(dorm_year, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn).where(DormitoryTerms.contract_id == contract.id))
    full = [ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate]
    gone = full[:GONE]
    for line in gone:
        for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
            enrolment.withdrawn_on = date(2027, 9, 16)  # the registry, corrected after September was paid
    db.session.commit()
    owed = sum(rate * 15 // 30 - rate for _ in gone)

    # No act of October yet, then one awaiting submission: the term goes on, October's act is to settle it all.
    assert _figures(SEPTEMBER) == (0, owed, 0)
    _checked(browser, SEPTEMBER)
    october = _open(dorm_year, OCTOBER)
    assert _figures(SEPTEMBER) == (0, owed, 0)
    _checked(browser, SEPTEMBER)
    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2027-09&instrument=dormitory").get_data(as_text=True)
    assert 'data-col="later-clawback"' in page and 'id="reconciliation-later-note"' in page

    # Verified: October's act claws back all it can (its net is 0), the rest stays owed to a later act.
    october = _submit(dorm_year, october)
    assert october.status == "verified"
    held = october.adjustment_tiyn
    assert october.amount_tiyn == 0 and owed < held < 0
    rest = owed - held
    assert _figures(SEPTEMBER) == (0, rest, 0)
    _rows, oct_total = reconcile(OCTOBER, everything(), instrument=DORMITORY)
    assert (oct_total.adjusted_under_review_tiyn, oct_total.later_clawback_tiyn) == (held, 0)
    _checked(browser, SEPTEMBER)
    _checked(browser, OCTOBER)
    api = operator.get("/api/v1/reconciliation?period=2027-09&instrument=dormitory").get_json()
    assert api["total"]["later_clawback_tiyn"] == rest
    almaty = browser("official_almaty").get("/api/v1/reconciliation?period=2027-09&instrument=dormitory").get_json()
    assert almaty["total"]["later_clawback_tiyn"] == 0, "a department sees its region's only"

    # Returned: its claw-backs are settled by none until it is verified again — September owes all of it again.
    complete_task(open_task(october, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "Check the move-outs"})
    db.session.commit()
    assert _figures(SEPTEMBER) == (0, owed, 0)
    _rows, oct_total = reconcile(OCTOBER, everything(), instrument=DORMITORY)
    assert oct_total.adjusted_under_review_tiyn == 0
    _checked(browser, SEPTEMBER)
    _checked(browser, OCTOBER)
    october = _submit(dorm_year, october)  # verified again: it settles anew what it can hold
    assert (october.status, october.adjustment_tiyn, october.amount_tiyn) == ("verified", held, 0)
    assert _figures(SEPTEMBER) == (0, rest, 0)
    _checked(browser, SEPTEMBER)

    # October accepted and paid: the contract's term goes on, November's act is to settle the rest.
    _accept_and_pay(october)
    assert _figures(SEPTEMBER) == (0, rest, 0)
    _checked(browser, SEPTEMBER)
    november = _open(dorm_year, NOVEMBER)
    assert _figures(SEPTEMBER) == (0, rest, 0)
    _checked(browser, SEPTEMBER)

    november = _submit(dorm_year, november)  # verified: it holds the rest — gone from September
    assert november.adjustment_tiyn == rest
    assert db.session.scalar(select(func.sum(ActAdjustment.amount_tiyn))) == owed
    assert _figures(SEPTEMBER) == (0, 0, 0)
    _rows, nov_total = reconcile(NOVEMBER, everything(), instrument=DORMITORY)
    assert nov_total.adjusted_under_review_tiyn == rest
    _checked(browser, SEPTEMBER)
    _checked(browser, NOVEMBER)
    page = operator.get("/reports/reconciliation?period=2027-09&instrument=dormitory").get_data(as_text=True)
    assert 'data-col="later-clawback"' not in page

    _accept_and_pay(november)
    assert _figures(SEPTEMBER) == (0, 0, 0)
    _checked(browser, SEPTEMBER)
