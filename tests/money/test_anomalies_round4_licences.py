"""Guards: licence registry anomalies priced by hand (norm × days a licence covering the line's level covers ÷ 31 days
of October 2026): two licences of one level overlapping with different dates, a licence revoked and another issued
inside the month, a licence of other levels only, and levels changing mid-month. Right when written."""

from __future__ import annotations

from datetime import date

from tests.money.test_registry_anomalies import _per_act_and_month_wide
from tests.registry.conftest import NORMS, iin

P, B, S = NORMS["primary"], NORMS["basic"], NORMS["secondary"]


def _school(country, *licences):
    school = country.school(registered=False)
    country.business(school)
    for n, (valid_from, valid_until, levels) in enumerate(licences):
        country.licence(school, valid_from=valid_from, valid_until=valid_until, levels=levels,
                        number=f"L{n}-{school.bin}")
    return school


def test_two_overlapping_licences_of_a_level_pay_each_day_once(country):
    # the 1st–20th and the 10th onwards: every day of October, never a day twice
    school = _school(country, (date(2020, 1, 1), date(2026, 10, 20), "basic"), (date(2026, 10, 10), None, "basic"))
    pupil = iin(1)
    country.enrol(pupil, school.bin)
    act = country.act(school, [(pupil, 5)])
    assert _per_act_and_month_wide(act)[act.id] == [("accepted", None, 31, B)]


def test_a_licence_revoked_and_another_issued_within_the_month_pays_the_covered_days(country):
    # valid until the 9th, the new one from the 20th: the 1st–9th and the 20th–31st = 21 days
    school = _school(country, (date(2020, 1, 1), date(2026, 10, 9), "basic"), (date(2026, 10, 20), None, "basic"))
    pupil = iin(1)
    country.enrol(pupil, school.bin)
    act = country.act(school, [(pupil, 5)])
    assert _per_act_and_month_wide(act)[act.id] == [("accepted", None, 21, B * 21 // 31)]
    assert B * 21 // 31 == 2_865_483


def test_a_licence_of_other_levels_only_and_levels_changing_mid_month(country):
    # primary and basic until the 15th; primary and secondary from the 16th
    school = _school(country, (date(2020, 1, 1), date(2026, 10, 15), "primary,basic"),
                     (date(2026, 10, 16), None, "primary,secondary"))
    small, middle, senior = iin(1), iin(2), iin(3)
    country.enrol(small, school.bin, grade=3)
    country.enrol(middle, school.bin, grade=7)
    country.enrol(senior, school.bin, grade=10)
    act = country.act(school, [(small, 3), (middle, 7), (senior, 10)])
    assert _per_act_and_month_wide(act)[act.id] == [
        ("accepted", None, 31, P), ("accepted", None, 15, B * 15 // 31), ("accepted", None, 16, S * 16 // 31)]
    other = _school(country, (date(2020, 1, 1), None, "primary"))
    pupil = iin(4)
    country.enrol(pupil, other.bin, grade=6)
    act = country.act(other, [(pupil, 6)])
    assert _per_act_and_month_wide(act)[act.id] == [("excluded", "level_not_covered", None, 0)]
