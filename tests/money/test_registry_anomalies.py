"""Registry anomalies priced by hand: each line's payment worked out on paper first (norm × days NEDB has the child at
the school within its licence ÷ the month's days, down to the tiyn), then checked per act and month-wide — the two
must agree — and, where the month was paid, the claw-back or top-up settled on the next act exactly once.

These cases were right when written; they guard the pricing of re-enrolments, overlapping and inverted NEDB rows, the
first and last day, a same-day transfer, 29 February, a gap between two licences, a correction imported twice and
taken back, a claw-back that did not fit and its reversal, and a merge across two schools. The last test is of the act's
report, which now says whose the day of a same-day transfer is (it failed on the code before)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.acts.models import ActLine, StudentNorm
from app.acts.verification import verify_acts
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.money.settling import paid, settled, verified
from tests.money.test_import_reverifies import _import, _nedb_row
from tests.money.test_merged_copies_paid import _merge
from tests.registry.conftest import NORMS, iin

OCT, NOV, DEC, JAN = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
B = NORMS["basic"]  # 4,230,000 tiyn a month
AFTER = datetime(2027, 1, 5, 9, tzinfo=UTC)


def _results(act) -> list[tuple]:
    db.session.expire_all()
    return [(ln.outcome, ln.rule_code, ln.paid_days, ln.amount_tiyn)
            for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


def _per_act_and_month_wide(*acts) -> dict[int, list[tuple]]:
    """Each act verified alone, then all at once from scratch: the same results, or the assertion says how not."""
    for act in acts:
        verify_acts([act])
    alone = {act.id: _results(act) for act in acts}
    db.session.query(ActLine).update({"outcome": "pending", "rule_code": None, "paid_days": None, "amount_tiyn": 0})
    verify_acts(list(acts))
    assert {act.id: _results(act) for act in acts} == alone
    return alone


def test_rows_here_twice_in_a_month_pay_each_day_once(country):
    school = country.school()
    back, overlapping, inverted = iin(1), iin(2), iin(3)
    # withdrawn on the 6th, back on the 16th: the 1st–5th and the 16th–31st = 21 days
    country.enrol(back, school.bin, withdrawn=date(2026, 10, 6))
    country.enrol(back, school.bin, enrolled=date(2026, 10, 16))
    # the 5th–14th and the 10th–19th overlap: the 5th–19th = 15 days, never 20
    country.enrol(overlapping, school.bin, enrolled=date(2026, 10, 5), withdrawn=date(2026, 10, 15))
    country.enrol(overlapping, school.bin, enrolled=date(2026, 10, 10), withdrawn=date(2026, 10, 20))
    # a row enrolled after its withdrawal (a registry error the importer refuses) runs on no day: the 1st–4th = 4 days
    country.enrol(inverted, school.bin, enrolled=date(2026, 10, 20), withdrawn=date(2026, 10, 10))
    country.enrol(inverted, school.bin, withdrawn=date(2026, 10, 5))
    act = country.act(school, [(back, 5), (overlapping, 5), (inverted, 5)])
    assert _per_act_and_month_wide(act)[act.id] == [
        ("accepted", None, 21, 2_865_483), ("accepted", None, 15, 2_046_774), ("accepted", None, 4, 545_806)]
    assert (B * 21 // 31, B * 15 // 31, B * 4 // 31) == (2_865_483, 2_046_774, 545_806)


def test_the_first_and_the_last_day_and_a_transfer_on_one_day(country):
    a, b = country.school(), country.school()
    gone, last_day, moved = iin(1), iin(2), iin(3)
    country.enrol(gone, a.bin, withdrawn=date(2026, 10, 1))  # withdrawn on the 1st: no day of October
    country.enrol(last_day, a.bin, enrolled=date(2026, 10, 31))  # enrolled on the 31st: one day
    # left A on the 16th and joined B on the 16th: the 16th is B's (withdrawn_on is the first day no longer there)
    country.enrol(moved, a.bin, withdrawn=date(2026, 10, 16))
    country.enrol(moved, b.bin, enrolled=date(2026, 10, 16))
    act_a = country.act(a, [(gone, 5), (last_day, 5, 1), (moved, 5, 15)])
    act_b = country.act(b, [(moved, 5, 16)])
    found = _per_act_and_month_wide(act_a, act_b)
    assert found[act_a.id] == [("excluded", "withdrawn", None, 0), ("accepted", None, 1, 136_451),
                               ("accepted", None, 15, 2_046_774)]
    assert found[act_b.id] == [("accepted", None, 16, 2_183_225)]
    assert 2_046_774 + 2_183_225 <= B  # the child's month is never paid more than once


def test_29_february_is_a_day_of_a_leap_february_paid_and_corrected(country):
    db.session.add_all([StudentNorm(academic_year="2027/2028", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
    with clock.FrozenClock(datetime(2028, 4, 5, 9, tzinfo=UTC)):
        school = country.school()
        leaves, came, stays = iin(1), iin(2), iin(3)
        row = country.enrol(leaves, school.bin, enrolled=date(2027, 9, 1), withdrawn=date(2028, 2, 29))
        country.enrol(came, school.bin, enrolled=date(2028, 2, 29))
        country.enrol(stays, school.bin, enrolled=date(2027, 9, 1))
        february = country.act(school, [(leaves, 5, 28), (came, 5, 1)], period=date(2028, 2, 1))
        assert _per_act_and_month_wide(february)[february.id] == [("accepted", None, 28, B * 28 // 29),
                                                                  ("accepted", None, 1, B // 29)]
        paid(february)
        row.withdrawn_on = date(2028, 2, 28)  # NEDB: left a day earlier — 27 days of 29
        db.session.flush()
        march = verified(country.act(school, [(stays, 5)], period=date(2028, 3, 1)))
        assert settled(march) == [("enrolled_days", B * 27 // 29 - B * 28 // 29)] == [("enrolled_days", -145_862)]
        row.withdrawn_on = date(2028, 2, 29)  # and back before March is decided: nothing to settle
        db.session.flush()
        assert settled(verified(march)) == []


def test_a_licence_gap_of_one_day_found_after_payment_claws_back_that_day(country):
    with clock.FrozenClock(AFTER):
        school = country.school(registered=False)
        country.business(school)
        licence = country.licence(school, valid_from=date(2020, 1, 1))
        child = iin(1)
        country.enrol(child, school.bin)
        assert paid(verified(country.act(school, [(child, 5)], period=OCT))).amount_tiyn == B
        licence.valid_until = date(2026, 10, 10)  # ends on the 10th; the next licence starts on the 12th
        country.licence(school, valid_from=date(2026, 10, 12))
        november = verified(country.act(school, [(child, 5)], period=NOV))
        assert settled(november) == [("enrolled_days", B * 30 // 31 - B)] == [("enrolled_days", -136_452)]


def test_a_correction_imported_twice_then_taken_back_twice_settles_once_each_way(country, tmp_path):
    with clock.FrozenClock(AFTER):
        school = country.school()
        child, stays = iin(1), iin(2)
        row = country.enrol(child, school.bin, withdrawn=date(2026, 10, 21))  # 20 days of October
        country.enrol(stays, school.bin)
        october = paid(verified(country.act(school, [(child, 5), (stays, 5)], period=OCT)))
        assert october.lines[0].amount_tiyn == B * 20 // 31 == 2_729_032
        november = country.act(school, [(stays, 5)], period=NOV)
        db.session.commit()
        # NEDB: 19 days. One day is 4,230,000 × 20 ÷ 31 − 4,230,000 × 19 ÷ 31 = 136,452 tiyn (each amount rounded down)
        for n in range(2):
            corrected = _nedb_row(db.session.get(NedbEnrollment, row.id), withdrawn_on=date(2026, 10, 20))
            assert _import("nedb", tmp_path / f"corrected{n}.csv", [corrected]).status == "done"
            assert settled(verified(november)) == [("enrolled_days", -136_452)]
        paid(november)
        db.session.commit()
        for n in range(2):
            back = _nedb_row(db.session.get(NedbEnrollment, row.id), withdrawn_on=date(2026, 10, 21))
            assert _import("nedb", tmp_path / f"back{n}.csv", [back]).status == "done"
        december = paid(verified(country.act(school, [(stays, 5)], period=DEC)))
        assert settled(december) == [("nedb_corrected", 136_452)]
        assert settled(verified(country.act(school, [(stays, 5)], period=JAN))) == []
        assert unsettled_corrections(school) == []


def test_a_claw_back_that_did_not_fit_is_paid_back_only_as_far_as_it_was_taken(country):
    with clock.FrozenClock(AFTER):
        school = country.school()
        child, newcomer = iin(1), iin(2)
        row = country.enrol(child, school.bin)
        country.enrol(newcomer, school.bin, enrolled=date(2026, 11, 30))
        assert paid(verified(country.act(school, [(child, 5)], period=OCT))).amount_tiyn == B
        row.withdrawn_on = OCT  # NEDB: gone before October — all 4,230,000 owed back
        db.session.flush()
        november = verified(country.act(school, [(newcomer, 5, 1)], period=NOV))
        # November earns one day of 30 (141,000): that much is clawed back, the act nets 0, the rest stays owed
        assert settled(november) == [("withdrawn", -141_000)] and november.amount_tiyn == 0
        paid(november)
        assert [u.amount_tiyn for u in unsettled_corrections(school)] == [-(B - 141_000)]
        row.withdrawn_on = None  # taken back: only the 141,000 taken is paid back, and nothing stays owed
        db.session.flush()
        december = paid(verified(country.act(school, [(newcomer, 5)], period=DEC)))
        assert settled(december) == [("nedb_corrected", 141_000)]
        assert unsettled_corrections(school) == []


def test_a_merged_child_at_two_schools_in_one_month(country, tmp_path):
    with clock.FrozenClock(AFTER):
        a, b = country.school(), country.school()
        survivor, retired, at_a, at_b = iin(1), iin(2), iin(3), iin(4)
        country.enrol(survivor, a.bin)
        country.enrol(retired, b.bin, enrolled=date(2026, 10, 16))
        country.enrol(at_a, a.bin)
        country.enrol(at_b, b.bin)
        october_a = paid(verified(country.act(a, [(survivor, 5)], period=OCT)))
        october_b = paid(verified(country.act(b, [(retired, 5)], period=OCT)))
        assert (october_a.amount_tiyn, october_b.amount_tiyn) == (B, B * 16 // 31)  # two children, as NEDB said
        db.session.commit()
        _merge(tmp_path, retired, survivor)  # one child, at both schools from the 16th: neither is paid those days
        november_a = verified(country.act(a, [(at_a, 5)], period=NOV))
        november_b = verified(country.act(b, [(at_b, 5)], period=NOV))
        assert settled(november_a) == [("double_enrolment", -B)]
        assert settled(november_b) == [("double_enrolment", -(B * 16 // 31))]
        # and an open month judges both lines alike, per act or month-wide
        again_a = country.act(a, [(survivor, 5)], period=DEC)
        again_b = country.act(b, [(retired, 5)], period=DEC)
        found = _per_act_and_month_wide(again_a, again_b)
        assert found[again_a.id] == found[again_b.id] == [("excluded", "double_enrolment", None, 0)]


def test_the_report_says_whose_the_day_of_a_transfer_is(world, browser):
    """A transfer on one day (left A on the 16th, joined B on the 16th) pays the 16th to B — written only in the code
    and the model's docstring: a school checking a transferred pupil's days could not know why the 16th was not its."""
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from tests.helpers import act_of_school, open_task, user
    from tests.money.test_adjustments import BILIM

    act = act_of_school(BILIM)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    for who in ("official", "accountant"):
        page = browser(who).get(f"/acts/{act.id}").get_data(as_text=True)
        assert "paid the day of the move at the new school" in page, who
