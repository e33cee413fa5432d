"""Issue 11 §2: the rules that close the leaks — each on a hand-made case that fails if the rule is undone."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import ActLineReview
from app.acts.review import decide_line, ensure_reviews_resolved, undecided_count
from app.acts.verification import verify_act, verify_acts
from app.audit.models import AuditEvent
from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.models import Organisation
from tests.registry.conftest import NORMS, iin
from tests.registry.test_pages import _user
from tests.registry.test_rules import outcomes

BASIC = NORMS["basic"]


def amounts(act) -> list[int]:
    db.session.expire_all()
    return [ln.amount_tiyn for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


def codes(act) -> list[str | None]:
    db.session.expire_all()
    return [ln.review_codes for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


# --- no record, no payment ----------------------------------------------------------------------------


def test_a_school_missing_from_the_business_register_or_the_licence_registry_is_not_paid(country):
    no_business, no_licence, both = (country.school(n, registered=False) for n in ("NoBiz", "NoLic", "Both"))
    country.licence(no_business)
    country.business(no_licence)
    country.business(both)
    country.licence(both)
    acts = []
    for n, school in enumerate((no_business, no_licence, both), start=1):
        country.enrol(iin(n), school.bin)
        acts.append(country.act(school, [(iin(n), 5)]))
    verify_acts(acts)
    assert [outcomes(a) for a in acts] == [[("excluded", "no_business_record")], [("excluded", "no_licence")],
                                           [("accepted", None)]]
    assert [a.amount_tiyn for a in acts] == [0, 0, BASIC]


def test_a_licence_covering_another_level_only_does_not_pay_this_level(country):
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, levels="primary")
    country.enrol(iin(1), school.bin, grade=2)
    country.enrol(iin(2), school.bin, grade=7)
    act = country.act(school, [(iin(1), 2), (iin(2), 7)])
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, "level_not_covered"]


@pytest.mark.parametrize("valid_from, valid_until, days", [
    (date(2026, 10, 11), None, 21),  # issued on the 11th: 21 days of October
    (date(2020, 1, 1), date(2026, 10, 20), 20),  # expired after the 20th
    (date(2026, 10, 5), date(2026, 10, 9), 5),
    (date(2020, 1, 1), date(2026, 10, 31), 31),
])
def test_a_licence_starting_or_ending_inside_the_month_pays_only_the_days_it_covers(country, valid_from,
                                                                                   valid_until, days):
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_from=valid_from, valid_until=valid_until)
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 25))  # 7 days of October
    act = country.act(school, [(iin(1), 5, 5), (iin(2), 5, 5)])
    verify_act(act)
    late_days = len(set(range(25, 32)) & set(range(valid_from.day if valid_from.month == 10 else 1,
                                                   (valid_until.day if valid_until else 31) + 1)))
    expected = [BASIC * days // 31 if days < 31 else BASIC, BASIC * late_days // 31]
    assert amounts(act)[0] == expected[0]
    if late_days:
        assert amounts(act)[1] == expected[1]
    else:  # enrolled only on days without a licence
        assert outcomes(act)[1] == ("excluded", "licence_expired")


# --- pay by days --------------------------------------------------------------------------------------


def test_every_act_is_paid_by_nedb_days_mid_month_enrolment_and_withdrawal(country):
    school = country.school()
    country.enrol(iin(1), school.bin, enrolled=date(2026, 10, 16))  # 16 days
    country.enrol(iin(2), school.bin, withdrawn=date(2026, 10, 21))  # 20 days
    country.enrol(iin(3), school.bin, withdrawn=date(2026, 10, 8))  # re-enrolled: 7 + 12 days
    country.enrol(iin(3), school.bin, enrolled=date(2026, 10, 20))
    act = country.act(school, [(iin(1), 5, 12), (iin(2), 5, 15), (iin(3), 5, 15)])
    summary = verify_act(act)
    assert amounts(act) == [BASIC * 16 // 31, BASIC * 20 // 31, BASIC * 19 // 31]
    assert summary.amount_tiyn == sum(amounts(act)) and summary.withheld_tiyn == 3 * BASIC - summary.amount_tiyn
    assert [ln.paid_days for ln in sorted(act.lines, key=lambda ln: ln.line_no)] == [16, 20, 19]


def test_overlapping_nedb_rows_at_one_school_pay_each_day_once(country):
    """A corrected enrolment date arrives as a new row beside the old one (the import's key holds the date):
    the days both rows cover are one school day, paid once — and the claim is compared with those days."""
    school = country.school()
    country.enrol(iin(1), school.bin, withdrawn=date(2026, 10, 16))  # 1–15 October
    country.enrol(iin(1), school.bin, enrolled=date(2026, 10, 10), withdrawn=date(2026, 10, 16))  # inside it
    country.enrol(iin(2), school.bin)  # the whole month, twice
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 10))
    country.enrol(iin(3), school.bin, withdrawn=date(2026, 10, 12))  # 1–11 and 6–20: 20 days
    country.enrol(iin(3), school.bin, enrolled=date(2026, 10, 6), withdrawn=date(2026, 10, 21))
    act = country.act(school, [(iin(1), 5, 20), (iin(2), 5, 31), (iin(3), 5, 20)])
    verify_act(act)
    db.session.expire_all()
    assert [ln.paid_days for ln in sorted(act.lines, key=lambda ln: ln.line_no)] == [15, 31, 20]
    assert amounts(act) == [BASIC * 15 // 31, BASIC, BASIC * 20 // 31]
    assert codes(act) == ["days", None, None]


def test_an_enrolment_withdrawn_on_its_own_first_day_counts_nowhere(country):
    """NEDB keeps rows enrolled and withdrawn on one day: no day of school, so no claim of another school, and no
    enrolment here either."""
    school, other = country.school("Here"), country.school("There")
    country.enrol(iin(1), school.bin)
    country.enrol(iin(1), other.bin, enrolled=date(2026, 10, 10), withdrawn=date(2026, 10, 10))
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 10), withdrawn=date(2026, 10, 10))
    country.enrol(iin(3), country.state_bin(), kind="state", enrolled=date(2026, 10, 12),
                  withdrawn=date(2026, 10, 12))
    country.enrol(iin(3), school.bin)
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5)])
    verify_act(act)
    assert outcomes(act) == [("accepted", None), ("excluded", "not_registered"), ("accepted", None)]
    assert amounts(act) == [BASIC, 0, BASIC]
    there = country.act(other, [(iin(1), 5)])
    verify_act(there)
    assert outcomes(there) == [("excluded", "other_school")]  # the other school has the student all month


def test_days_attended_above_the_nedb_enrolment_needs_review_and_never_raises_the_amount(country):
    school = country.school()
    country.enrol(iin(1), school.bin, enrolled=date(2026, 10, 22))  # 10 days enrolled
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 22))
    act = country.act(school, [(iin(1), 5, 22), (iin(2), 5, 8)])
    verify_act(act)
    assert codes(act) == ["days", None]
    assert amounts(act) == [BASIC * 10 // 31] * 2


# --- duplicates, capacity: precedence the school cannot steer -------------------------------------------


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_duplicate_keeps_the_copy_that_matches_nedb_whatever_its_place(country, order):
    school = country.school()
    country.enrol(iin(1), school.bin, grade=5)
    copies = [(iin(1), 9), (iin(1), 5)]  # the first copy claims the wrong grade
    act = country.act(school, [copies[i] for i in order])
    verify_act(act)
    by_grade = {ln.grade: (ln.outcome, ln.rule_code) for ln in act.lines}
    assert by_grade == {5: ("accepted", None), 9: ("excluded", "duplicate_line")}
    assert act.amount_tiyn == BASIC


def test_over_capacity_excludes_the_most_recent_nedb_enrolments_whatever_the_line_order(country):
    school = country.school(capacity=2)
    country.enrol(iin(1), school.bin, enrolled=date(2024, 9, 1))
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 1))  # the most recent
    country.enrol(iin(3), school.bin, enrolled=date(2025, 9, 1))
    results = []
    for lines in ([(iin(2), 5), (iin(1), 5), (iin(3), 5)], [(iin(3), 5), (iin(1), 5), (iin(2), 5)]):
        act = country.act(school, lines, period=date(2026, 10, 1) if not results else date(2026, 11, 1))
        verify_act(act)
        results.append({ln.iin: ln.rule_code for ln in act.lines})
    assert results[0] == results[1] == {iin(1): None, iin(3): None, iin(2): "over_capacity"}


def test_one_pass_over_several_crowded_acts_excludes_the_extra_places_in_each(country):
    """A month-wide pass that meets two acts over their places excludes the most recent enrolments in both —
    not only in the last act it looked at (the first act would then be paid for a child over its places)."""
    schools = [country.school(name="Crowded A", capacity=1), country.school(name="Crowded B", capacity=1)]
    acts = []
    for k, school in enumerate(schools):
        first, recent = iin(10 + 2 * k), iin(11 + 2 * k)
        country.enrol(first, school.bin, enrolled=date(2024, 9, 1))
        country.enrol(recent, school.bin, enrolled=date(2026, 10, 1))
        acts.append(country.act(school, [(recent, 5), (first, 5)]))
    summaries = verify_acts(acts)
    db.session.expire_all()
    assert [{ln.iin: ln.rule_code for ln in act.lines} for act in acts] == [
        {iin(10): None, iin(11): "over_capacity"}, {iin(12): None, iin(13): "over_capacity"}]
    assert [(summaries[a.id].accepted, summaries[a.id].excluded) for a in acts] == [(1, 1), (1, 1)]
    assert [sorted(amounts(a)) for a in acts] == [[0, BASIC], [0, BASIC]]


def test_a_place_freed_by_a_mid_month_withdrawal_pays_the_pupil_who_came_after_it(country):
    """Places are counted on the days they are held, as a dormitory's beds are: a school of two places whose
    pupil left on the 10th and whose newcomer came on the 15th never had three pupils on one day — counting
    lines, the newcomer (the most recent enrolment) was refused a free place. A pupil whose days meet two
    pupils present (the 8th and 9th) is still refused, whatever the line order and whether the pass runs per
    act or month-wide."""
    results = []
    for k, (run, order) in enumerate([(verify_act, (0, 1, 2, 3)), (verify_acts, (3, 2, 1, 0))]):
        school = country.school(name=f"Two places {k}", capacity=2)
        pupils = [iin(20 + 4 * k + n) for n in range(4)]
        country.enrol(pupils[0], school.bin, enrolled=date(2024, 9, 1))
        country.enrol(pupils[1], school.bin, enrolled=date(2025, 9, 1), withdrawn=date(2026, 10, 10))  # 1–9 Oct
        country.enrol(pupils[2], school.bin, enrolled=date(2026, 10, 15))  # 15–31: the place pupils[1] gave up
        country.enrol(pupils[3], school.bin, enrolled=date(2026, 10, 8))  # 8–31: both places held on the 8th, 9th
        act = country.act(school, [(pupils[i], 5) for i in order])
        run(act) if run is verify_act else run([act])
        db.session.expire_all()
        by_pupil = {ln.iin: (ln.rule_code, ln.amount_tiyn) for ln in act.lines}
        results.append([by_pupil[p] for p in pupils])
    assert results[0] == results[1] == [(None, BASIC), (None, BASIC * 9 // 31), (None, BASIC * 17 // 31),
                                        ("over_capacity", 0)]


# --- identity: needs review -------------------------------------------------------------------------------


def test_name_variants_pass_and_a_different_name_or_implausible_age_needs_review(country):
    school = country.school()
    for n in range(1, 5):
        country.enrol(iin(n), school.bin, grade=5)
    from app.registry.models import NedbEnrollment

    names = {iin(1): "Әлібекова Меруерт", iin(2): "Ахметов Нурлан", iin(3): "Ахметов Нурлан"}
    for row in db.session.scalars(select(NedbEnrollment)):
        row.full_name = names.get(row.iin, row.full_name)
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5)])
    lines = sorted(act.lines, key=lambda ln: ln.line_no)
    lines[0].full_name = "  АЛИБЕКОВА   меруерт"  # case, spaces, Kazakh letters: the same name
    lines[1].full_name = "AXMETOB Нұрлан"  # Latin look-alikes typed on the wrong layout: the same name
    lines[2].full_name = "Омаров Тимур"  # another child's name
    db.session.flush()
    verify_act(act)
    assert codes(act)[:3] == [None, None, "name"]
    flagged = next(ln for ln in act.lines if ln.line_no == 3)
    assert flagged.registry_name == "Ахметов Нурлан" and flagged.outcome == "accepted"
    assert act.amount_tiyn == 4 * BASIC  # nothing withheld automatically


def test_age_against_grade_uses_the_birth_date_in_the_iin(country):
    school = country.school()
    # tests.registry.conftest.iin: born January 2015 → 11 years old on 1 September 2026.
    for n, grade in ((1, 5), (2, 7), (3, 1), (4, 11)):
        country.enrol(iin(n), school.bin, grade=grade)
    act = country.act(school, [(iin(1), 5), (iin(2), 7), (iin(3), 1), (iin(4), 11)])
    verify_act(act)
    assert codes(act) == [None, None, "age", "age"]


@pytest.fixture()
def flagged_act(country):
    school = country.school()
    country.enrol(iin(1), school.bin, grade=5)
    country.enrol(iin(2), school.bin, grade=1)  # 11 years old in grade 1
    country.enrol(iin(3), school.bin, grade=11)  # 11 years old in grade 11
    act = country.act(school, [(iin(1), 5), (iin(2), 1), (iin(3), 11)])
    verify_act(act)
    act.status = "verified"
    dept = Organisation(kind="department", bin="950440001673", name="Dept", region_id=school.region_id)
    db.session.add(dept)
    db.session.flush()
    return act, _user("off", "department_official", dept)


def test_the_act_cannot_be_accepted_until_each_flagged_line_is_decided_and_each_decision_is_audited(flagged_act):
    act, official = flagged_act
    lines = {ln.line_no: ln for ln in act.lines}
    assert undecided_count(act) == 2
    with pytest.raises(DomainRefused):
        ensure_reviews_resolved(act)
    with pytest.raises(DomainRefused):  # an exclusion says why
        decide_line(act, lines[2].id, "exclude", "", official)
    with pytest.raises(DomainRefused):  # a line without a check cannot be "reviewed"
        decide_line(act, lines[1].id, "confirm", None, official)
    decide_line(act, lines[2].id, "confirm", None, official)
    with pytest.raises(DomainRefused):
        ensure_reviews_resolved(act)
    decide_line(act, lines[3].id, "exclude", "NEDB has a different child", official)
    ensure_reviews_resolved(act)
    assert outcomes(act) == [("accepted", None), ("accepted", None), ("excluded", "review_excluded")]
    assert act.amount_tiyn == BASIC + NORMS["primary"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.line_reviewed")
                                .order_by(AuditEvent.id)).all()
    assert [(e.details["line_no"], e.details["decision"]) for e in events] == [(2, "confirm"), (3, "exclude")]


def test_a_month_wide_pass_keeps_the_officials_exclusion_and_decided_lines_stay_decided(flagged_act):
    act, official = flagged_act
    lines = {ln.line_no: ln for ln in act.lines}
    decide_line(act, lines[2].id, "confirm", None, official)
    decide_line(act, lines[3].id, "exclude", "not this child", official)
    verify_acts([act], run_act_ids=[act.id])
    assert outcomes(act)[2] == ("excluded", "review_excluded")
    assert undecided_count(act) == 0
    assert db.session.scalars(select(ActLineReview)).all()


def test_a_name_flagged_line_excluded_after_review_keeps_nedbs_name_as_the_evidence(country):
    """The review table shows the registry's name next to the line's; excluding the line (verified again by the
    decision) used to drop it, leaving "—" where the reason for the exclusion had been."""
    from app.registry.models import NedbEnrollment

    school = country.school()
    country.enrol(iin(1), school.bin, grade=5)
    for row in db.session.scalars(select(NedbEnrollment)):
        row.full_name = "Ахметов Нурлан"
    act = country.act(school, [(iin(1), 5)])
    act.lines[0].full_name = "Омаров Тимур"
    db.session.flush()
    verify_act(act)
    act.status = "verified"
    dept = Organisation(kind="department", bin="950440001673", name="Dept", region_id=school.region_id)
    db.session.add(dept)
    db.session.flush()
    decide_line(act, act.lines[0].id, "exclude", "another child", _user("off", "department_official", dept))
    db.session.refresh(act.lines[0])
    line = act.lines[0]
    assert (line.outcome, line.rule_code, line.review_codes) == ("excluded", "review_excluded", None)
    assert line.registry_name == "Ахметов Нурлан"
    assert line.amount_tiyn == 0


def test_decisions_are_refused_once_the_act_is_decided(flagged_act):
    act, official = flagged_act
    act.status = "accepted"
    line = next(ln for ln in act.lines if ln.line_no == 2)
    with pytest.raises(DomainRefused):
        decide_line(act, line.id, "confirm", None, official)
    assert undecided_count(act) == 2


def test_an_integration_reads_the_lines_to_review_and_decides_them_through_the_api(flagged_act, app):
    """An act with lines to review could not be accepted through the API, which neither showed which lines nor let
    anyone decide them: an integration stopped at "Lines that need review: 2"."""
    from tests.conftest import Browser

    act, official = flagged_act
    db.session.commit()
    client = Browser(app, official.username)
    lines = {ln["line_no"]: ln for ln in client.get(f"/api/v1/acts/{act.id}").get_json()["lines"]}
    assert [lines[n]["review_codes"] for n in (1, 2, 3)] == [None, "age", "age"]
    url = f"/api/v1/acts/{act.id}/lines/{lines[3]['id']}/review"
    refused = client.post_json(url, {"decision": "exclude"})
    assert refused.status_code == 422 and "Say why" in refused.get_json()["message"]
    assert client.post_json(f"/api/v1/acts/{act.id}/lines/{lines[1]['id']}/review",
                            {"decision": "confirm"}).status_code == 422  # nothing to review on it
    decided = client.post_json(url, {"decision": "exclude", "comment": "NEDB has a different child"})
    assert decided.status_code == 200
    assert [ln["outcome"] for ln in decided.get_json()["lines"]] == ["accepted", "accepted", "excluded"]
    assert client.post_json(f"/api/v1/acts/{act.id}/lines/{lines[2]['id']}/review",
                            {"decision": "confirm"}).status_code == 200
    ensure_reviews_resolved(db.session.get(type(act), act.id))
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "act.line_reviewed")).all() == [
        "act.line_reviewed"] * 2
