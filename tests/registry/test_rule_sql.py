"""The set-based pass's own arithmetic, held to the Python rules it stands for, on the test database's engine.

Issue 17: the mutation run of ``app/acts/verification.py`` found that the IIN check digit in SQL, the licence
days when licences leave a gap, the licence boundaries and the pass's settings could change without a test
noticing: these tests pin each of them. Amounts are worked out here: the norm × days ÷ days of the month,
rounded down to the tiyn."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import select, text

from app.acts.models import ActLine, StudentNorm
from app.acts.verification import _iin_invalid_sql, _tune_for_pass, verify_act, verify_acts
from app.extensions import db
from app.registry.identifiers import _check_digit, complete_12, is_valid_12
from tests.registry.conftest import NORMS, iin
from tests.registry.test_rules import outcomes

BASIC = NORMS["basic"]


def _second_weights_needed(prefix: str) -> bool:
    return sum(int(d) * w for d, w in zip(prefix, range(1, 12), strict=True)) % 11 == 10


def _sample_numbers() -> list[str]:
    rng = random.Random(17)
    numbers = ["000000000000", "999999999999", "12345678901", "1234567890123", "12345678901a", " 23456789012",
               "１２３４５６７８９０１２", "٠١٢٣٤٥٦٧٨٩٠١"]
    second, none = [], []
    while len(second) < 40 or len(none) < 5:
        prefix = f"{rng.randrange(10 ** 11):011d}"
        if _second_weights_needed(prefix):
            (second if _check_digit([int(c) for c in prefix]) is not None else none).append(prefix)
    for prefix in second[:40] + none[:5]:  # the second set of weights decides, or no digit can be right
        numbers += [prefix + str(d) for d in range(10)]
    for _ in range(300):
        good = complete_12(f"{rng.randrange(10 ** 11):011d}")
        if good:
            numbers += [good, good[:11] + str((int(good[11]) + 1) % 10), good[1:] + good[0]]
    return numbers


def test_the_sql_check_digit_is_the_registrys_check_digit(app_ctx):
    """Every value the pass reads as an IIN: valid ones of both weightings, each wrong last digit, numbers
    with no possible check digit, and what is not twelve ASCII digits (full-width, Arabic-Indic, spaces)."""
    check = text(f"SELECT {_iin_invalid_sql(db.engine.dialect.name, 'v.iin')} "  # noqa: S608 - our own SQL
                 "FROM (SELECT CAST(:iin AS VARCHAR(40)) AS iin) v")
    numbers = _sample_numbers()
    verdicts = {n: bool(db.session.execute(check, {"iin": n}).scalar()) for n in numbers}
    assert {n for n, invalid in verdicts.items() if invalid is is_valid_12(n)} == set()
    assert sum(is_valid_12(n) for n in numbers) > 300 and sum(not is_valid_12(n) for n in numbers) > 300
    assert sum(is_valid_12(n) and _second_weights_needed(n[:11]) for n in numbers) >= 40


def test_licences_with_a_gap_pay_every_day_one_covers_and_never_a_day_without_one(country):
    """A licence ending on the 10th and the next starting on the 16th: the 1st–10th and the 16th–31st are paid, the
    11th–15th are not (only the longest run, the 16th–31st, was paid: the school lost ten licensed days)."""
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=date(2020, 1, 1), valid_until=date(2026, 10, 10))
    country.licence(school, valid_from=date(2026, 10, 16), valid_until=None)
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 5), withdrawn=date(2026, 10, 20))  # 5th–19th
    country.enrol(iin(3), school.bin, enrolled=date(2026, 10, 11), withdrawn=date(2026, 10, 16))  # 11th–15th
    country.enrol(iin(4), school.bin, withdrawn=date(2026, 10, 3))
    country.enrol(iin(4), school.bin, enrolled=date(2026, 10, 12))  # re-enrolled: 1st–2nd and 12th–31st
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5)])
    verify_act(act)
    lines = sorted(act.lines, key=lambda ln: ln.line_no)
    assert [(ln.outcome, ln.paid_days, ln.amount_tiyn) for ln in lines] == [
        ("accepted", 26, BASIC * 26 // 31), ("accepted", 10, BASIC * 10 // 31), ("excluded", None, 0),
        ("accepted", 18, BASIC * 18 // 31)]
    assert lines[2].rule_code == "licence_expired"


def test_two_runs_of_equal_length_pay_both(country):
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=date(2026, 10, 1), valid_until=date(2026, 10, 10))
    country.licence(school, valid_from=date(2026, 10, 22), valid_until=date(2026, 10, 31))
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 21))  # enrolled only in the later run
    act = country.act(school, [(iin(1), 5), (iin(2), 5)])
    verify_act(act)
    first, second = sorted(act.lines, key=lambda ln: ln.line_no)
    assert (first.paid_days, first.amount_tiyn) == (20, BASIC * 20 // 31)
    assert (second.outcome, second.paid_days, second.amount_tiyn) == ("accepted", 10, BASIC * 10 // 31)


@pytest.mark.parametrize("valid_from, valid_until, days", [
    (date(2020, 1, 1), date(2026, 10, 1), 1),  # expires on the month's first day: that day is covered
    (date(2026, 10, 31), None, 1),  # issued on its last day
    (date(2020, 1, 1), date(2026, 9, 30), 0),  # expired the day before
    (date(2026, 11, 1), None, 0),  # issued the day after
])
def test_a_licence_covers_the_day_it_starts_and_the_day_it_ends(country, valid_from, valid_until, days):
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=valid_from, valid_until=valid_until)
    country.enrol(iin(1), school.bin)
    act = country.act(school, [(iin(1), 5)])
    verify_act(act)
    if days:
        assert outcomes(act) == [("accepted", None)]
        assert (act.lines[0].paid_days, act.lines[0].amount_tiyn) == (days, BASIC * days // 31)
    else:
        assert outcomes(act) == [("excluded", "licence_expired")]


@pytest.mark.parametrize("setting", [48, None])
def test_the_pass_works_in_the_memory_the_setting_gives_it(app_ctx, monkeypatch, setting):
    """``VERIFY_WORK_MEM_MB`` when set; 256 MB when not (the default of a fresh installation)."""
    if setting is None:
        monkeypatch.delitem(app_ctx.config, "VERIFY_WORK_MEM_MB", raising=False)
    else:
        monkeypatch.setitem(app_ctx.config, "VERIFY_WORK_MEM_MB", setting)
    megabytes = setting or 256
    conn = db.session.connection()
    _tune_for_pass(conn)
    if conn.dialect.name == "postgresql":
        assert conn.execute(text("SHOW work_mem")).scalar() == f"{megabytes}MB"
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        db.session.rollback()  # SET LOCAL: the settings end with the pass's transaction
        assert db.session.connection().execute(text("SHOW work_mem")).scalar() != f"{megabytes}MB"
    else:
        assert conn.execute(text("PRAGMA temp.cache_size")).scalar() == -megabytes * 1024
        db.session.rollback()


def test_schools_are_looked_up_in_chunks_and_none_is_left_out(country, monkeypatch):
    """The registers are read in chunks of bound parameters (SQLite's limit); every chunk counts."""
    from app.acts import verification
    from app.registry import business

    monkeypatch.setattr(verification, "_CHUNK", 2)  # the licences
    monkeypatch.setattr(business, "_CHUNK", 2)  # the business register
    schools = [country.school(f"S{n}") for n in range(5)]
    acts = []
    for n, school in enumerate(schools, start=1):
        country.enrol(iin(n), school.bin)
        acts.append(country.act(school, [(iin(n), 5)]))
    verification.verify_acts(acts)
    assert [outcomes(a) for a in acts] == [[("accepted", None)]] * 5


def test_a_student_with_several_nedb_records_is_decided_by_every_rule_of_the_general_statement(country):
    """About 1 % of lines have several NEDB records (a transfer, a re-enrolment); a statement of their own decides
    them over all their records. Each of its rule codes, on a student with two records."""
    school = country.school("Here")
    primary_only = country.school("Primary", registered=False)
    country.business(primary_only)
    country.licence(primary_only, levels="primary")
    short_licence = country.school("Short", registered=False)
    country.business(short_licence)
    country.licence(short_licence, valid_until=date(2026, 10, 10))
    elsewhere, third = country.school("There"), country.school("Third")
    # 1: here never; at another school during October (and at a third before it)
    country.enrol(iin(1), third.bin, enrolled=date(2025, 9, 1), withdrawn=date(2026, 5, 31))
    country.enrol(iin(1), elsewhere.bin)
    # 2: two records, both elsewhere and both ended before October
    country.enrol(iin(2), third.bin, enrolled=date(2025, 9, 1), withdrawn=date(2026, 5, 31))
    country.enrol(iin(2), elsewhere.bin, withdrawn=date(2026, 9, 20))
    # 3: re-enrolled here in grade 7, at a school licensed for primary grades only
    country.enrol(iin(3), primary_only.bin, grade=7, withdrawn=date(2026, 9, 15))
    country.enrol(iin(3), primary_only.bin, grade=7, enrolled=date(2026, 9, 20))
    # 4: re-enrolled here on 15 October, after the school's licence ended on the 10th
    country.enrol(iin(4), short_licence.bin, withdrawn=date(2026, 9, 15))
    country.enrol(iin(4), short_licence.bin, enrolled=date(2026, 10, 15))
    # 5: both records here, the month in full: paid
    country.enrol(iin(5), school.bin, withdrawn=date(2026, 9, 10))
    country.enrol(iin(5), school.bin, enrolled=date(2026, 9, 10))
    acts = [country.act(school, [(iin(1), 5), (iin(2), 5), (iin(5), 5)]),
            country.act(primary_only, [(iin(3), 7)]), country.act(short_licence, [(iin(4), 5)])]
    verify_acts(acts)
    assert [outcomes(a) for a in acts] == [
        [("excluded", "other_school"), ("excluded", "not_registered"), ("accepted", None)],
        [("excluded", "level_not_covered")], [("excluded", "licence_expired")]]
    assert acts[0].lines[2].amount_tiyn == BASIC


def test_age_is_checked_against_the_academic_year_the_acts_month_belongs_to(country):
    """September opens the academic year: an August act checks age on 1 September of the year before, a
    September act on 1 September of its own year. Two grade-1 pupils at the edges of the plausible ages
    (5–8 on 1 September) tell the years apart."""
    db.session.add_all([StudentNorm(academic_year="2025/2026", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
    school = country.school()
    oldest, youngest = _iin_for_birth(date(2017, 8, 1), 1), _iin_for_birth(date(2020, 8, 1), 2)
    for student in (oldest, youngest):
        country.enrol(student, school.bin, grade=1, enrolled=date(2025, 9, 1))
    acts = {month: country.act(school, [(oldest, 1), (youngest, 1)], period=month)
            for month in (date(2026, 8, 1), date(2026, 9, 1), date(2027, 1, 1))}
    verify_acts(list(acts.values()))
    db.session.expire_all()
    reviews = {month: [ln.review_codes for ln in sorted(act.lines, key=lambda ln: ln.line_no)]
               for month, act in acts.items()}
    assert reviews == {date(2026, 8, 1): [None, None],  # 2025/2026: aged 8 and 5
                       date(2026, 9, 1): ["age", None],  # 2026/2027: aged 9 and 6
                       date(2027, 1, 1): ["age", None]}


def _iin_for_birth(born: date, n: int) -> str:
    """A valid IIN carrying this birth date (century digit 5/6 for 2000–2099, 3/4 for 1900–1999)."""
    century = "5" if born.year >= 2000 else "3"
    for serial in range(n * 10, n * 10 + 10):
        value = complete_12(f"{born:%y%m%d}{century}{serial:04d}")
        if value:
            return value
    raise AssertionError("no valid IIN")


def test_an_acts_totals_are_counted_after_the_places_over_capacity_are_excluded(country):
    """The act's accepted lines and amount are what its lines say once the over-capacity ones are out — never
    the sums taken before (which would pay for the excluded child) — and an act with no lines sums to zero."""
    school = country.school(capacity=2)
    for n, since in enumerate((date(2024, 9, 1), date(2026, 10, 1), date(2025, 9, 1)), start=1):
        country.enrol(iin(n), school.bin, enrolled=since)
    crowded = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5)])
    empty = country.act(country.school("Empty"), [])
    summaries = verify_acts([crowded, empty])
    db.session.expire_all()
    paid = [ln for ln in crowded.lines if ln.outcome == "accepted"]
    assert [ln.iin for ln in crowded.lines if ln.rule_code == "over_capacity"] == [iin(2)]
    assert (crowded.total_lines, crowded.accepted_lines) == (3, 2)
    assert crowded.amount_tiyn == sum(ln.amount_tiyn for ln in paid) == 2 * BASIC  # two whole Octobers
    assert (summaries[crowded.id].accepted, summaries[crowded.id].amount_tiyn) == (2, crowded.amount_tiyn)
    assert (empty.total_lines, empty.accepted_lines, empty.amount_tiyn) == (0, 0, 0)
    empty_summary = summaries[empty.id]
    assert (empty_summary.total, empty_summary.accepted, empty_summary.excluded, empty_summary.amount_tiyn,
            empty_summary.withheld_tiyn, empty_summary.by_rule) == (0, 0, 0, 0, 0, {})


def test_a_name_variant_clears_only_the_name_and_keeps_the_other_review_checks(country):
    """A name that differs from NEDB's only by case, spaces or Kazakh/Cyrillic letter variants is the same name:
    its "name" check is cleared, and the other checks of that line (age, days) stay, in their order."""
    from app.registry.models import NedbEnrollment

    school = country.school()
    too_old = _iin_for_birth(date(2010, 3, 1), 3)  # 16 on 1 September 2026: not a grade-5 pupil
    students = [(too_old, 20), (iin(4), 40), (_iin_for_birth(date(2010, 3, 1), 5), 40)]
    for student, _days in students:
        country.enrol(student, school.bin, grade=5)
    for row in db.session.scalars(select(NedbEnrollment)):
        row.full_name = "Әлия Қасымова"
    act = country.act(school, [(student, 5, days) for student, days in students])
    for line in act.lines:
        line.full_name = "АЛИЯ  Касымова"
    db.session.flush()
    verify_act(act)
    db.session.expire_all()
    lines = sorted(act.lines, key=lambda ln: ln.line_no)
    assert [ln.review_codes for ln in lines] == ["age", "days", "age,days"]
    assert [ln.registry_name for ln in lines] == [None, None, None]


def test_the_pass_names_its_steps_in_order_and_writes_the_lines_only_at_the_end(country):
    """``on_step`` is how the month-wide job and the race tests pause a pass: the NEDB facts staged (no result
    yet), the rules decided (every line's result held in the working table, ``act_line`` untouched), the
    amounts about to be written, then written. A step named otherwise or called elsewhere pauses a race test
    at the wrong moment and proves nothing."""
    school = country.school()
    country.enrol(iin(1), school.bin)
    act = country.act(school, [(iin(1), 5), (iin(2), 5)])  # iin(2): not in NEDB
    seen = []

    def step(label: str) -> None:
        outcomes = db.session.execute(select(ActLine.outcome, ActLine.rule_code, ActLine.amount_tiyn)
                                      .where(ActLine.act_id == act.id).order_by(ActLine.line_no)).all()
        held = db.session.execute(text("SELECT COUNT(*) FROM tmp_vline")).scalar()
        seen.append((label, held, [tuple(o) for o in outcomes]))

    verify_acts([act], on_step=step)
    pending = [("pending", None, 0), ("pending", None, 0)]
    assert seen == [("staged", 0, pending), ("rules", 2, pending), ("amounts", 2, pending),
                    ("written", 2, [("accepted", None, BASIC), ("excluded", "not_in_nedb", 0)])]


def test_a_month_with_a_licence_gap_is_priced_again_as_it_was_verified(country):
    """The settlement of later acts prices the month with the same days (no claw-back or top-up out of nothing)."""
    from app.acts.adjustments import settle_adjustments
    from app.acts.models import Act, ActAdjustment

    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=date(2020, 1, 1), valid_until=date(2026, 10, 10))
    country.licence(school, valid_from=date(2026, 10, 16), valid_until=None)
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 5), withdrawn=date(2026, 10, 20))
    country.enrol(iin(4), school.bin, withdrawn=date(2026, 10, 3))
    country.enrol(iin(4), school.bin, enrolled=date(2026, 10, 12))
    october = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(4), 5)])
    verify_act(october)
    assert [ln.paid_days for ln in sorted(october.lines, key=lambda ln: ln.line_no)] == [26, 10, 18]
    db.session.execute(Act.__table__.update().where(Act.id == october.id).values(status="paid"))
    november = country.act(school, [(iin(1), 5)], period=date(2026, 11, 1), status="verified")
    assert settle_adjustments([november]) == {}
    assert db.session.scalars(select(ActAdjustment)).all() == []
