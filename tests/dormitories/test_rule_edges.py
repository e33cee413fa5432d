"""The edges of the dormitory rules the simulated year does not reach, each as the case an official would meet: a
student listed twice whose first copy is wrong, enrolments and documents that leave gaps inside the month, a bed
handed on twice, a student who moves from one dormitory to another, a contract that admits local residents,
places over the contract whatever the order of the lines, and a student registry that is not a table.

Every case is verified for October 2027 (31 days) at Jastar (40 places, 44 beds, a clean month: every line paid)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import select, update

from app.acts.models import Act, ActLine
from app.acts.operations import claim_for_verification, submit_act
from app.contracts.operations import open_contract_act
from app.dormitories.models import DormitoryDocument, DormitoryTerms, DormPlaceLine, StudentEnrolment
from app.dormitories.registry import TableStudentRegistry
from app.dormitories.synthetic import _enrol
from app.dormitories.verification import verify_dormitory_acts
from app.extensions import db
from tests.helpers import user

OCTOBER = date(2027, 10, 1)
ACCOUNTANTS = {"dorm_a": "dorm_accountant", "dorm_b": "dorm_accountant2", "dorm_c": "dorm_accountant3"}


def _lines(seeded, key: str = "dorm_a") -> list[dict]:
    return [dict(line) for line, _ in seeded["worlds"][key].lines_for(OCTOBER)]


def _verify(seeded, lines: list[dict], key: str = "dorm_a", registry=None):
    """Submit ``lines`` as the dormitory's October act and verify it: (summary, [(rule, paid days, amount)])."""
    act = open_contract_act(seeded["contracts"][key], OCTOBER)
    submit_act(act, lines, None, user(ACCOUNTANTS[key]))
    claim_for_verification([act.id])
    summary = verify_dormitory_acts([act], registry)[act.id]
    return summary, _outcomes(act.id)


def _outcomes(act_id: int) -> list[tuple]:
    return db.session.execute(select(ActLine.rule_code, ActLine.paid_days, ActLine.amount_tiyn)
                              .where(ActLine.act_id == act_id).order_by(ActLine.line_no)).all()


def _rate(seeded, key: str = "dorm_a") -> int:
    return db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == seeded["contracts"][key].id))


def _newcomer(seeded, moved_in: date, bed: tuple[str, str], seed: int) -> dict:
    """A full-time student from Karaganda in the student registry, placed on ``bed`` from ``moved_in``."""
    institution = seeded["institutions"][0]
    iin, name = _enrol(random.Random(seed), institution, 2, date(2026, 9, 1), "KARAGANDY")
    db.session.flush()
    return {"iin": iin, "full_name": name, "institution_bin": institution, "course": 2, "room": bed[0],
            "bed": bed[1], "moved_in": moved_in.isoformat()}


def test_a_student_listed_twice_keeps_the_copy_no_other_rule_excludes_whatever_its_place_in_the_act(dorm_year):
    lines = _lines(dorm_year)
    right = dict(lines[5])
    lines[5] = dict(right, room="999", bed="9")  # the first copy names a bed the dormitory does not have
    lines.append(right)
    summary, rows = _verify(dorm_year, lines)
    assert rows[5][0] == "dorm_duplicate_line"
    assert rows[-1] == (None, 31, _rate(dorm_year)), "the correct copy is paid, though it comes last"
    assert summary.by_rule == {"dorm_duplicate_line": 1}


def test_a_student_moving_to_another_room_mid_month_is_paid_on_each_line_s_own_days(dorm_year):
    """Two lines of one student whose days do not meet are a move within the dormitory, not a copy: the second was
    excluded as listed twice and the place went unpaid from the move to the month's end. Lines on common days are
    still one place: the later copy is excluded."""
    lines = _lines(dorm_year)
    free = lines.pop()  # the last resident left: their bed is free for the move
    rate = _rate(dorm_year)
    mover = lines[4]
    mover["moved_out"] = "2027-10-16"  # holds the first room 1–15 October
    moved = dict(mover, room=free["room"], bed=free["bed"], moved_in="2027-10-16")
    del moved["moved_out"]
    summary, rows = _verify(dorm_year, [*lines, moved])
    assert rows[4] == (None, 15, rate * 15 // 31)
    assert rows[-1] == (None, 16, rate * 16 // 31), "the new room's days are paid"
    assert summary.excluded == 0


def test_two_lines_of_one_student_on_common_days_are_one_place(dorm_year):
    lines = _lines(dorm_year)
    free = lines.pop()
    mover = lines[4]
    mover["moved_out"] = "2027-10-16"
    overlapping = dict(mover, room=free["room"], bed=free["bed"], moved_in="2027-10-10")
    del overlapping["moved_out"]
    summary, rows = _verify(dorm_year, [*lines, overlapping])
    assert rows[4][:2] == (None, 15)
    assert rows[-1] == ("dorm_duplicate_line", None, 0)
    assert summary.by_rule == {"dorm_duplicate_line": 1}


def test_enrolments_that_overlap_pay_each_day_once_and_a_gap_between_them_is_not_paid(dorm_year):
    lines = _lines(dorm_year)
    rate = _rate(dorm_year)
    overlapping, gapped = lines[2], lines[3]
    # Withdrawn on 15 October and enrolled again from 10 October: every day of the month, counted once.
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == overlapping["iin"])
                       .values(withdrawn_on=date(2027, 10, 15)))
    # Withdrawn on 8 October, enrolled again on 20 October: 7 + 12 days.
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == gapped["iin"])
                       .values(withdrawn_on=date(2027, 10, 8)))
    for line, since in ((overlapping, date(2027, 10, 10)), (gapped, date(2027, 10, 20))):
        db.session.add(StudentEnrolment(iin=line["iin"], full_name=line["full_name"],
                                        institution_bin=line["institution_bin"], course=line["course"],
                                        study_form="full_time", home_region="KARAGANDY", enrolled_on=since))
    db.session.flush()
    _summary, rows = _verify(dorm_year, lines)
    assert rows[2] == (None, 31, rate)
    assert rows[3] == (None, 19, rate * 19 // 31)


def test_documents_with_a_gap_inside_the_month_pay_only_the_days_both_are_valid(dorm_year):
    dorm = dorm_year["orgs"]["dorm_a"]
    ownership = db.session.scalars(select(DormitoryDocument).where(DormitoryDocument.dormitory_bin == dorm.bin,
                                                                   DormitoryDocument.kind == "ownership")).one()
    ownership.valid_until = date(2027, 10, 10)  # the lease lapses on 10 October, the new one starts on the 21st
    db.session.add(DormitoryDocument(number=f"OW2-{dorm.bin}", dormitory_bin=dorm.bin, kind="ownership",
                                     valid_from=date(2027, 10, 21), valid_until=None))
    db.session.flush()
    lines = _lines(dorm_year)
    summary, rows = _verify(dorm_year, lines)
    rate = _rate(dorm_year)
    moved_in_mid_october = next(i for i, line in enumerate(lines) if line["moved_in"] == "2027-10-15")
    assert rows[moved_in_mid_october] == (None, 11, rate * 11 // 31), "15–31 October ∩ 21–31 October"
    assert {row for i, row in enumerate(rows) if i != moved_in_mid_october} == {(None, 21, rate * 21 // 31)}
    assert summary.excluded == 0


def test_a_bed_handed_on_twice_goes_to_the_earliest_move_in_that_does_not_meet_a_kept_one(dorm_year):
    lines = _lines(dorm_year)[:-1]  # one place left free: the newcomers stay within the contract's places
    first = lines[4]
    first["moved_out"] = "2027-10-11"  # occupies the bed 1–10 October
    bed = (first["room"], first["bed"])
    early = _newcomer(dorm_year, date(2027, 10, 5), bed, 1)  # meets the first resident's days: loses the bed
    late = _newcomer(dorm_year, date(2027, 10, 15), bed, 2)  # meets only the loser's days: keeps it
    _summary, rows = _verify(dorm_year, [*lines, early, late])
    rate = _rate(dorm_year)
    assert rows[4] == (None, 10, rate * 10 // 31)
    assert rows[-2] == ("bed_shared", None, 0)
    assert rows[-1] == (None, 17, rate * 17 // 31)


def test_a_student_moving_between_dormitories_is_paid_to_both_unless_their_days_meet(dorm_year):
    jastar = _lines(dorm_year)
    alatau = _lines(dorm_year, "dorm_c")
    mover = next(line for line in jastar[1:] if db.session.scalar(
        select(StudentEnrolment.home_region).where(StudentEnrolment.iin == line["iin"])) not in ("ASTANA", "ALMATY"))
    mover["moved_out"] = "2027-10-15"  # the first free day at Jastar
    arrival = dict(mover, room=alatau[-1]["room"], bed=alatau[-1]["bed"], moved_in="2027-10-15")
    del arrival["moved_out"]
    alatau[-1] = arrival
    _summary, jastar_rows = _verify(dorm_year, jastar)
    _summary, alatau_rows = _verify(dorm_year, alatau, "dorm_c")
    assert jastar_rows[jastar.index(mover)][:2] == (None, 14)
    assert alatau_rows[-1][:2] == (None, 17)

    # One night in both: moved in at Alatau the day before the place at Jastar is free. Both acts lose the line.
    line_id = db.session.scalar(select(ActLine.id).join(Act, Act.id == ActLine.act_id).where(
        Act.school_id == dorm_year["orgs"]["dorm_c"].id, ActLine.iin == mover["iin"]))
    db.session.execute(update(DormPlaceLine).where(DormPlaceLine.line_id == line_id)
                       .values(moved_in=date(2027, 10, 14)))
    acts = list(db.session.scalars(select(Act).where(Act.period == OCTOBER, Act.instrument == "dormitory")))
    claim_for_verification([a.id for a in acts])
    summaries = verify_dormitory_acts(acts)
    assert sorted(s.by_rule.get("two_dormitories", 0) for s in summaries.values()) == [1, 1]


def test_a_local_resident_is_paid_where_the_contract_admits_local_residents(dorm_year):
    lines = _lines(dorm_year)
    db.session.execute(update(StudentEnrolment).where(StudentEnrolment.iin == lines[7]["iin"])
                       .values(home_region="ASTANA"))  # Jastar is in Astana
    summary, rows = _verify(dorm_year, lines)
    assert rows[7][0] == "local_resident" and summary.by_rule == {"local_resident": 1}
    db.session.execute(update(DormitoryTerms).where(DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id)
                       .values(excludes_local_residents=False))
    act = db.session.get(Act, db.session.scalar(select(ActLine.act_id).where(ActLine.iin == lines[7]["iin"])))
    assert verify_dormitory_acts([act])[act.id].excluded == 0
    assert _outcomes(act.id)[7] == (None, 31, _rate(dorm_year))


def test_places_over_the_contract_go_to_the_latest_move_ins_whatever_the_order_of_the_lines(dorm_year):
    lines = _lines(dorm_year)
    early = _newcomer(dorm_year, date(2027, 10, 1), ("011", "1"), 3)
    late = _newcomer(dorm_year, date(2027, 10, 20), ("011", "2"), 4)
    mid_october = next(line["iin"] for line in lines if line["moved_in"] == "2027-10-15")
    summary, _rows = _verify(dorm_year, list(reversed([early, *lines, late])))
    assert summary.by_rule == {"dorm_over_capacity": 2}
    over = set(db.session.scalars(select(ActLine.iin).where(ActLine.rule_code == "dorm_over_capacity")))
    assert over == {mid_october, late["iin"]}, "40 places: the two who moved in last (15 and 20 October)"


@pytest.mark.parametrize("second_newcomer", [False, True])
def test_a_bed_handed_on_mid_month_is_one_place_not_two(dorm_year, second_newcomer):
    """Places are counted on the days they are held: a student who leaves on the 10th frees a place that a
    newcomer takes on the 11th. Counting lines (41 lines for 40 places), the newcomer was refused as over the
    contract's places though no day had more than 40 students. A second newcomer on those days is one more than
    the places: the latest move-in (the student who came on the 15th) is not paid."""
    lines = _lines(dorm_year)
    assert len(lines) == 40
    leaver = next(line for line in lines if line["moved_in"] < "2027-10-01")
    leaver["moved_out"] = "2027-10-11"  # holds the place 1–10 October
    newcomer = _newcomer(dorm_year, date(2027, 10, 11), ("011", "1"), 5)
    second = [_newcomer(dorm_year, date(2027, 10, 12), ("011", "2"), 6)] if second_newcomer else []
    summary, _rows = _verify(dorm_year, [*second, newcomer, *lines])
    paid = db.session.execute(select(ActLine.paid_days).where(ActLine.iin == newcomer["iin"])).scalar_one()
    assert paid == 21
    if not second_newcomer:
        assert summary.by_rule == {} and summary.accepted == 41
    else:
        assert summary.by_rule == {"dorm_over_capacity": 1}
        mid_october = next(line["iin"] for line in lines if line["moved_in"] == "2027-10-15")
        assert set(db.session.scalars(select(ActLine.iin).where(ActLine.rule_code == "dorm_over_capacity"))) == {
            mid_october}


class _ServiceRegistry:
    """A student registry reached through its adapter only (a live service): no table to join."""

    def enrollments_for(self, iins):
        return TableStudentRegistry().enrollments_for(iins)


def test_a_registry_that_is_not_a_table_decides_the_same(dorm_year):
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], OCTOBER)  # whose resident Nomad claims too
    submit_act(alatau, _lines(dorm_year, "dorm_c"), None, user("dorm_accountant3"))
    lines = _lines(dorm_year, "dorm_b")  # Nomad: one line of every anomaly
    truth = [rule for _line, rule in dorm_year["worlds"]["dorm_b"].lines_for(OCTOBER)]
    _summary, rows = _verify(dorm_year, lines, "dorm_b", registry=_ServiceRegistry())
    assert [rule for rule, _paid, _amount in rows] == truth


def test_a_place_excluded_as_claimed_twice_is_paid_once_the_other_dormitory_drops_its_claim(dorm_year):
    """Both dormitories claimed one student: both lines excluded. The other dormitory's act was returned and
    resubmitted without the student; this act kept its exclusion (and, once accepted, the place was never paid):
    the outcome depended on which act was verified last. It is verified again and pays the place."""
    from app.dormitories.operations import settle_dormitory_acts

    jastar, alatau = _lines(dorm_year), _lines(dorm_year, "dorm_c")
    student = dict(jastar[3], room=alatau[-1]["room"], bed=alatau[-1]["bed"])
    alatau[-1] = student
    verified = {}
    for key, lines in (("dorm_a", jastar), ("dorm_c", alatau)):
        act = open_contract_act(dorm_year["contracts"][key], OCTOBER)
        submit_act(act, lines, None, user(ACCOUNTANTS[key]))
        verified[key] = act
    acts = list(verified.values())
    claim_for_verification([a.id for a in acts])
    verify_dormitory_acts(acts)
    settle_dormitory_acts(acts)
    assert [_outcomes(a.id)[i][0] for a, i in ((verified["dorm_a"], 3), (verified["dorm_c"], -1))] == [
        "two_dormitories", "two_dormitories"]

    alatau_act = verified["dorm_c"]
    alatau_act.status = "returned"  # returned by the official; resubmitted without the student
    db.session.flush()
    submit_act(alatau_act, alatau[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    claim_for_verification([alatau_act.id])
    verify_dormitory_acts([alatau_act])
    settle_dormitory_acts([alatau_act])
    db.session.expire_all()
    assert _outcomes(verified["dorm_a"].id)[3] == (None, 31, _rate(dorm_year))
    jastar_act = db.session.get(Act, verified["dorm_a"].id)
    assert jastar_act.accepted_lines == jastar_act.total_lines


def test_a_place_excluded_as_claimed_twice_is_paid_once_the_other_dormitorys_dates_no_longer_meet(dorm_year):
    """Jastar had the student until 15 October, Alatau from the 14th: both excluded. Alatau's act was resubmitted
    from the 15th; Alatau was paid, Jastar stayed excluded — the other claim still existed, only its days moved."""
    from app.dormitories.operations import settle_dormitory_acts

    jastar, alatau = _lines(dorm_year), _lines(dorm_year, "dorm_c")
    mover = next(line for line in jastar[1:] if db.session.scalar(
        select(StudentEnrolment.home_region).where(StudentEnrolment.iin == line["iin"])) not in ("ASTANA", "ALMATY"))
    index = jastar.index(mover)
    mover["moved_out"] = "2027-10-15"  # at Jastar 1–14 October
    arrival = dict(mover, room=alatau[-1]["room"], bed=alatau[-1]["bed"], moved_in="2027-10-14")
    del arrival["moved_out"]
    alatau[-1] = arrival
    acts = {}
    for key, lines in (("dorm_a", jastar), ("dorm_c", alatau)):
        acts[key] = open_contract_act(dorm_year["contracts"][key], OCTOBER)
        submit_act(acts[key], lines, None, user(ACCOUNTANTS[key]))
    claim_for_verification([a.id for a in acts.values()])
    verify_dormitory_acts(list(acts.values()))
    settle_dormitory_acts(list(acts.values()))
    assert _outcomes(acts["dorm_a"].id)[index][0] == "two_dormitories"

    acts["dorm_c"].status = "returned"
    db.session.flush()
    submit_act(acts["dorm_c"], [*alatau[:-1], dict(arrival, moved_in="2027-10-15")], None, user(ACCOUNTANTS["dorm_c"]))
    claim_for_verification([acts["dorm_c"].id])
    verify_dormitory_acts([acts["dorm_c"]])
    settle_dormitory_acts([acts["dorm_c"]])
    db.session.expire_all()
    assert _outcomes(acts["dorm_c"].id)[-1][:2] == (None, 17)
    assert _outcomes(acts["dorm_a"].id)[index][:2] == (None, 14), "verified again: its 14 nights are paid"


def test_a_student_on_a_line_per_room_is_one_student_of_the_act(dorm_year):
    """The act's stored students (what the analytics flags count): the mover's two paid lines are one student, claimed
    and paid for."""
    lines = _lines(dorm_year)
    free = lines.pop()
    mover = lines[4]
    mover["moved_out"] = "2027-10-16"
    moved = dict(mover, room=free["room"], bed=free["bed"], moved_in="2027-10-16")
    del moved["moved_out"]
    summary, _rows = _verify(dorm_year, [*lines, moved])
    act = db.session.scalars(select(Act).where(Act.school_id == dorm_year["contracts"]["dorm_a"].school_id,
                                               Act.period == OCTOBER)).one()
    db.session.refresh(act)
    assert (act.total_lines, act.accepted_lines) == (len(lines) + 1, len(lines) + 1) and summary.excluded == 0
    assert (act.total_students, act.accepted_students) == (len(lines), len(lines))


def test_a_leap_february_pays_by_its_29_days_and_a_day_at_either_edge_is_one_day(dorm_year):
    """February 2028 has 29 days: a whole month is the rate, one day is rate // 29 (rounded down to the tiyn) — a
    move-out on the 2nd (the 1st occupied) and a move-in on the 29th alike; a move-out on 1 March is the whole month.
    A move-out on the 1st leaves no day of the month, and a move-out before the move-in: both are refused."""
    from app.engine.errors import FormInvalid

    february = date(2028, 2, 1)
    lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(february)]
    rate = _rate(dorm_year)
    lines[1]["moved_out"] = "2028-02-02"
    lines[2]["moved_in"] = "2028-02-29"
    lines[2].pop("moved_out", None)
    lines[3]["moved_out"] = "2028-03-01"
    for wrong in ({"moved_out": "2028-02-01"}, {"moved_in": "2028-02-10", "moved_out": "2028-02-03"}):
        refused = open_contract_act(dorm_year["contracts"]["dorm_a"], february)
        with pytest.raises(FormInvalid):
            submit_act(refused, [lines[0], dict(lines[4], **wrong)], None, user(ACCOUNTANTS["dorm_a"]))
        db.session.rollback()
    act = open_contract_act(dorm_year["contracts"]["dorm_a"], february)
    submit_act(act, lines, None, user(ACCOUNTANTS["dorm_a"]))
    claim_for_verification([act.id])
    verify_dormitory_acts([act])
    rows = _outcomes(act.id)
    assert rate // 29 == 65517  # 1 900 000 tiyn a month
    assert rows[:4] == [(None, 29, rate), (None, 1, rate // 29), (None, 1, rate // 29), (None, 29, rate)]
