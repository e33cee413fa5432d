"""The synthetic country is deterministic and every injected anomaly is caught by its rule."""

from __future__ import annotations

import csv
from datetime import date

from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.extensions import db
from app.registry.identifiers import is_valid_iin
from app.registry.models import NedbEnrollment
from app.registry.synthetic import CountrySpec, IinFactory, generate_country, read_truth
from app.reports.operations import run_month_verification, start_month_verification

SPEC = dict(seed=7, nedb_students=6000, schools=24, private_students=2400, period=date(2026, 10, 1))


def _verify_all() -> dict[tuple[str, int], str]:
    run = start_month_verification(date(2026, 10, 1), actor=None, dispatch_job=False)
    db.session.commit()
    run = run_month_verification(run.id, chunk_acts=7)
    assert run.status == "done" and run.processed_acts == run.total_acts == SPEC["schools"]
    rows = db.session.execute(select(Act.number, ActLine.line_no, ActLine.rule_code)
                              .join(Act, Act.id == ActLine.act_id).where(ActLine.outcome == "excluded"))
    return {(n, no): rule for n, no, rule in rows}


def test_generated_country_is_caught_with_full_precision_and_recall(app_ctx, tmp_path):
    stats = generate_country(CountrySpec(**SPEC), tmp_path / "truth.csv")
    assert stats.schools == 24 and stats.nedb_rows >= 6000
    truth = read_truth(tmp_path / "truth.csv")
    expected_rules = {"iin_checksum", "duplicate_line", "not_in_nedb", "withdrawn", "other_school", "not_registered",
                      "double_enrolment", "grade_mismatch", "non_education_org", "licence_expired",
                      "level_not_covered", "over_capacity"}
    assert set(truth.values()) == expected_rules, "an anomaly of every kind is injected"
    found = _verify_all()
    assert found == truth  # 100% precision and recall, with the right rule on every line
    assert db.session.scalar(select(func.count(Act.id)).where(Act.status == "verified")) == 24


def test_same_seed_same_country(app_ctx, tmp_path):
    generate_country(CountrySpec(**{**SPEC, "nedb_students": 800, "private_students": 300, "schools": 6}),
                     tmp_path / "a.csv")
    first = db.session.execute(select(NedbEnrollment.iin, NedbEnrollment.school_bin, NedbEnrollment.grade)
                               .order_by(NedbEnrollment.id)).all()
    with open(tmp_path / "a.csv") as fh:
        truth_a = list(csv.reader(fh))
    db.session.execute(ActLine.__table__.delete())
    db.session.execute(Act.__table__.delete())
    db.session.commit()
    from tests.conftest import _empty_all_tables

    _empty_all_tables()
    generate_country(CountrySpec(**{**SPEC, "nedb_students": 800, "private_students": 300, "schools": 6}),
                     tmp_path / "b.csv")
    second = db.session.execute(select(NedbEnrollment.iin, NedbEnrollment.school_bin, NedbEnrollment.grade)
                                .order_by(NedbEnrollment.id)).all()
    with open(tmp_path / "b.csv") as fh:
        assert list(csv.reader(fh)) == truth_a
    assert first == second


def test_iin_factory_gives_distinct_valid_iins():
    make = IinFactory()
    iins = [make(k) for k in range(0, 60000, 3)]
    assert len(set(iins)) == len(iins) and all(is_valid_iin(x) for x in iins)
