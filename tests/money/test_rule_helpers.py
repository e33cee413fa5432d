"""The small rules every act line is priced and checked by: which level a grade is paid at, which grades a
contract's levels cover, how old a student is, whether that age fits the grade, and when two names are one."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from app.acts.rules import age_on, age_plausible, grades_for_levels, level_for_grade, normalise_name


@pytest.mark.parametrize(("grade", "level"), [
    (1, "primary"), (4, "primary"), (5, "basic"), (9, "basic"), (10, "secondary"), (11, "secondary"),
])
def test_a_grade_is_paid_at_its_level_up_to_the_last_grade_of_each(grade, level):
    assert level_for_grade(grade) == level


def test_a_contracts_levels_cover_exactly_their_grades():
    assert grades_for_levels(["primary"]) == frozenset({1, 2, 3, 4})
    assert grades_for_levels(["basic"]) == frozenset({5, 6, 7, 8, 9})
    assert grades_for_levels(["secondary"]) == frozenset({10, 11})
    assert grades_for_levels(["primary", "secondary"]) == frozenset({1, 2, 3, 4, 10, 11})
    assert grades_for_levels(["primary", "basic", "secondary"]) == frozenset(range(1, 12))


def test_an_unknown_level_covers_no_grade_and_does_not_hide_the_known_ones():
    assert grades_for_levels([]) == frozenset()
    assert grades_for_levels(["preschool"]) == frozenset()
    assert grades_for_levels(["preschool", "basic"]) == frozenset({5, 6, 7, 8, 9})


@pytest.mark.parametrize(("born", "day", "age"), [
    (date(2015, 9, 1), date(2026, 9, 1), 11),    # birthday on the day: a year older that day
    (date(2015, 9, 2), date(2026, 9, 1), 10),    # birthday the day after
    (date(2015, 8, 31), date(2026, 9, 1), 11),   # birthday the day before
    (date(2015, 10, 1), date(2026, 9, 1), 10),   # later month, earlier day
    (date(2015, 3, 15), date(2026, 9, 1), 11),   # earlier month, later day
    (date(2026, 9, 1), date(2026, 9, 1), 0),
])
def test_age_counts_whole_years_and_the_birthday_itself(born, day, age):
    assert age_on(born, day) == age


def test_an_age_for_the_grade_is_plausible_from_one_year_early_to_two_years_late():
    # A first-grader is normally 6 on 1 September; 5 (early) to 8 (late start, a repeated year) is plausible.
    year = 2026
    on_first_september = {age: date(year - age, 9, 1) for age in range(3, 11)}
    plausible = {age for age, born in on_first_september.items() if age_plausible(born, 1, year)}
    assert plausible == {5, 6, 7, 8}
    # The bounds move with the grade: grade 10 takes 14 to 17.
    plausible = {age for age in range(10, 21) if age_plausible(date(year - age, 9, 1), 10, year)}
    assert plausible == {14, 15, 16, 17}


def test_the_age_is_taken_on_the_first_of_september_of_the_academic_year():
    # Turns 5 on 2 September 2026: still 4 on 1 September, too young for grade 1 that year, plausible the next.
    born = date(2021, 9, 2)
    assert age_plausible(born, 1, 2026) is False
    assert age_plausible(born, 1, 2027) is True
    # Turns 9 on 1 September 2026: 9 that day, too old for grade 1.
    assert age_plausible(date(2017, 9, 1), 1, 2026) is False
    assert age_plausible(date(2017, 9, 2), 1, 2026) is True


def test_without_a_birth_date_the_age_is_never_plausible():
    assert age_plausible(None, 1, 2026) is False


def test_names_that_differ_only_by_case_spacing_and_letter_variants_are_one_name():
    assert normalise_name("  Әлібек   Нұрлан-Қайратұлы ") == "алибек нурлан каиратулы"
    assert normalise_name("ӘЛІБЕК") == normalise_name("әлібек") == normalise_name("алибек")
    # Latin letters typed on the wrong layout.
    assert normalise_name("Ceмeнoв") == normalise_name("Семенов") == "семенов"
    assert normalise_name("Пётр.Иванович") == "петр иванович"
    assert normalise_name("Ғани\tҢұрөһ\nҮйі") == "гани нуроx уии".replace("x", "х")
    # A double surname joined by any dash a word processor puts there (en dash, non-breaking hyphen, minus sign).
    for dash in "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212":
        assert normalise_name(f"Иванова{dash}Петрова") == "иванова петрова", hex(ord(dash))


def test_a_name_in_decomposed_unicode_is_the_same_name():
    decomposed = unicodedata.normalize("NFD", "Йошкин")  # Й as И + combining breve
    assert decomposed != "Йошкин"
    assert normalise_name(decomposed) == normalise_name("Йошкин") == "иошкин"


def test_a_missing_name_is_empty_and_different_names_stay_different():
    assert normalise_name(None) == ""
    assert normalise_name("") == ""
    assert normalise_name("   ") == ""
    assert normalise_name("Асан") != normalise_name("Үсен")


def _iin_for(born: date, female: bool = False) -> str:
    """An IIN's first seven digits carry the birth date and its century; the rest does not matter here."""
    century = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100] + int(female)
    return f"{born:%y%m%d}{century}00000"


def test_the_passs_sql_age_check_is_the_rule_itself(app_ctx):
    """The set-based pass checks age against grade in SQL (one integer comparison per line); on the test
    database's own engine it must answer exactly as ``age_plausible`` for every grade, on both sides of each
    boundary (born on 1 and 2 September, 31 August), in every century an IIN can name, and an unknown
    century digit is never plausible, nor is a date no calendar has (30 February, 29 February of a common year,
    month 13, day 0): NEDB's importer checks only the check digit, so such an IIN reaches the pass, and it
    carries no birth date."""
    from sqlalchemy import text

    from app.acts.verification import _age_bounds, _age_implausible_sql
    from app.extensions import db

    year = 2026
    lo, hi = _age_bounds(year)
    check = text("SELECT " + _age_implausible_sql("CAST(:iin AS VARCHAR(12))", "CAST(:grade AS INTEGER)",
                                                  "CAST(:lo AS INTEGER)", "CAST(:hi AS INTEGER)"))
    cases = []
    for grade in range(0, 12):
        for age in range(grade + 2, grade + 10):
            for month, day in ((8, 31), (9, 1), (9, 2), (1, 1), (12, 31)):
                cases.append((_iin_for(date(year - age, month, day), female=age % 2 == 0), grade))
    cases += [(_iin_for(date(1899, 9, 1)), 3), (_iin_for(date(1999, 9, 1)), 11)]
    for iin, grade in cases:
        implausible = bool(db.session.execute(check, {"iin": iin, "grade": grade, "lo": lo, "hi": hi}).scalar())
        born = date((1800 if iin[6] in "12" else 1900 if iin[6] in "34" else 2000) + int(iin[:2]),
                    int(iin[2:4]), int(iin[4:6]))
        assert implausible is not age_plausible(born, grade, year), (iin, grade)
    plausible_date = _iin_for(date(year - 10, 3, 1))
    assert age_plausible(date(year - 10, 3, 1), 4, year)
    for unknown_century in "0789":
        iin = plausible_date[:6] + unknown_century + plausible_date[7:]
        assert db.session.execute(check, {"iin": iin, "grade": 4, "lo": lo, "hi": hi}).scalar(), unknown_century
    assert sum(not age_plausible(date(year - a, 9, 1), 4, year) for a in range(6, 14)) == 4, "both outcomes seen"
    from app.registry.identifiers import iin_birth_date

    for yymmdd, century, real in (("160230", "5", False), ("150229", "5", False), ("160229", "5", True),
                                  ("000229", "5", True), ("000229", "3", False), ("000229", "1", False),
                                  ("161301", "5", False), ("160001", "5", False), ("160100", "5", False),
                                  ("160931", "5", False), ("161031", "5", True), ("160430", "5", True)):
        iin = yymmdd + century + "00000"  # the check digit plays no part in the age
        assert (iin_birth_date(iin) is not None) is real, yymmdd
        implausible = db.session.execute(check, {"iin": iin, "grade": 4, "lo": lo, "hi": hi}).scalar()
        # 4th grade is plausible for a child born in 2016 (10 on 1 September 2026): only the calendar decides
        assert bool(implausible) is not age_plausible(iin_birth_date(iin), 4, year), (yymmdd, century)
