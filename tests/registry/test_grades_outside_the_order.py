"""NEDB keeps the pre-school class (grade 0) and grade 12 beside the grades the state order funds (1–11). Their rows are
facts about a child all the same: a pre-school class at a state school on the days a private school claims the child in
grade 1 is the child funded twice. The import refused them ("grade must be from 1 to 11"), so the state's row was never
seen and the private school was paid; now they are loaded, count as enrolments, and are never a line or a place."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

from app import clock
from app.acts.instrument import prefill_school_lines
from app.acts.verification import verify_act
from app.applications.handlers import nedb_counts
from app.extensions import db
from app.registry.importers import import_file
from tests.registry.conftest import NORMS, iin

COLUMNS = ["iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"]


def _import(tmp_path, rows: list[list]):
    path = tmp_path / "nedb.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    result = import_file("nedb", path)
    db.session.flush()
    return result


def test_a_state_pre_school_class_on_the_same_days_is_a_double_enrolment_and_grade_0_or_12_is_never_a_line(
        country, tmp_path):
    with clock.FrozenClock(datetime(2026, 11, 5, 9, tzinfo=UTC)):
        school = country.school()
        state = country.state_bin()
        twice, pre_school, twelfth, pupil = iin(1), iin(2), iin(3), iin(4)
        result = _import(tmp_path, [
            [twice, "Ахметов Алихан", school.bin, "private", 1, "2026-09-01", ""],
            [twice, "Ахметов Алихан", state, "state", 0, "2026-09-01", ""],  # the state's pre-school class
            [pre_school, "Серікова Дана", school.bin, "private", 0, "2026-09-01", ""],
            [twelfth, "Омаров Нұрлан", school.bin, "private", 12, "2026-09-01", ""],
            [pupil, "Жақсылықова Айгүл", school.bin, "private", 1, "2026-09-01", ""],
        ])
        act = country.act(school, [(twice, 1), (pupil, 1)])
        verify_act(act)
        db.session.expire_all()
        assert [(ln.rule_code, ln.amount_tiyn) for ln in act.lines] == [("double_enrolment", 0),
                                                                          (None, NORMS["primary"])]
        assert act.amount_tiyn == NORMS["primary"]
        assert (result.loaded, result.errors) == (5, [])

        # The school's own pre-school class and grade 12 are not prefilled (the act's form takes grades 1–11), nor
        # counted as the school's students by level in its application.
        empty = country.act(school, [], period=date(2026, 11, 1))
        assert sorted(line["iin"] for line in prefill_school_lines(empty)) == sorted([twice, pupil])
        assert nedb_counts(school.bin) == {"primary": 2, "basic": 0, "secondary": 0}


def test_grades_below_0_or_above_12_are_still_refused_row_by_row(country, tmp_path):
    with clock.FrozenClock(datetime(2026, 11, 5, 9, tzinfo=UTC)):
        school = country.school()
        result = _import(tmp_path, [[iin(1), "Ахметов Алихан", school.bin, "private", 13, "2026-09-01", ""],
                                    [iin(2), "Серікова Дана", school.bin, "private", -1, "2026-09-01", ""],
                                    [iin(3), "Омаров Нұрлан", school.bin, "private", 0, "2026-09-01", ""]])
        assert result.loaded == 1
        assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [(2, "grade", "invalid_grade"),
                                                                                (3, "grade", "invalid_grade")]
