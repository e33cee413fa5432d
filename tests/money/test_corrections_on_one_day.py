"""An auditor's sequence of NEDB corrections of a paid month: two on one day (a withdrawal entered on the 11th, then
corrected to the 21st before the next act was decided), then the withdrawal taken back after that act was paid. The
open act's claw-back is recomputed, never added to; the reversal is paid back once, to the tiyn, and nothing stays
owed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.acts.models import ActAdjustment
from app.extensions import db
from tests.money.settling import paid, settled, verified
from tests.registry.conftest import NORMS, iin

OCTOBER, NOVEMBER, DECEMBER, JANUARY = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
BASIC = NORMS["basic"]


def test_two_corrections_on_one_day_then_a_reversal_settle_each_once_to_the_tiyn(country):
    with clock.FrozenClock(datetime(2027, 1, 5, 9, tzinfo=UTC)):
        school = country.school()
        left, stays = iin(1), iin(2)
        row = country.enrol(left, school.bin, grade=5)
        country.enrol(stays, school.bin, grade=5)
        october = paid(verified(country.act(school, [(left, 5), (stays, 5)], period=OCTOBER)))
        assert october.amount_tiyn == 2 * BASIC

        row.withdrawn_on = date(2026, 10, 11)  # the first correction: 10 days of October
        db.session.flush()
        november = verified(country.act(school, [(stays, 5)], period=NOVEMBER))
        assert settled(november) == [("enrolled_days", BASIC * 10 // 31 - BASIC)]
        row.withdrawn_on = date(2026, 10, 21)  # the same day, corrected again: 20 days
        db.session.flush()
        verified(november)
        assert settled(november) == [("enrolled_days", BASIC * 20 // 31 - BASIC)]
        assert november.amount_tiyn == BASIC + BASIC * 20 // 31 - BASIC
        paid(november)

        row.withdrawn_on = None  # taken back: the pupil never left
        db.session.flush()
        december = paid(verified(country.act(school, [(stays, 5)], period=DECEMBER)))
        assert settled(december) == [("nedb_corrected", BASIC - BASIC * 20 // 31)]
        january = verified(country.act(school, [(stays, 5)], period=JANUARY))
        assert settled(january) == [] and unsettled_corrections(school) == []
        # October's line was paid once in full: what was paid for it with every settlement is its norm.
        paid_for_line = october.lines[0].amount_tiyn + sum(
            a.amount_tiyn for a in db.session.scalars(select(ActAdjustment)
                                                      .where(ActAdjustment.original_line_id == october.lines[0].id)))
        assert paid_for_line == BASIC


def test_the_verification_report_states_how_a_line_is_priced_and_rounded(world, browser):
    """The rounding rule (norm × days ÷ days of the month, down to the tiyn) was written only in the code: a school
    checking a part-month line against its own sum could not know why it was one tiyn short."""
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from tests.helpers import act_of_school, open_task, user
    from tests.money.test_adjustments import BILIM

    act = act_of_school(BILIM)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    for who in ("official", "accountant"):
        page = browser(who).get(f"/acts/{act.id}").get_data(as_text=True)
        assert 'id="pay-rule"' in page and "rounded down to the whole tiyn" in page, who
