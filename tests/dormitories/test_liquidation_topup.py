"""A month a dormitory's liquidation excluded whole is topped up when the business register corrects the date forward.

September is decided with the register saying the dormitory was liquidated on 1 September: every place is excluded
as ``dorm_liquidated`` (a dormitory-level rule: no rule after it was looked at). The register then corrects the date
to 16 October. The dormitory housed its students in September and was never paid for them: October's act tops each
place up (``registry_corrected_in_favour``, the rule it was excluded by, the month, the evidence). A place the rule
pass never got to check is checked now: a student whose address is in the dormitory's region today (the contract
excludes local residents) or a bed not in the dormitory's list of beds is not topped up — a top-up pays only what
a first verification today would pay."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select

from app.acts.models import ActAdjustment
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.dormitories.models import DormitoryBed, DormPlaceLine, StudentEnrolment
from app.dormitories.verification import dormitory_contexts
from app.extensions import db
from tests.dormitories.test_adjustments import OCTOBER, SEPTEMBER, _month
from tests.dormitories.test_liquidation import _liquidate
from tests.dormitories.test_rule_edges import _rate


def test_a_month_excluded_as_liquidated_is_topped_up_when_the_date_is_corrected_forward(dorm_year):
    _liquidate(dorm_year, SEPTEMBER)  # on September's first day: no day of it
    db.session.commit()
    september = _month(dorm_year, SEPTEMBER)
    assert september.status == "paid"
    assert {(ln.outcome, ln.rule_code) for ln in september.lines} == {("excluded", "dorm_liquidated")}
    rate = _rate(dorm_year)
    lines = sorted(september.lines, key=lambda ln: ln.line_no)
    local, unknown_bed = lines[0], lines[1]

    # The register corrects the date forward; meanwhile one student registered an address in the dormitory's
    # region, and one bed was struck off the dormitory's list of beds (neither was ever checked for September).
    _liquidate(dorm_year, date(2027, 10, 16))
    region = dormitory_contexts([september])[september.id].region_code
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == local.iin)):
        enrolment.home_region = region
    place = db.session.scalars(select(DormPlaceLine).where(DormPlaceLine.line_id == unknown_bed.id)).one()
    db.session.execute(delete(DormitoryBed).where(DormitoryBed.dormitory_bin == dorm_year["orgs"]["dorm_a"].bin,
                                                  DormitoryBed.room == place.room, DormitoryBed.bed == place.bed))
    db.session.commit()

    october = _month(dorm_year, OCTOBER, decide=False)
    adjustments = {a.iin: a for a in db.session.scalars(select(ActAdjustment)
                                                        .where(ActAdjustment.act_id == october.id))}
    assert set(adjustments) == {ln.iin for ln in lines[2:]}
    for line in lines[2:]:
        adj = adjustments[line.iin]
        assert (adj.rule_code, adj.period, adj.original_line_id) == (REGISTRY_CORRECTED_IN_FAVOUR, SEPTEMBER, line.id)
        assert (adj.original_amount_tiyn, adj.corrected_amount_tiyn, adj.amount_tiyn) == (0, rate, rate)
        assert adj.evidence["excluded_as"] == "dorm_liquidated"
        assert adj.evidence["liquidated_on"] == "2027-10-16"
    assert october.adjustment_tiyn == rate * (len(lines) - 2)


def test_a_lifted_place_of_a_local_resident_or_an_unknown_bed_is_not_topped_up(dorm_year):
    """The repricing of a lifted exclusion (here ``dorm_liquidated``) names the rule that keeps it unpaid."""
    from app.dormitories.adjustments import unsettled_dormitory_corrections

    _liquidate(dorm_year, SEPTEMBER)
    db.session.commit()
    september = _month(dorm_year, SEPTEMBER)
    lines = sorted(september.lines, key=lambda ln: ln.line_no)
    local, unknown_bed = lines[0], lines[1]
    _liquidate(dorm_year, None)  # the record corrected: not liquidated at all
    record_status(dorm_year, "active")
    region = dormitory_contexts([september])[september.id].region_code
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == local.iin)):
        enrolment.home_region = region
    place = db.session.scalars(select(DormPlaceLine).where(DormPlaceLine.line_id == unknown_bed.id)).one()
    db.session.execute(delete(DormitoryBed).where(DormitoryBed.dormitory_bin == dorm_year["orgs"]["dorm_a"].bin,
                                                  DormitoryBed.room == place.room, DormitoryBed.bed == place.bed))
    db.session.commit()
    owed = {u.line.iin: u for u in unsettled_dormitory_corrections(dorm_year["orgs"]["dorm_a"])}
    assert local.iin not in owed and unknown_bed.iin not in owed
    assert set(owed) == {ln.iin for ln in lines[2:]}
    assert {u.correction.rule_code for u in owed.values()} == {REGISTRY_CORRECTED_IN_FAVOUR}


def record_status(seeded, status: str) -> None:
    from app.registry.models import BusinessRecord

    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == seeded["orgs"]["dorm_a"].bin)).one()
    record.status = status
    db.session.flush()


def test_a_liquidation_whose_date_is_struck_off_tops_nothing_up(dorm_year):
    """The register says the dormitory is liquidated, its date no longer known (``dorm_business_inactive``: no date):
    that is no evidence that September was lived in — no top-up on evidence missing now, as for schools."""
    from app.dormitories.adjustments import unsettled_dormitory_corrections

    _liquidate(dorm_year, SEPTEMBER)
    db.session.commit()
    _month(dorm_year, SEPTEMBER)
    _liquidate(dorm_year, None)  # status stays "liquidated"
    db.session.commit()
    assert unsettled_dormitory_corrections(dorm_year["orgs"]["dorm_a"]) == []
