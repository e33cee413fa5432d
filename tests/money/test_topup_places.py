"""The places a top-up may take (app/acts/topups.py), rule by rule, without a world: which pool is full and by which
rule, who gets a free place first, and what a line with no place is left with. Written for the survivors of a
mutation run of the module (benchmarks/MUTATION.md): the flows through the act lifecycle passed with the wrong rule
named, the order of the waiting lines reversed or a line already paid counted as waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from app.acts.adjustments import Correction
from app.acts.topups import CAPACITY, Places, _held_places, keep_within_places, month_limits
from app.registry.adapter import EnrolledDays

ACT = 10**9  # an act id no table holds: no student is paid for its month yet
BIN = "150840000017"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def test_places_are_taken_per_level_then_against_the_design_capacity():
    places = Places({ACT: {"primary": 2, CAPACITY: 3}}, {(ACT, "primary"): 1, (ACT, CAPACITY): 1})
    assert places.take(ACT, "primary") is None, "the second of two primary places"
    assert places.take(ACT, "primary") == "over_contracted_places", "the level's places are decided first"
    assert places.take(ACT, "basic") is None, "a level with no limit of its own takes from the capacity"
    assert places.take(ACT, "basic") == "over_capacity", "primary 2 + basic 1 fill a capacity of 3"
    assert places.take(ACT + 1, "primary") is None, "a month with no limits has places for everyone"


def test_a_month_with_nothing_taken_counts_from_zero():
    places = Places({ACT: {CAPACITY: 1}}, {})
    assert places.take(ACT, "secondary") is None
    assert places.take(ACT, "secondary") == "over_capacity"


def test_month_limits_follow_the_terms():
    assert month_limits(None, None) == {}
    assert month_limits(30, None) == {CAPACITY: 30}
    assert month_limits(None, [("basic", 4)]) == {"primary": 0, "basic": 4, "secondary": 0}, \
        "a level the contract gives no places has none"
    assert month_limits(10, {"primary": 2}) == {"primary": 2, "basic": 0, "secondary": 0, CAPACITY: 10}


def test_held_places_count_students_once_in_the_capacity():
    held = _held_places({ACT: {"primary": {"a", "b"}, "basic": {"b", "c"}}})
    assert held == {(ACT, "primary"): 2, (ACT, "basic"): 2, (ACT, CAPACITY): 3}


@dataclass
class _Enrolment(EnrolledDays):
    school_bin: str
    enrolled_on: date
    withdrawn_on: date | None = None


def _line(line_id: int, iin: str, outcome: str = "excluded", amount: int = 0, grade: int = 3):
    return SimpleNamespace(id=line_id, iin=iin, outcome=outcome, amount_tiyn=amount, grade=grade, line_no=line_id,
                           rule_code="withdrawn" if outcome == "excluded" else None)


def _found(*lines, earns: int = 100):
    return {line.id: Correction(rule_code="registry_corrected_in_favour", corrected_tiyn=earns, evidence={})
            for line in lines}


def _contexts(capacity: int | None, places_by_level=None, act: int = ACT):
    terms = SimpleNamespace(design_capacity=capacity, places_by_level=places_by_level)
    return {act: SimpleNamespace(terms=terms, school_bin=BIN, start=OCTOBER[0], end=OCTOBER[1])}


def test_free_places_go_to_the_accepted_line_then_the_longest_there_and_a_copy_gets_nothing(app_ctx):
    original, november, december = SimpleNamespace(id=ACT), SimpleNamespace(id=ACT + 1), SimpleNamespace(id=ACT + 2)
    newcomer = _line(1, "000000000001")                                  # here since 2024 (earlier: elsewhere)
    veteran = _line(2, "000000000002")                                   # here since 2019
    clawed_back = _line(3, "000000000003", outcome="accepted", amount=100)  # accepted, clawed back in full since
    copy = _line(4, "000000000002")                                      # the veteran listed twice
    paid = _line(5, "000000000005", outcome="accepted", amount=1)        # paid for the month (1 tiyn): not waiting
    no_money = _line(6, "000000000006")                                  # earns nothing even now: not waiting
    stranger = _line(7, "000000000007")                                  # no NEDB row here at all: last in line
    little = _line(8, "000000000008")                                    # earns a single tiyn now: waiting
    veteran_in_november = _line(9, "000000000002")                       # the same student, another month: paid
    no_room = _line(10, "000000000010", outcome="accepted", amount=100)  # clawed back; December has no place
    rows = [(line, original) for line in (newcomer, veteran, clawed_back, copy, paid, no_money, stranger, little)]
    rows += [(veteran_in_november, november), (no_room, december)]
    found = {**_found(newcomer, veteran, clawed_back, copy, paid, stranger, veteran_in_november, no_room),
             **_found(no_money, earns=0), **_found(little, earns=1)}
    enrolments = {"000000000001": [_Enrolment(BIN, date(2024, 9, 1)),
                                   _Enrolment("990940000013", date(2010, 9, 1)),          # another school's
                                   _Enrolment(BIN, date(2015, 9, 1), date(2016, 6, 1))],  # here, but long gone
                  "000000000002": [_Enrolment(BIN, date(2019, 9, 1))],
                  "000000000003": [_Enrolment(BIN, date(2025, 9, 1))],
                  "000000000008": [_Enrolment(BIN, date(2020, 9, 1))]}
    contexts = {**_contexts(capacity=3), **_contexts(capacity=1, act=ACT + 1), **_contexts(capacity=0, act=ACT + 2)}
    keep_within_places(rows, found, {clawed_back.id: -100, no_room.id: -100}, contexts, enrolments)

    assert found[clawed_back.id].rule_code == "registry_corrected_in_favour", "the accepted line held its place"
    assert found[veteran.id].rule_code == "registry_corrected_in_favour", "then the student there longest"
    assert found[little.id].rule_code == "registry_corrected_in_favour", "then the next longest, for 1 tiyn too"
    for late in (newcomer, stranger):
        assert (found[late.id].rule_code, found[late.id].corrected_tiyn) == ("over_capacity", 0), \
            "no place left: nothing owed, with the rule"
    assert (found[copy.id].rule_code, found[copy.id].corrected_tiyn) == ("duplicate_line", 0), \
        "a student is paid once a month"
    assert found[veteran_in_november.id].rule_code == "registry_corrected_in_favour", "and once in each month"
    assert (found[no_room.id].rule_code, found[no_room.id].corrected_tiyn) == ("over_capacity", 0), \
        "a clawed-back line with no place keeps what it has: its earnings less the claw-back"
    assert found[paid.id].rule_code == "registry_corrected_in_favour", "a line paid for its month is not waiting"
    assert found[no_money.id].rule_code == "registry_corrected_in_favour"


def test_a_level_without_contracted_places_is_refused_by_its_own_rule(app_ctx):
    original = SimpleNamespace(id=ACT)
    basic = _line(1, "000000000001", grade=7)
    primary = _line(2, "000000000002", grade=2)
    found = _found(basic, primary)
    keep_within_places([(basic, original), (primary, original)], found, {}, _contexts(None, {"primary": 1}), {})
    assert found[basic.id].rule_code == "over_contracted_places"
    assert found[primary.id].rule_code == "registry_corrected_in_favour"


def test_a_month_is_crowded_only_beyond_its_places():
    places = Places({ACT: {"primary": 1, CAPACITY: 2, "basic": 0}},
                    {(ACT, "primary"): 1, (ACT, CAPACITY): 2})
    assert places.crowded(ACT, "primary") is None, "as many students as places is not crowded"
    assert places.crowded(ACT, "basic") is None, "nobody paid at a level of no places: not crowded"
    assert Places({ACT: {"primary": 1}}, {(ACT, "primary"): 2}).crowded(ACT, "primary") == "over_contracted_places"
    assert Places({ACT: {CAPACITY: 2}}, {(ACT, CAPACITY): 3}).crowded(ACT, "basic") == "over_capacity"
    assert Places({ACT: {CAPACITY: 0}}, {}).crowded(ACT, "basic") is None, "nothing taken counts from zero"
    assert Places({}, {(ACT, CAPACITY): 9}).crowded(ACT, "basic") is None, "a month with no limits"


def test_new_days_of_a_paid_line_are_paid_only_within_the_months_places(app_ctx, monkeypatch):
    """A paid line whose registry now gives it more days (``growing``): in a month whose paid students exceed its
    places the line keeps what it was paid — its accepted amount, or more if a top-up already paid more — with the
    rule of the full pool; where the students fit, the new days are paid."""
    from app.acts import topups

    original, roomy = SimpleNamespace(id=ACT), SimpleNamespace(id=ACT + 1)
    monkeypatch.setattr(topups, "paid_students", lambda ids: {ACT: {"primary": {"a", "b", "c"}},
                                                              ACT + 1: {"primary": {"a", "b"}}})
    grows = _line(1, "a", outcome="accepted", amount=50)
    grew_before = _line(2, "b", outcome="accepted", amount=50)   # a top-up of 20 was settled for it already
    whole = _line(3, "c", outcome="accepted", amount=100)        # paid in full: nothing new to pay
    fits = _line(4, "a", outcome="accepted", amount=50)          # another month, with room
    found = _found(grows, grew_before, whole, fits)
    contexts = {**_contexts(capacity=2), **_contexts(capacity=2, act=ACT + 1)}
    rows = [(grows, original), (grew_before, original), (whole, original), (fits, roomy)]
    keep_within_places(rows, found, {grew_before.id: 20}, contexts, {})
    assert (found[grows.id].rule_code, found[grows.id].corrected_tiyn) == ("over_capacity", 50)
    assert (found[grew_before.id].rule_code, found[grew_before.id].corrected_tiyn) == ("over_capacity", 70)
    assert (found[whole.id].rule_code, found[whole.id].corrected_tiyn) == ("registry_corrected_in_favour", 100)
    assert (found[fits.id].rule_code, found[fits.id].corrected_tiyn) == ("registry_corrected_in_favour", 100)
