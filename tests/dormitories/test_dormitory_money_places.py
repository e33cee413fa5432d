"""The places a dormitory's paid month leaves free, on hand-made acts: a place unpaid now that the repricing would
pay again (a lifted exclusion, a place clawed back in full and corrected back) takes one only where the month has it
free on each of its days — no paid place of the same student or the same bed meets its days, and the paid places
stay within the contract's places on every day (``_keep_within_places``) —; the other dormitories' claims on the
same student in the month (``_other_claims``); and which decided lines an act settles (``_lines_to_reprice``).

September 2027 (30 days); a place's rate is 1,000,000 tiyn a month."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.acts.adjustments import NEDB_CORRECTED, Correction
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.dormitories import adjustments
from app.dormitories.adjustments import _keep_within_places, _lines_to_reprice, _other_claims
from app.dormitories.models import DormPlaceLine
from app.dormitories.verification import DormContext
from app.extensions import db
from app.registry.models import NedbIinMerge
from tests.dormitories.test_dormitory_money_rules import COLLEGE, RATE, SEPTEMBER, sep
from tests.registry.conftest import iin

OCTOBER = date(2027, 10, 1)
S1, S2, S3, S4 = iin(1), iin(2), iin(3), iin(4)


def _act(country, dormitory, period: date = SEPTEMBER, status: str = "paid", instrument: str = "dormitory") -> Act:
    act = Act(number=f"D-{dormitory.id}-{period:%Y%m}", school_id=dormitory.id, region_id=dormitory.region_id,
              period=period, status=status, instrument=instrument, created_at=datetime(2027, 10, 3, tzinfo=UTC))
    db.session.add(act)
    db.session.flush()
    return act


def _line(act: Act, student: str, bed: tuple[str, str], moved_in: date, moved_out: date | None = None, *,
          outcome: str = "accepted", rule: str | None = None, amount: int = RATE) -> ActLine:
    line = ActLine(act_id=act.id, period=act.period, school_id=act.school_id, line_no=len(act.lines) + 1, iin=student,
                   full_name=f"Student {student}", grade=2, days_attended=30, outcome=outcome, rule_code=rule,
                   amount_tiyn=amount)
    act.lines.append(line)
    db.session.flush()
    db.session.add(DormPlaceLine(line_id=line.id, institution_bin=COLLEGE, room=bed[0], bed=bed[1],
                                 moved_in=moved_in, moved_out=moved_out))
    db.session.flush()
    return line


def _settled(line: ActLine, on: Act, amount: int) -> None:
    db.session.add(ActAdjustment(act_id=on.id, original_act_id=line.act_id, original_line_id=line.id,
                                 period=line.period, iin=line.iin, full_name=line.full_name, rule_code="x",
                                 original_amount_tiyn=line.amount_tiyn, corrected_amount_tiyn=0, amount_tiyn=amount,
                                 evidence={}, created_at=datetime(2027, 11, 3, tzinfo=UTC)))
    db.session.flush()


def _context(act: Act, places: int | None) -> DormContext:
    return DormContext(act, SEPTEMBER, sep(30), "ASTANA", act.school_id, COLLEGE, places=places,
                       rate_tiyn=RATE)


def _keep(acts: dict[Act, int | None], priced: dict[ActLine, int]) -> dict[int, tuple[str, int]]:
    """Each line priced at ``priced`` (paid now, or would be paid again: top-up / corrected back), kept within its
    month's places (``acts``: act → the contract's places): line id → (rule, amount)."""
    rows = [(line, act) for act in acts for line in act.lines]
    found = {line.id: Correction(REGISTRY_CORRECTED_IN_FAVOUR if line.outcome == "excluded" else NEDB_CORRECTED,
                                 priced.get(line, 0), {"days": 30}) for line, _ in rows}
    _keep_within_places(rows, found, {act.id: _context(act, places) for act, places in acts.items()})
    assert all(c.evidence == {"days": 30} for c in found.values())
    return {line_id: (c.rule_code, c.corrected_tiyn) for line_id, c in found.items()}


def test_a_lifted_place_of_a_student_already_paid_a_place_that_month_is_listed_twice(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    paid = _line(act, S1, ("1", "A"), SEPTEMBER)
    copy = _line(act, S1, ("2", "A"), sep(30), outcome="excluded", rule="two_dormitories", amount=0)
    other = _line(act, S2, ("3", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({act: 10}, {paid: RATE, copy: 33_333, other: RATE})
    assert kept == {paid.id: (NEDB_CORRECTED, RATE), copy.id: ("dorm_duplicate_line", 0),
                    other.id: (REGISTRY_CORRECTED_IN_FAVOUR, RATE)}


def test_a_lifted_place_on_a_bed_paid_on_a_common_day_is_bed_shared_and_a_day_later_is_free(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    paid = _line(act, S1, ("1", "A"), SEPTEMBER, sep(16))  # the 1st to the 15th
    shared = _line(act, S2, ("1", "A"), sep(15), outcome="excluded", rule="two_dormitories", amount=0)
    after = _line(act, S3, ("2", "B"), sep(16), outcome="excluded", rule="two_dormitories", amount=0)
    before = _line(act, S4, ("2", "B"), SEPTEMBER, sep(16), outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({act: None}, {paid: 500_000, shared: 533_333, after: 500_000, before: 500_000})
    assert kept[shared.id] == ("bed_shared", 0)
    # the same bed on days that do not meet (the 1st–15th, then the 16th on): both topped up
    assert kept[after.id] == kept[before.id] == (REGISTRY_CORRECTED_IN_FAVOUR, 500_000)


@pytest.mark.parametrize(("paid", "moved_in", "moved_out", "full"), [
    # the 1st–10th; a paid place from the 10th: two paid on its last day only
    ([(sep(1), None), (sep(10), None)], sep(1), sep(11), True),
    # the 20th on; a paid place until the 20th: two paid on its first day only
    ([(sep(1), None), (sep(1), sep(21))], sep(20), None, True),
    # the 11th–19th between a place until the 10th and one from the 20th: one paid place on each of its days
    ([(sep(1), None), (sep(1), sep(11)), (sep(20), None)], sep(11), sep(20), False),
], ids=["full-on-its-last-day", "full-on-its-first-day", "free-every-day"])
def test_a_lifted_place_is_paid_only_if_every_one_of_its_days_leaves_a_contracted_place_free(country, paid, moved_in,
                                                                                             moved_out, full):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    held = [_line(act, iin(10 + n), (str(n), "A"), *dates) for n, dates in enumerate(paid)]
    lifted = _line(act, S4, ("9", "A"), moved_in, moved_out, outcome="excluded", rule="two_dormitories", amount=0)
    priced = {**dict.fromkeys(held, RATE), lifted: 300_000}
    kept = _keep({act: 2}, priced)
    assert kept[lifted.id] == (("dorm_over_capacity", 0) if full else (REGISTRY_CORRECTED_IN_FAVOUR, 300_000))
    assert all(kept[line.id] == (NEDB_CORRECTED, RATE) for line in held)
    # a contract without places (none known) takes it whatever the days
    assert _keep({act: None}, priced)[lifted.id] == (REGISTRY_CORRECTED_IN_FAVOUR, 300_000)


def test_the_last_free_place_goes_to_the_accepted_place_then_the_earliest_move_in_then_the_iin(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    november = _act(country, dormitory, date(2027, 11, 1), status="accepted")
    held = _line(act, S1, ("1", "A"), SEPTEMBER)
    # listed first, moved in first, but excluded: it waits behind the accepted place clawed back and corrected back
    lifted = _line(act, S2, ("2", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    clawed_back = _line(act, S3, ("3", "A"), sep(2))
    _settled(clawed_back, november, -RATE)  # clawed back in full on November's act: unpaid now
    kept = _keep({act: 2}, {held: RATE, lifted: RATE, clawed_back: 966_666})
    assert kept[clawed_back.id] == (NEDB_CORRECTED, 966_666)
    assert kept[lifted.id] == ("dorm_over_capacity", 0)


def test_of_two_lifted_places_the_earlier_move_in_then_the_lower_iin_takes_the_last_place(country):
    dormitory = country.school("Dormitory")
    act, second = _act(country, dormitory), _act(country, country.school("Dormitory"))
    held = _line(act, S1, ("1", "A"), SEPTEMBER)
    later = _line(act, S2, ("2", "A"), sep(3), outcome="excluded", rule="two_dormitories", amount=0)
    earlier = _line(act, S4, ("3", "A"), sep(2), outcome="excluded", rule="two_dormitories", amount=0)
    # the other dormitory's places are its own: a full month there takes nothing here
    there = _line(second, S3, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({act: 2, second: 1}, {held: RATE, later: 933_333, earlier: 966_666, there: RATE})
    assert kept[earlier.id] == (REGISTRY_CORRECTED_IN_FAVOUR, 966_666)
    assert kept[later.id] == ("dorm_over_capacity", 0)
    assert kept[there.id] == (REGISTRY_CORRECTED_IN_FAVOUR, RATE)

    same_day = _act(country, country.school("Dormitory"))
    first_held = _line(same_day, S1, ("1", "A"), SEPTEMBER)
    high = _line(same_day, S4, ("2", "A"), sep(2), outcome="excluded", rule="two_dormitories", amount=0)
    low = _line(same_day, S2, ("3", "A"), sep(2), outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({same_day: 2}, {first_held: RATE, high: 966_666, low: 966_666})
    assert S2 < S4
    assert (kept[low.id], kept[high.id]) == ((REGISTRY_CORRECTED_IN_FAVOUR, 966_666), ("dorm_over_capacity", 0))


def test_a_place_already_topped_up_holds_its_place_and_one_priced_at_nothing_holds_none(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    november = _act(country, dormitory, date(2027, 11, 1), status="paid")
    topped_up = _line(act, S1, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    _settled(topped_up, november, RATE)  # paid on November's act: no longer waiting, it holds its place
    withdrawn = _line(act, S2, ("2", "A"), SEPTEMBER)  # priced at nothing now: its place is free
    waiting = _line(act, S3, ("3", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({act: 2}, {topped_up: RATE, withdrawn: 0, waiting: RATE})
    assert kept[waiting.id] == (REGISTRY_CORRECTED_IN_FAVOUR, RATE)
    assert kept[topped_up.id] == (REGISTRY_CORRECTED_IN_FAVOUR, RATE)

    full = _act(country, country.school("Dormitory"))
    first = _line(full, S1, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    _settled(first, november, RATE)
    second = _line(full, S2, ("2", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    assert _keep({full: 1}, {first: RATE, second: RATE})[second.id] == ("dorm_over_capacity", 0)


def test_a_place_priced_at_nothing_is_left_as_priced_and_one_tiyn_is_a_place(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    paid = _line(act, S1, ("1", "A"), SEPTEMBER)
    nothing = _line(act, S2, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    one_tiyn = _line(act, S3, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    kept = _keep({act: 5}, {paid: RATE, nothing: 0, one_tiyn: 1})
    assert kept[nothing.id] == (REGISTRY_CORRECTED_IN_FAVOUR, 0)  # no place asked for: its own rule stands
    assert kept[one_tiyn.id] == ("bed_shared", 0)
    # a place paid one tiyn is paid: it is not waiting for a place, and it holds its own
    tiny = _act(country, country.school("Dormitory"))
    beside = _line(tiny, S1, ("1", "A"), SEPTEMBER)
    paid_one = _line(tiny, S2, ("1", "A"), SEPTEMBER, amount=1)
    kept = _keep({tiny: 5}, {beside: RATE, paid_one: 1})
    assert kept[paid_one.id] == (NEDB_CORRECTED, 1)
    holds = _act(country, country.school("Dormitory"))
    paid_one = _line(holds, S1, ("1", "A"), SEPTEMBER, amount=1)
    lifted = _line(holds, S2, ("1", "A"), sep(30), outcome="excluded", rule="two_dormitories", amount=0)
    assert _keep({holds: 5}, {paid_one: 1, lifted: 33_333})[lifted.id] == ("bed_shared", 0)


def test_a_place_kept_from_its_top_up_is_priced_at_what_it_has_been_paid(country):
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    october, november = _act(country, dormitory, OCTOBER), _act(country, dormitory, date(2027, 11, 1))
    held = _line(act, S1, ("1", "A"), SEPTEMBER)
    # accepted at 1,000,000, clawed back 600,000 then 400,000: 1,000,000 − 1,000,000 = 0, unpaid now
    clawed_back = _line(act, S2, ("1", "A"), SEPTEMBER)
    _settled(clawed_back, october, -600_000)
    _settled(clawed_back, november, -400_000)
    kept = _keep({act: 5}, {held: RATE, clawed_back: RATE})
    assert kept[clawed_back.id] == ("bed_shared", 0)
    # nothing settled at all: 0
    lifted = _line(act, S3, ("1", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    assert _keep({act: 5}, {held: RATE, lifted: RATE})[lifted.id] == ("bed_shared", 0)


def test_the_places_are_read_in_chunks(country, monkeypatch):
    monkeypatch.setattr(adjustments, "_CHUNK", 2)
    dormitory = country.school("Dormitory")
    act = _act(country, dormitory)
    paid = [_line(act, iin(10 + n), (str(n), "A"), SEPTEMBER) for n in range(5)]
    waiting = _line(act, S1, ("4", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    assert _keep({act: 10}, {**dict.fromkeys(paid, RATE), waiting: RATE})[waiting.id] == ("bed_shared", 0)


# --- the other dormitories' claims --------------------------------------------------------------------------------

def test_the_claims_on_a_student_are_every_dormitory_act_of_the_month_keyed_by_the_child(country, monkeypatch):
    monkeypatch.setattr(adjustments, "_CHUNK", 2)  # three IINs asked for: two chunks, each IIN once
    here, there, school = country.school("Dormitory"), country.school("Dormitory"), country.school("School")
    ours = _act(country, here)
    theirs = _act(country, there, status="submitted")
    own = _line(ours, S1, ("1", "A"), SEPTEMBER)
    other = _line(ours, S2, ("2", "A"), SEPTEMBER)
    _line(theirs, S1, ("9", "A"), sep(10), sep(21))  # the 10th–20th
    _line(_act(country, there, OCTOBER), S1, ("9", "A"), SEPTEMBER)  # another month: not a claim on September
    # a school act of the month is no dormitory's claim
    db.session.add(ActLine(act_id=_act(country, school, instrument="state_order").id, period=SEPTEMBER,
                           school_id=school.id, line_no=1, iin=S2, full_name="x", grade=2, days_attended=30))
    # S3, merged by NEDB into S2, placed at the other dormitory from the 25th
    db.session.add(NedbIinMerge(retired_iin=S3, surviving_iin=S2))
    _line(theirs, S3, ("8", "A"), sep(25))
    db.session.flush()
    found, child = _other_claims([(own, ours), (other, ours)])
    assert child == {S1: S1, S2: S2, S3: S2}
    assert sorted(found[(S1, SEPTEMBER)]) == sorted([(here.id, ours.number, sep(1), sep(30)),
                                                     (there.id, theirs.number, sep(10), sep(20))])
    assert sorted(found[(S2, SEPTEMBER)]) == sorted([(here.id, ours.number, sep(1), sep(30)),
                                                     (there.id, theirs.number, sep(25), sep(30))])
    assert set(found) == {(S1, SEPTEMBER), (S2, SEPTEMBER)}


# --- the decided lines an act settles --------------------------------------------------------------------------

def test_an_act_settles_the_accepted_lines_and_the_liftable_exclusions_of_its_year_or_adjusted_before(country):
    dormitory = country.school("Dormitory")
    august = _act(country, dormitory, date(2027, 8, 1))
    september = _act(country, dormitory)
    accepted_august = _line(august, S1, ("1", "A"), date(2027, 8, 1))
    _line(august, S2, ("2", "A"), date(2027, 8, 1), outcome="excluded", rule="two_dormitories", amount=0)
    adjusted_august = _line(august, S3, ("3", "A"), date(2027, 8, 1), outcome="excluded", rule="dorm_liquidated",
                            amount=0)
    accepted = _line(september, S1, ("1", "A"), SEPTEMBER)
    lifted = _line(september, S2, ("2", "A"), SEPTEMBER, outcome="excluded", rule="dorm_liquidated", amount=0)
    twins = _line(september, S3, ("3", "A"), SEPTEMBER, outcome="excluded", rule="two_dormitories", amount=0)
    _line(september, S4, ("4", "A"), SEPTEMBER, outcome="excluded", rule="bed_unknown", amount=0)
    november = _act(country, dormitory, date(2027, 11, 1), status="verified")
    _settled(adjusted_august, _act(country, dormitory, OCTOBER), 500_000)
    rows = db.session.execute(_lines_to_reprice([november]).order_by(Act.period, ActLine.line_no)).all()
    assert [line.id for line, _ in rows] == [accepted_august.id, adjusted_august.id, accepted.id, lifted.id, twins.id]
    # from September on: August's lines are not looked at
    since = db.session.execute(_lines_to_reprice([november], SEPTEMBER).order_by(ActLine.line_no)).all()
    assert [line.id for line, _ in since] == [accepted.id, lifted.id, twins.id]
    # before September (the reconciliation asks for one month's): August's only
    until = db.session.execute(_lines_to_reprice([november], None, SEPTEMBER).order_by(ActLine.line_no)).all()
    assert [line.id for line, _ in until] == [accepted_august.id, adjusted_august.id]
    assert db.session.scalars(select(ActLine.id).where(ActLine.act_id == november.id)).all() == []
