"""The dormitories' repricing of a paid month put together (``_repricing``) and settled on the next act
(``settle_dormitory_adjustments``), on hand-made acts: each dormitory's terms and documents as the first verification
reads them today (``dormitory_contexts``, given here), the student registry, the beds and the business register, the
other dormitories' claims — every place priced with its own dormitory's rate, days, beds, region and liquidation.

September 2027 (30 days). Amounts worked out by hand: a place at 1,000,000 tiyn a month paid 20 of 30 days earns
666,666; at 600,000 a month, 15 days earn 300,000."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.acts.verification import month_bounds
from app.dormitories import adjustments
from app.dormitories.adjustments import (
    _lines_to_reprice,
    _repricing,
    settle_dormitory_adjustments,
    unsettled_dormitory_corrections,
    unsettled_dormitory_corrections_in_month,
)
from app.dormitories.models import DormitoryBed
from app.dormitories.registry import StudentRecord
from app.dormitories.verification import DormContext
from app.extensions import db
from app.people.models import Organisation
from app.registry.models import BusinessRecord, NedbIinMerge
from tests.dormitories.test_dormitory_money_places import _act, _line
from tests.dormitories.test_dormitory_money_rules import COLLEGE, RATE, SEPTEMBER, sep
from tests.registry.conftest import iin


class Registry:
    """The student registry: every student full-time at the college since September 2026, from Karaganda unless
    said otherwise."""

    def __init__(self, homes: dict[str, str], unknown: set[str]):
        self.homes, self.unknown = homes, unknown

    def enrollments_for(self, iins):
        return {s: [StudentRecord(s, "Student", COLLEGE, 2, "full_time", self.homes.get(s, "KARAGANDY"),
                                  date(2026, 9, 1), None)] for s in iins if s not in self.unknown}


def _month_of(dormitory, act: Act, *, places: int | None = 10, rate: int = RATE, locals_excluded: bool = True,
              rule: str | None = None, days: int = 30, liquidated_on: date | None = None,
              beds: tuple = ()) -> DormContext:
    for room, bed in beds:
        db.session.add(DormitoryBed(dormitory_bin=dormitory.bin, room=room, bed=bed))
    db.session.flush()
    start, end = month_bounds(act.period)
    return DormContext(act, start, end, "ASTANA", dormitory.id, dormitory.bin, places=places, rate_tiyn=rate,
                       excludes_local_residents=locals_excluded, dormitory_rule=rule,
                       paid_days={start.toordinal() + n for n in range(min(days, end.day))},
                       liquidated_on=liquidated_on)


@pytest.fixture()
def month(country, monkeypatch):
    """Five dormitories' paid Septembers and the next act of the first, November's, just verified."""
    a, b, c, d, e, f, g, h = (country.school(f"Dormitory {x}") for x in "ABCDEFGH")
    lines, contexts = {}, {}
    monkeypatch.setattr(adjustments, "dormitory_contexts", lambda acts: {x.id: contexts[x.id] for x in acts})

    def act_of(org, **terms):
        act = _act(country, org)
        contexts[act.id] = _month_of(org, act, **terms)
        return act

    def line(key, act, student, bed, moved_in=SEPTEMBER, **kw):
        lines[key] = _line(act, student, bed, moved_in, **kw)

    excluded = {"outcome": "excluded", "rule": "two_dormitories", "amount": 0}
    act_a = act_of(a, beds=[("1", "A"), ("2", "A"), ("3", "A")])
    line("kept", act_a, iin(1), ("1", "A"))
    line("topped_up", act_a, iin(2), ("2", "A"), **excluded)
    line("local", act_a, iin(3), ("3", "A"), **excluded)
    line("no_bed", act_a, iin(4), ("9", "Z"), **excluded)
    line("twice", act_a, iin(5), ("5", "A"))
    line("merged", act_a, iin(6), ("6", "A"))
    theirs = _act(country, b, status="returned")  # any status: as the rule pass counts them
    _line(theirs, iin(5), ("1", "A"), sep(10), sep(21))
    _line(theirs, iin(7), ("2", "A"), sep(25))
    db.session.add(NedbIinMerge(retired_iin=iin(7), surviving_iin=iin(6)))

    act_c = act_of(c, rate=600_000, days=15, places=None, locals_excluded=False, beds=[("1", "A"), ("1", "B")])
    line("half", act_c, iin(9), ("1", "A"), amount=600_000)
    line("unknown", act_c, iin(17), ("1", "B"), amount=600_000)  # the registry does not know them
    # listed under an IIN NEDB has since retired; B's act places the surviving IIN the 1st–4th
    line("retired", act_c, iin(19), ("1", "A"), amount=600_000)
    db.session.add(NedbIinMerge(retired_iin=iin(19), surviving_iin=iin(20)))
    _line(theirs, iin(20), ("3", "A"), SEPTEMBER, sep(5))
    line("liquidation_lifted", act_c, iin(10), ("1", "B"), outcome="excluded", rule="dorm_liquidated", amount=0)
    # liquidated since, on 1 March 2028 (a date is the register's only with the status: liquidation_day)
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == c.bin)).one()
    record.status, record.liquidated_on = "liquidated", date(2028, 3, 1)

    act_d = act_of(d, rule="dorm_no_documents", days=0, liquidated_on=sep(21))
    line("before_liquidation", act_d, iin(11), ("1", "A"))
    line("undated", act_d, iin(12), ("2", "A"), outcome="excluded", rule="dorm_liquidated", amount=0)
    line("from_liquidation", act_d, iin(13), ("3", "A"), sep(21))

    act_e = act_of(e, places=1, beds=[("1", "A"), ("2", "A")])
    line("holds", act_e, iin(14), ("1", "A"))
    line("no_place", act_e, iin(15), ("2", "A"), **excluded)

    act_f = act_of(f, beds=[("1", "A")])  # a month whose only place was excluded
    line("only_excluded", act_f, iin(16), ("2", "A"), **excluded)

    # documents not valid on any day of the month today (a dated rule): the lifted place is priced on them
    act_g = act_of(g, rule="dorm_documents_expired", days=0, beds=[("1", "A")])
    line("expired", act_g, iin(18), ("1", "A"), **excluded)

    act_h = act_of(h, rate=0, beds=[("1", "A")])  # no contract: no rate, nothing owed
    line("no_rate", act_h, iin(21), ("1", "A"), **excluded)
    db.session.flush()
    return lines, Registry({iin(3): "ASTANA", iin(10): "ASTANA"}, {iin(17)}), act_a, theirs, contexts


def test_each_place_is_priced_with_its_own_dormitorys_terms_and_todays_registries(month):
    lines, registry, _, theirs, _ = month
    rows = [(ln, db.session.get(Act, ln.act_id)) for ln in lines.values()]
    found = _repricing(registry)(rows)
    priced = {key: (found[ln.id].rule_code, found[ln.id].corrected_tiyn) for key, ln in lines.items()}
    assert priced == {
        "kept": (NEDB_CORRECTED, RATE),  # its own act's line is no other dormitory's claim
        "topped_up": (REGISTRY_CORRECTED_IN_FAVOUR, RATE),
        "local": ("local_resident", 0),  # Astana's dormitory, a contract that excludes local residents
        "no_bed": ("bed_unknown", 0),
        "twice": ("two_dormitories", 0),  # B's returned act places them the 10th–20th
        "merged": ("two_dormitories", 0),  # B's act places the IIN NEDB merged into theirs
        "half": (ENROLLED_DAYS, 300_000),  # 600,000 a month, documents valid the 1st–15th
        "liquidation_lifted": (REGISTRY_CORRECTED_IN_FAVOUR, 300_000),  # a local resident, but locals admitted
        "before_liquidation": (ENROLLED_DAYS, 666_666),  # no documents on record: the 1st–20th, before the 21st
        "undated": ("dorm_liquidated", 0),  # documents missing today: no top-up on evidence missing now
        "from_liquidation": ("dorm_liquidated", 0),
        "holds": (NEDB_CORRECTED, RATE),
        "no_place": ("dorm_over_capacity", 0),  # one contracted place, held all month
        "only_excluded": ("bed_unknown", 0),
        "unknown": ("student_not_found", 0),
        "expired": ("dorm_documents_expired", 0),
        "retired": ("two_dormitories", 0),
        "no_rate": (REGISTRY_CORRECTED_IN_FAVOUR, 0),
    }
    assert found[lines["twice"].id].evidence["other_dormitory_acts"] == [theirs.number]
    assert found[lines["liquidation_lifted"].id].evidence["liquidated_on"] == "2028-03-01"
    assert found[lines["before_liquidation"].id].evidence["liquidated_on"] == "2027-09-21"
    assert found[lines["undated"].id].evidence["dormitory_rule"] == "dorm_no_documents"


def test_no_lines_price_nothing(month):
    _, registry, *_ = month
    assert _repricing(registry)([]) == {}


def test_the_next_act_settles_the_claw_backs_and_top_ups_of_its_dormitorys_paid_month(month, country):
    lines, registry, act_a, *_ = month
    november = _act(country, db.session.get(Organisation, act_a.school_id), date(2027, 11, 1), status="verified")
    november.amount_tiyn = 5 * RATE
    db.session.flush()
    rows = db.session.execute(_lines_to_reprice([november])).all()
    assert {ln.id for ln, _ in rows} == {lines[k].id for k in ("kept", "topped_up", "local", "no_bed", "twice",
                                                               "merged")}
    settled = settle_dormitory_adjustments([november], registry)
    written = {a.original_line_id: (a.rule_code, a.amount_tiyn) for a in
               db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == november.id))}
    assert written == {lines["topped_up"].id: (REGISTRY_CORRECTED_IN_FAVOUR, RATE),
                       lines["twice"].id: ("two_dormitories", -RATE), lines["merged"].id: ("two_dormitories", -RATE)}
    assert sorted(item["amount_tiyn"] for item in settled[november.id]) == [-RATE, -RATE, RATE]
    assert db.session.get(Act, november.id).amount_tiyn == 4 * RATE
    assert settle_dormitory_adjustments([]) == {}
    assert db.session.scalars(select(ActLine).where(ActLine.act_id == november.id)).all() == []


def test_what_the_next_act_would_settle_is_listed_without_settling_it_and_by_month(month, country):
    lines, registry, act_a, _, contexts = month
    dormitory = db.session.get(Organisation, act_a.school_id)
    assert unsettled_dormitory_corrections(country.school("Dormitory nothing decided"), registry) == []
    owed = {(u.line.id, u.amount_tiyn) for u in unsettled_dormitory_corrections(dormitory, registry)}
    assert owed == {(lines["topped_up"].id, RATE), (lines["twice"].id, -RATE), (lines["merged"].id, -RATE)}

    # October and December paid too, each with a place lifted since, listed for 30 of its 31 days: 1,000,000 × 30 / 31
    # = 967,741.9…; the month asked for is that month's alone
    lifted = {}
    for period in (date(2027, 10, 1), date(2027, 12, 1)):
        act = _act(country, dormitory, period)
        contexts[act.id] = _month_of(dormitory, act, beds=[("4", "A")] if period.month == 10 else ())
        lifted[period] = _line(act, iin(30 + period.month), ("4", "A"), period, outcome="excluded",
                               rule="two_dormitories", amount=0)
    january = _act(country, dormitory, date(2028, 1, 1), status="submitted")
    assert [(u.line.id, u.amount_tiyn) for u in unsettled_dormitory_corrections_in_month(
        [january], date(2027, 10, 1), registry=registry)] == [(lifted[date(2027, 10, 1)].id, 967_741)]
    assert [(u.line.id, u.amount_tiyn) for u in unsettled_dormitory_corrections_in_month(
        [january], date(2027, 12, 1), registry=registry)] == [(lifted[date(2027, 12, 1)].id, 967_741)]
    assert {(u.line.id, u.amount_tiyn) for u in unsettled_dormitory_corrections_in_month(
        [january], SEPTEMBER, registry=registry)} == owed
    assert unsettled_dormitory_corrections_in_month([], SEPTEMBER, registry=registry) == []
    assert db.session.scalars(select(ActAdjustment)).all() == []


def test_a_claw_back_older_than_the_next_acts_look_back_is_listed_as_not_coming_back(month, country):
    lines, registry, act_a, *_ = month
    dormitory = db.session.get(Organisation, act_a.school_id)
    _act(country, dormitory, date(2029, 9, 1))  # paid two academic years on: the next act, October 2029, claws back
    # from September 2028 only, so September 2027's claw-backs will not come back — listed as such, not dropped
    listed = {(u.line.id, u.amount_tiyn, u.time_barred) for u in unsettled_dormitory_corrections(dormitory, registry)}
    assert listed == {(lines["twice"].id, -RATE, True), (lines["merged"].id, -RATE, True)}
