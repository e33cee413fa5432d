"""What a decided dormitory place earns on today's registries (``reprice_place``), on hand-made lines, places and
student-registry rows: every rule of the repricing in its precedence, at the edges of its days, with the amounts
worked out by hand — September 2027 has 30 days, a place's rate is 1,000,000 tiyn a month, so one day is 33,333⅓
tiyn and a place is paid ``1,000,000 × days // 30`` (rounded down). Also the days a month's documents are taken to
cover when the dormitory is priced again (``_document_window``) and when a study form counts as dated
(``_dated_form``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED
from app.acts.models import Act, ActLine
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.dormitories.adjustments import Lifted, _dated_form, _document_window, reprice_place
from app.dormitories.models import DormPlaceLine
from app.dormitories.registry import StudentRecord
from app.dormitories.verification import DormContext

SEPTEMBER = date(2027, 9, 1)
RATE = 1_000_000
STUDENT = "791028302728"
COLLEGE, UNIVERSITY = "950440001673", "960540002591"
WHOLE_SEPTEMBER = {SEPTEMBER.toordinal() + n for n in range(30)}


def sep(day: int) -> date:
    return date(2027, 9, day)


def record(enrolled_on: date, withdrawn_on: date | None = None, *, at: str = COLLEGE, form: str = "full_time",
           home: str = "71") -> StudentRecord:
    return StudentRecord(STUDENT, "Aruzhan Serikova", at, 2, form, home, enrolled_on, withdrawn_on)


def accepted(paid_days: int | None = 30, days_attended: int = 30, amount: int = RATE) -> ActLine:
    return ActLine(iin=STUDENT, outcome="accepted", rule_code=None, paid_days=paid_days, days_attended=days_attended,
                   amount_tiyn=amount)


def excluded(rule: str = "two_dormitories", days_attended: int = 30) -> ActLine:
    return ActLine(iin=STUDENT, outcome="excluded", rule_code=rule, paid_days=None, days_attended=days_attended,
                   amount_tiyn=0)


def place(moved_in: date = SEPTEMBER, moved_out: date | None = None, *, room: str = "101", bed: str = "A",
          at: str = COLLEGE) -> DormPlaceLine:
    return DormPlaceLine(institution_bin=at, room=room, bed=bed, moved_in=moved_in, moved_out=moved_out)


def reprice(line: ActLine, where: DormPlaceLine, records: list, days: set[int] = WHOLE_SEPTEMBER, **kwargs):
    correction = reprice_place(line, Act(period=SEPTEMBER), where, records, RATE, days, **kwargs)
    return correction.rule_code, correction.corrected_tiyn


def lifted(*, rule: str | None = None, region: str | None = None, beds=(("101", "A"),),
           liquidated_on: str | None = None) -> Lifted:
    return Lifted(rule, region, frozenset(beds), liquidated_on)


# --- an accepted place: kept, shortened, or clawed back whole ---------------------------------------------------

def test_a_place_the_registry_still_covers_keeps_what_it_was_paid_with_the_registry_as_evidence():
    correction = reprice_place(accepted(amount=987_654), Act(period=SEPTEMBER), place(), [record(date(2026, 9, 1))],
                               RATE, WHOLE_SEPTEMBER)
    assert (correction.rule_code, correction.corrected_tiyn) == (NEDB_CORRECTED, 987_654)
    assert correction.evidence == {"registry": [{"institution_bin": COLLEGE, "study_form": "full_time",
                                                 "enrolled_on": "2026-09-01", "withdrawn_on": None}],
                                   "days": 30}


def test_a_student_withdrawn_on_the_8th_keeps_seven_days_rounded_down():
    correction = reprice_place(accepted(), Act(period=SEPTEMBER), place(), [record(date(2026, 9, 1), sep(8))], RATE,
                               WHOLE_SEPTEMBER)
    # 1,000,000 × 7 / 30 = 233,333.33…
    assert (correction.rule_code, correction.corrected_tiyn) == (ENROLLED_DAYS, 233_333)
    assert correction.evidence["days"] == 7
    assert correction.evidence["registry"][0]["withdrawn_on"] == "2027-09-08"
    assert "liquidated_on" not in correction.evidence


def test_the_days_paid_bound_the_repricing_and_only_a_line_without_them_falls_back_to_its_days_attended():
    withdrawn_8th = [record(date(2026, 9, 1), sep(8))]
    # paid 5 days of 30 attended: the 7 days enrolled now are more than it was paid, so it keeps its amount
    assert reprice(accepted(paid_days=5, amount=166_666), place(), withdrawn_8th) == (NEDB_CORRECTED, 166_666)
    # a line decided before the days paid were written: the days attended (20) were what it was paid for
    assert reprice(accepted(paid_days=None, days_attended=20), place(), withdrawn_8th) == (ENROLLED_DAYS, 233_333)
    # enrolled all month, 20 days attended and paid: never priced above them
    assert reprice(accepted(paid_days=None, days_attended=20, amount=666_666), place(),
                   [record(date(2026, 9, 1))]) == (NEDB_CORRECTED, 666_666)


def test_a_place_is_priced_over_the_days_it_was_occupied_only():
    # moved in on the 11th, out on the 21st (the first free day): occupied the 11th to the 20th; the student
    # withdrew on the 16th — 5 days (11th–15th) of the 10 it was paid
    assert reprice(accepted(paid_days=10, days_attended=10, amount=333_333), place(sep(11), sep(21)),
                   [record(date(2026, 9, 1), sep(16))]) == (ENROLLED_DAYS, 166_666)
    # enrolled from the 15th: 15th–20th, 6 days
    assert reprice(accepted(paid_days=10, days_attended=10, amount=333_333), place(sep(11), sep(21)),
                   [record(sep(15))]) == (ENROLLED_DAYS, 200_000)


def test_the_days_covered_are_those_both_documents_are_valid():
    first_twelve = {sep(1).toordinal() + n for n in range(12)}
    assert reprice(accepted(paid_days=30), place(), [record(date(2026, 9, 1))], first_twelve) == \
        (ENROLLED_DAYS, 400_000)


def test_a_student_the_registry_does_not_know_is_clawed_back_whole():
    correction = reprice_place(accepted(), Act(period=SEPTEMBER), place(), [], RATE, WHOLE_SEPTEMBER)
    assert (correction.rule_code, correction.corrected_tiyn, correction.evidence) == \
        ("student_not_found", 0, {"registry": []})


@pytest.mark.parametrize(("records", "where"), [
    ([record(date(2026, 9, 1), at=UNIVERSITY)], place()),  # at another institution
    ([record(date(2026, 9, 1), sep(1))], place()),  # withdrawn on the month's first day: no day this month
    ([record(sep(21))], place(sep(11), sep(21))),  # enrolled on the day the place was left (the first free day)
    ([record(date(2026, 9, 1), sep(11))], place(sep(11), sep(21))),  # withdrawn on the day the place was taken
], ids=["another-institution", "withdrawn-on-the-1st", "enrolled-after", "withdrawn-on-move-in"])
def test_a_student_not_at_the_named_institution_on_a_day_of_the_place_is_not_enrolled(records, where):
    correction = reprice_place(accepted(), Act(period=SEPTEMBER), where, records, RATE, WHOLE_SEPTEMBER)
    assert (correction.rule_code, correction.corrected_tiyn) == ("not_enrolled", 0)
    assert len(correction.evidence["registry"]) == 1


def test_a_place_with_no_day_occupied_enrolled_is_not_enrolled():
    # moved in and out on the 11th: occupied on no day, so no enrolled day either
    assert reprice(accepted(), place(sep(11), sep(11)), [record(date(2026, 9, 1))]) == ("not_enrolled", 0)


def test_the_registry_rows_of_the_evidence_are_in_enrolment_order():
    records = [record(sep(15), at=UNIVERSITY), record(sep(1), at=UNIVERSITY), record(sep(1), sep(15))]
    correction = reprice_place(accepted(), Act(period=SEPTEMBER), place(), records, RATE, WHOLE_SEPTEMBER)
    assert [(r["enrolled_on"], r["institution_bin"]) for r in correction.evidence["registry"]] == \
        [("2027-09-01", COLLEGE), ("2027-09-01", UNIVERSITY), ("2027-09-15", UNIVERSITY)]
    assert (correction.rule_code, correction.corrected_tiyn) == (ENROLLED_DAYS, 466_666)  # 1st–14th


# --- the study form: a change the registry dates, or a column changed in place ---------------------------------

def test_a_form_changed_in_place_is_no_evidence_against_a_paid_place():
    assert reprice(accepted(), place(), [record(date(2026, 9, 1), form="part_time")]) == (NEDB_CORRECTED, RATE)


def test_a_form_the_registry_dates_shortens_the_paid_place_to_the_full_time_days():
    # full-time until the 15th, part-time from the 15th (a new row from the day of the change)
    records = [record(date(2026, 9, 1), sep(15)), record(sep(15), form="part_time")]
    assert reprice(accepted(), place(), records) == (ENROLLED_DAYS, 466_666)  # 1st–14th


def test_a_place_taken_after_a_dated_change_to_part_time_is_not_full_time():
    records = [record(date(2026, 9, 1), sep(15)), record(sep(15), form="distance")]
    correction = reprice_place(accepted(), Act(period=SEPTEMBER), place(sep(20)), records, RATE, WHOLE_SEPTEMBER)
    assert (correction.rule_code, correction.corrected_tiyn) == ("not_full_time", 0)
    assert len(correction.evidence["registry"]) == 2


def test_a_line_never_paid_is_not_topped_up_on_a_form_changed_in_place():
    assert reprice(excluded(), place(), [record(date(2026, 9, 1), form="part_time")], lifted=lifted()) == \
        ("not_full_time", 0)


@pytest.mark.parametrize(("full_time", "part_time", "dated"), [
    (record(date(2026, 9, 1), sep(15)), record(sep(15), form="part_time"), True),
    (record(date(2026, 9, 1), sep(15)), record(sep(16), form="part_time"), False),  # a gap: a re-enrolment
    (record(date(2026, 9, 1), sep(15), at=UNIVERSITY), record(sep(15), form="part_time"), False),  # elsewhere
    (record(date(2026, 9, 1), sep(15), form="distance"), record(sep(15), form="part_time"), False),  # not full-time
], ids=["the-day-it-ended", "after-a-gap", "another-institution", "not-from-full-time"])
def test_a_study_form_is_dated_only_by_a_full_time_row_there_ending_the_day_it_begins(full_time, part_time, dated):
    assert _dated_form(part_time, [full_time, part_time]) is dated


# --- a lifted exclusion: what a first verification today would check, then the days now covered ---------------

def test_a_lifted_exclusion_is_topped_up_for_the_days_now_covered_with_what_it_was_excluded_as():
    correction = reprice_place(excluded(days_attended=30), Act(period=SEPTEMBER), place(),
                               [record(date(2026, 9, 1), sep(21))], RATE, WHOLE_SEPTEMBER, lifted=lifted())
    assert (correction.rule_code, correction.corrected_tiyn) == (REGISTRY_CORRECTED_IN_FAVOUR, 666_666)  # 20 days
    assert correction.evidence["excluded_as"] == "two_dormitories" and correction.evidence["days"] == 20
    assert "liquidated_on" not in correction.evidence


def test_a_lifted_liquidation_is_topped_up_with_the_registers_date_now():
    correction = reprice_place(excluded("dorm_liquidated", days_attended=30), Act(period=SEPTEMBER), place(),
                               [record(date(2026, 9, 1))], RATE, WHOLE_SEPTEMBER,
                               lifted=lifted(liquidated_on="2028-03-01"))
    assert (correction.rule_code, correction.corrected_tiyn) == (REGISTRY_CORRECTED_IN_FAVOUR, RATE)
    assert correction.evidence["liquidated_on"] == "2028-03-01"
    assert correction.evidence["excluded_as"] == "dorm_liquidated"


def test_a_lifted_exclusion_claims_no_more_than_the_days_it_listed():
    assert reprice(excluded(days_attended=9), place(), [record(date(2026, 9, 1))], lifted=lifted()) == \
        (REGISTRY_CORRECTED_IN_FAVOUR, 300_000)


def test_an_undated_dormitory_rule_today_tops_up_nothing_and_keeps_the_lines_own_rule():
    correction = reprice_place(excluded("dorm_liquidated"), Act(period=SEPTEMBER), place(),
                               [record(date(2026, 9, 1))], RATE, WHOLE_SEPTEMBER,
                               lifted=lifted(rule="dorm_no_business_record"))
    assert (correction.rule_code, correction.corrected_tiyn) == ("dorm_liquidated", 0)
    assert correction.evidence["dormitory_rule"] == "dorm_no_business_record"


def test_a_lifted_place_of_a_local_resident_is_not_topped_up():
    correction = reprice_place(excluded(), Act(period=SEPTEMBER), place(), [record(date(2026, 9, 1), home="71")],
                               RATE, WHOLE_SEPTEMBER, lifted=lifted(region="71"))
    assert (correction.rule_code, correction.corrected_tiyn) == ("local_resident", 0)
    assert [r["enrolled_on"] for r in correction.evidence["registry"]] == ["2026-09-01"]
    # from another region, or a contract that does not exclude local residents: topped up
    assert reprice(excluded(), place(), [record(date(2026, 9, 1), home="75")], lifted=lifted(region="71")) == \
        (REGISTRY_CORRECTED_IN_FAVOUR, RATE)
    assert reprice(excluded(), place(), [record(date(2026, 9, 1), home="71")], lifted=lifted(region=None)) == \
        (REGISTRY_CORRECTED_IN_FAVOUR, RATE)


def test_a_lifted_place_on_a_bed_not_in_the_dormitory_is_not_topped_up():
    correction = reprice_place(excluded(), Act(period=SEPTEMBER), place(room="7", bed="B"), [record(date(2026, 9, 1))],
                               RATE, WHOLE_SEPTEMBER, lifted=lifted(beds=(("7", "A"), ("8", "B"))))
    assert (correction.rule_code, correction.corrected_tiyn) == ("bed_unknown", 0)
    assert (correction.evidence["room"], correction.evidence["bed"]) == ("7", "B")


def test_an_accepted_place_is_not_checked_again_for_what_a_lifted_exclusion_is():
    # the act has an excluded line, so its accepted lines are priced with the same Lifted: none of it applies
    everything_against = lifted(rule="dorm_no_documents", region="71", beds=())
    assert reprice(accepted(), place(), [record(date(2026, 9, 1), home="71")], lifted=everything_against) == \
        (NEDB_CORRECTED, RATE)


def test_an_excluded_place_priced_without_a_lifted_check_pays_its_days():
    assert reprice(excluded(days_attended=30), place(), [record(date(2026, 9, 1), home="71")]) == \
        (REGISTRY_CORRECTED_IN_FAVOUR, RATE)


# --- another dormitory's claim on a common day ------------------------------------------------------------------

def test_another_dormitorys_claim_on_a_common_day_is_two_dormitories_naming_its_acts_once_in_order():
    occupied_1st_to_14th = place(SEPTEMBER, sep(15))
    # D-9 meets it on its last day only, D-3 on its first only, D-7 twice, D-5 on the day after it
    claims = [("D-9", sep(14), sep(30)), ("D-3", sep(1), sep(1)), ("D-7", sep(5), sep(6)), ("D-7", sep(10), sep(12)),
              ("D-5", sep(15), sep(30))]
    correction = reprice_place(accepted(paid_days=14, days_attended=14), Act(period=SEPTEMBER), occupied_1st_to_14th,
                               [record(date(2026, 9, 1))], RATE, WHOLE_SEPTEMBER, claims)
    assert (correction.rule_code, correction.corrected_tiyn) == ("two_dormitories", 0)
    assert correction.evidence["other_dormitory_acts"] == ["D-3", "D-7", "D-9"]


@pytest.mark.parametrize("claim", [(sep(15), sep(30)), (SEPTEMBER, sep(10))])
def test_a_claim_on_no_common_day_leaves_the_place_paid(claim):
    # occupied the 11th to the 14th
    assert reprice(accepted(paid_days=4, days_attended=4, amount=133_333), place(sep(11), sep(15)),
                   [record(date(2026, 9, 1))], other_claims=[("D-5", *claim)]) == (NEDB_CORRECTED, 133_333)


# --- occupied and enrolled, but on no day paid ------------------------------------------------------------------

def test_a_place_taken_on_the_liquidation_day_or_after_is_dorm_liquidated():
    before_20th = {d for d in WHOLE_SEPTEMBER if d < sep(20).toordinal()}
    correction = reprice_place(accepted(paid_days=11, days_attended=11), Act(period=SEPTEMBER), place(sep(20)),
                               [record(date(2026, 9, 1))], RATE, before_20th, liquidated_on=sep(20))
    assert (correction.rule_code, correction.corrected_tiyn) == ("dorm_liquidated", 0)
    assert correction.evidence["liquidated_on"] == "2027-09-20" and correction.evidence["days"] == 0


def test_a_place_taken_before_the_liquidation_keeps_the_days_before_it():
    before_25th = {d for d in WHOLE_SEPTEMBER if d < sep(25).toordinal()}
    correction = reprice_place(accepted(paid_days=11, days_attended=11), Act(period=SEPTEMBER), place(sep(20)),
                               [record(date(2026, 9, 1))], RATE, before_25th, liquidated_on=sep(25))
    assert (correction.rule_code, correction.corrected_tiyn) == (ENROLLED_DAYS, 166_666)  # 20th–24th
    assert correction.evidence["liquidated_on"] == "2027-09-25"


def test_a_place_on_no_day_the_documents_cover_is_dorm_documents_expired():
    first_ten = {sep(1).toordinal() + n for n in range(10)}
    # the documents end on the 10th, the dormitory is liquidated on the 25th, the place taken on the 20th
    assert reprice(accepted(paid_days=11, days_attended=11), place(sep(20)), [record(date(2026, 9, 1))], first_ten,
                   liquidated_on=sep(25)) == ("dorm_documents_expired", 0)
    assert reprice(accepted(), place(), [record(date(2026, 9, 1))], set()) == ("dorm_documents_expired", 0)


# --- the days of the month priced again ---------------------------------------------------------------------------

def _context(rule: str | None = None, paid_days: set[int] | None = None, liquidated_on: date | None = None):
    return DormContext(None, SEPTEMBER, sep(30), "71", 1, COLLEGE, dormitory_rule=rule,
                       paid_days=set() if paid_days is None else paid_days, liquidated_on=liquidated_on)


def test_the_month_is_priced_again_on_the_documents_days_when_there_are_any():
    first_ten = {sep(1).toordinal() + n for n in range(10)}
    assert _document_window(_context(paid_days=first_ten)) == first_ten
    assert _document_window(_context("dorm_documents_expired")) == set()
    assert _document_window(_context("dorm_liquidated", liquidated_on=sep(1))) == set()
    # liquidated on the 20th, documents valid only from the 22nd: no day before the liquidation is paid either
    assert _document_window(_context("dorm_liquidated", liquidated_on=sep(20))) == set()


@pytest.mark.parametrize("rule", ["dorm_no_documents", "dorm_no_business_record", "dorm_business_inactive"])
def test_a_record_missing_today_keeps_the_whole_month_before_the_liquidation(rule):
    assert _document_window(_context(rule)) == WHOLE_SEPTEMBER
    assert _document_window(_context(rule, liquidated_on=sep(11))) == {sep(1).toordinal() + n for n in range(10)}
    assert _document_window(_context(rule, liquidated_on=sep(30) + timedelta(days=3))) == WHOLE_SEPTEMBER
