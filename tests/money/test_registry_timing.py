"""Registry timing against the act's month, priced by hand (norm × days NEDB has the child at the school ÷ the month's
days, down to the tiyn), per act and month-wide, both orders."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.models import ActLine
from app.acts.verification import verify_acts
from app.extensions import db
from tests.money.settling import paid, settled, verified
from tests.money.test_registry_anomalies import _results
from tests.registry.conftest import NORMS, iin

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
B = NORMS["basic"]  # 4,230,000 tiyn a month
AFTER = datetime(2027, 1, 5, 9, tzinfo=UTC)


def _both_orders(*acts) -> dict[int, list[tuple]]:
    """Each act alone in one order, then in the other, then all at once: the same results."""
    found = []
    for order in (acts, tuple(reversed(acts))):
        db.session.query(ActLine).update({"outcome": "pending", "rule_code": None, "paid_days": None,
                                          "amount_tiyn": 0})
        for act in order:
            verify_acts([act])
        found.append({act.id: _results(act) for act in acts})
    db.session.query(ActLine).update({"outcome": "pending", "rule_code": None, "paid_days": None, "amount_tiyn": 0})
    verify_acts(list(acts))
    found.append({act.id: _results(act) for act in acts})
    assert found[0] == found[1] == found[2]
    return found[0]


def test_a_transfer_recorded_on_one_day_at_both_schools_pays_that_day_once(country):
    a, b = country.school(), country.school()
    moved = iin(1)
    # NEDB: at A until the 15th inclusive (withdrawn_on, the first day gone, is the 16th), at B from the 15th
    country.enrol(moved, a.bin, withdrawn=date(2026, 10, 16))
    country.enrol(moved, b.bin, enrolled=date(2026, 10, 15))
    act_a = country.act(a, [(moved, 5, 15)])
    act_b = country.act(b, [(moved, 5, 17)])
    found = _both_orders(act_a, act_b)
    # the 15th is B's (the school the child entered): A the 1st–14th, B the 15th–31st
    assert found[act_a.id] == [("accepted", None, 14, B * 14 // 31)] == [("accepted", None, 14, 1_910_322)]
    assert found[act_b.id] == [("accepted", None, 17, B * 17 // 31)] == [("accepted", None, 17, 2_319_677)]
    assert 1_910_322 + 2_319_677 <= B


def test_a_paid_month_whose_transfer_is_recorded_later_on_one_day_at_both_claws_back_that_day_only(country):
    with clock.FrozenClock(AFTER):
        a, b = country.school(), country.school()
        moved, stays_a, stays_b = iin(1), iin(2), iin(3)
        country.enrol(moved, a.bin, withdrawn=date(2026, 10, 16))  # at A through the 15th: 15 days
        country.enrol(stays_a, a.bin)
        country.enrol(stays_b, b.bin)
        october_a = paid(verified(country.act(a, [(moved, 5, 15), (stays_a, 5)], period=OCT)))
        assert october_a.lines[0].amount_tiyn == B * 15 // 31 == 2_046_774
        # NEDB then records B's side of the transfer, from the 15th: B's October is 17 days, A keeps the 1st–14th
        country.enrol(moved, b.bin, enrolled=date(2026, 10, 15))
        october_b = verified(country.act(b, [(moved, 5, 17), (stays_b, 5)], period=OCT))
        assert _results(october_b)[0] == ("accepted", None, 17, 2_319_677)
        november_a = verified(country.act(a, [(stays_a, 5)], period=NOV))
        # one day clawed back (2,046,774 − 1,910,322), not the 15 days a double enrolment would take
        assert settled(november_a) == [("enrolled_days", B * 14 // 31 - B * 15 // 31)] == [("enrolled_days", -136_452)]


def test_rows_sharing_two_days_or_a_single_day_row_stay_a_double_enrolment(country):
    """Guards: only the one-day hand-over is a transfer."""
    a, b, c, d = (country.school() for _ in range(4))
    two_days, one_day_row = iin(1), iin(2)
    country.enrol(two_days, a.bin, withdrawn=date(2026, 10, 16))  # through the 15th
    country.enrol(two_days, b.bin, enrolled=date(2026, 10, 14))  # from the 14th: the 14th and the 15th at both
    country.enrol(one_day_row, c.bin, enrolled=date(2026, 10, 15), withdrawn=date(2026, 10, 16))  # the 15th only
    country.enrol(one_day_row, d.bin, enrolled=date(2026, 10, 15))
    acts = [country.act(s, [(child, 5)]) for s, child in ((a, two_days), (b, two_days), (c, one_day_row),
                                                          (d, one_day_row))]
    found = _both_orders(*acts)
    assert [found[act.id] for act in acts] == [[("excluded", "double_enrolment", None, 0)]] * 4


def test_the_import_of_a_transfer_recorded_on_one_day_at_both_names_no_earlier_row_to_void(country, tmp_path):
    """B's side of a transfer arrives in a later file, from the 15th, A's row running through the 15th: the import
    named A's row as one the new row may correct and told the operator to void it — voided, A's whole September and
    October went unpaid. Verification pays the 15th to B (no double enrolment), so there is nothing to void. Rows of
    two schools sharing two days are still named."""
    from tests.registry.test_import_earlier_rows import _import as _import_file

    a, b = country.school(), country.school()
    moved, shared = iin(1), iin(2)
    country.enrol(moved, a.bin, withdrawn=date(2026, 10, 16))
    country.enrol(shared, a.bin, withdrawn=date(2026, 10, 17))
    db.session.commit()
    result = _import_file(tmp_path, [f"{moved},Student {moved},{b.bin},5,2026-10-15,",
                                     f"{shared},Student {shared},{b.bin},5,2026-10-15,"])
    assert (result.loaded, [(n["iin"], n["school"]) for n in result.notices]) == (2, [(shared, a.bin)])
    act_b = country.act(b, [(moved, 5, 17)])
    verify_acts([act_b])
    assert _results(act_b) == [("accepted", None, 17, 2_319_677)]

def test_an_enrolment_date_corrected_earlier_by_a_later_file_tops_up_the_paid_month_and_an_open_act(country,
                                                                                                     tmp_path):
    """NEDB moves a start date from 20 October to 5 October in an incremental file: a second row beside the first
    (the natural key holds the date), named by the import. Every day of the earlier row is inside the new one, so the
    days are the new row's either way: the paid October is topped up 12 → 27 days on November's act, and a verified
    October act of another school not yet accepted gets the 27 days when the import verifies it again."""
    from tests.registry.test_import_earlier_rows import _import as _import_file

    with clock.FrozenClock(AFTER):
        a, b = country.school(), country.school()
        late, other, stays_a = iin(1), iin(2), iin(3)
        country.enrol(late, a.bin, enrolled=date(2026, 10, 20))
        country.enrol(other, b.bin, enrolled=date(2026, 10, 20))
        country.enrol(stays_a, a.bin)
        october_a = paid(verified(country.act(a, [(late, 5, 12), (stays_a, 5)], period=OCT)))
        assert october_a.lines[0].amount_tiyn == B * 12 // 31 == 1_637_419
        october_b = verified(country.act(b, [(other, 5, 12)], period=OCT, status="verified"))
        november_a = verified(country.act(a, [(stays_a, 5)], period=NOV, status="verified"))
        db.session.commit()
        result = _import_file(tmp_path, [f"{late},Student {late},{a.bin},5,2026-10-05,",
                                         f"{other},Student {other},{b.bin},5,2026-10-05,"])
        assert (result.loaded, result.noticed) == (2, 2)
        assert _results(october_b) == [("accepted", None, 27, B * 27 // 31)] == [("accepted", None, 27, 3_684_193)]
        assert settled(november_a) == [("enrolled_days", 3_684_193 - 1_637_419)] == [("enrolled_days", 2_046_774)]


def _prefilled(country, school, period):
    """A new act of ``period`` with NEDB's prefill as its lines: (the act, its lines as (IIN, grade, days) sorted)."""
    from app.acts.operations import prefill_lines

    act = country.act(school, [], period=period)
    lines = prefill_lines(act)
    db.session.add_all([ActLine(act_id=act.id, period=period, school_id=school.id, line_no=no, iin=ln["iin"],
                                full_name=ln["full_name"], grade=ln["grade"], days_attended=ln["days_attended"])
                        for no, ln in enumerate(lines, start=1)])
    db.session.flush()
    db.session.expire(act)
    return act, sorted((ln["iin"], ln["grade"], ln["days_attended"]) for ln in lines)


def test_a_late_act_of_an_earlier_year_is_prefilled_with_the_grade_of_its_month_and_paid_at_that_norm(country):
    """May's act opened in October: NEDB has moved its pupils up since (one grade per row, the current one). Prefilled
    with today's grade 5, a pupil in grade 4 in May was claimed — and paid, NEDB's grade being accepted — at basic's
    norm, 4,230,000 instead of primary's 3,850,000. A row that ended before the summer's move kept its grade."""
    from app.acts.models import Act, StudentNorm

    db.session.add_all([StudentNorm(academic_year="2025/2026", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
    with clock.FrozenClock(datetime(2026, 10, 5, 9, tzinfo=UTC)):
        school = country.school()
        promoted, left = iin(1), iin(2)
        country.enrol(promoted, school.bin, grade=5, enrolled=date(2024, 9, 1))
        country.enrol(left, school.bin, grade=7, enrolled=date(2024, 9, 1), withdrawn=date(2026, 5, 20))
        may = date(2026, 5, 1)
        # 21 weekdays in May; the pupil who left on the 20th was there on 13 of them (1–19 May)
        act, lines = _prefilled(country, school, may)
        assert lines == sorted([(promoted, 4, 21), (left, 7, 13)])
        verify_acts([act])
        assert sorted((ln.iin, *r) for ln, r in zip(sorted(act.lines, key=lambda ln: ln.line_no), _results(act),
                                                    strict=True)) == sorted([
            (promoted, "accepted", None, 31, NORMS["primary"]),
            (left, "accepted", None, 19, B * 19 // 31)])
        assert db.session.get(Act, act.id).amount_tiyn == 3_850_000 + 2_592_580


def test_the_prefill_lists_a_pupil_once_per_grade_with_the_weekdays_nedb_has_them_here(country):
    """A pupil re-enrolled within the month, or with an enrolment date corrected by a later file (the corrected row
    beside the earlier one), was prefilled twice — the second line a duplicate_line; and every pupil was prefilled
    with all the month's weekdays, so a pupil enrolled on the 20th claimed more days than NEDB has (needs review).
    October 2026 has 22 weekdays."""
    with clock.FrozenClock(AFTER):
        school = country.school()
        back, late, corrected, moved_up = iin(1), iin(2), iin(3), iin(4)
        country.enrol(back, school.bin, withdrawn=date(2026, 10, 6))  # 1–5 October: 3 weekdays
        country.enrol(back, school.bin, enrolled=date(2026, 10, 16))  # 16–31: 11 weekdays
        country.enrol(late, school.bin, enrolled=date(2026, 10, 20))  # 20–31: 9 weekdays
        country.enrol(corrected, school.bin)
        country.enrol(corrected, school.bin, enrolled=date(2026, 10, 5))  # the corrected row, beside the first
        country.enrol(moved_up, school.bin, grade=4, withdrawn=date(2026, 10, 16))  # a line per grade
        country.enrol(moved_up, school.bin, grade=5, enrolled=date(2026, 10, 16))
        act, lines = _prefilled(country, school, OCT)
        assert lines == sorted([(back, 5, 14), (late, 5, 9), (corrected, 5, 22), (moved_up, 4, 11),
                                (moved_up, 5, 11)])
        verify_acts([act])
        db.session.expire_all()
        assert sorted((ln.iin, ln.outcome, ln.rule_code, ln.review_codes) for ln in act.lines) == sorted(
            (s, "accepted", None, None) for s, _g, _d in lines)


def _with_norms(*years: str) -> None:
    from app.acts.models import StudentNorm

    db.session.add_all([StudentNorm(academic_year=y, level=k, monthly_tiyn=v) for y in years for k, v in NORMS.items()])
    db.session.flush()


def test_the_summer_tolerance_takes_one_grade_below_nedb_never_one_above(country):
    """July 2026, pupils being moved up in NEDB: May's act may claim NEDB's grade or the one below (not moved yet, or
    moved), never one above it, nor two below; a grade NEDB lowered (a pupil found repeating) is held to the new one.
    Guards (right when written)."""
    _with_norms("2025/2026")
    with clock.FrozenClock(datetime(2026, 7, 10, 9, tzinfo=UTC)):
        school = country.school()
        moved, lowered = iin(1), iin(2)
        country.enrol(moved, school.bin, grade=5, enrolled=date(2024, 9, 1))  # moved up 4 → 5 in June
        country.enrol(lowered, school.bin, grade=4, enrolled=date(2024, 9, 1))  # lowered 5 → 4: repeats grade 4
        may = date(2026, 5, 1)
        act = country.act(school, [(moved, 4), (lowered, 5)], period=may)
        verify_acts([act])
        assert _results(act) == [("accepted", None, 31, NORMS["primary"]), ("excluded", "grade_mismatch", None, 0)]
        for claimed in (6, 3):  # one above NEDB's 5, two below it
            db.session.query(ActLine).filter(ActLine.act_id == act.id, ActLine.iin == moved).update(
                {"grade": claimed})
            verify_acts([act])
            assert _results(act)[0] == ("excluded", "grade_mismatch", None, 0), claimed


def test_a_pupil_claimed_in_two_grades_of_a_month_two_years_back_is_paid_once(country):
    """A late act of May 2025 verified in October 2026: NEDB has the pupil in grade 6 now, two moves up since, so
    grades 4 to 6 are accepted for May 2025. Listed in grades 4 and 5 (neither NEDB's), the pupil was paid the whole
    month on both lines — 3,850,000 + 4,230,000 for one child. One line is paid: the higher grade's (the other
    is a duplicate_line, the pupil being in one grade that month by NEDB's single row)."""
    _with_norms("2024/2025")
    with clock.FrozenClock(datetime(2026, 10, 5, 9, tzinfo=UTC)):
        school = country.school()
        pupil = iin(1)
        country.enrol(pupil, school.bin, grade=6, enrolled=date(2023, 9, 1))
        act = country.act(school, [(pupil, 4), (pupil, 5)], period=date(2025, 5, 1))
        verify_acts([act])
        assert sorted(_results(act)) == sorted([("excluded", "duplicate_line", None, 0),
                                                ("accepted", None, 31, B)])


def test_a_registry_behind_a_web_service_hands_the_day_over_too(country):
    """Guard (right when written): the NEDB service's enrolments are staged into a temporary table, read as handed over
    the same way as the table's."""
    from app.registry.adapter import Enrollment

    a, b = country.school(), country.school()
    moved = iin(1)
    rows = [Enrollment(moved, f"Student {moved}", a.bin, "private", 5, date(2026, 9, 1), date(2026, 10, 16)),
            Enrollment(moved, f"Student {moved}", b.bin, "private", 5, date(2026, 10, 15), None)]

    class Service:
        def enrollments_for(self, iins):
            return {moved: rows} if moved in set(iins) else {}

    act_a = country.act(a, [(moved, 5, 14)])
    act_b = country.act(b, [(moved, 5, 17)])
    verify_acts([act_a, act_b], Service())
    assert (_results(act_a), _results(act_b)) == ([("accepted", None, 14, 1_910_322)],
                                                  [("accepted", None, 17, 2_319_677)])
