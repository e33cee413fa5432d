"""The synthetic country is deterministic and every injected anomaly is caught by its rule."""

from __future__ import annotations

import csv
from datetime import date

from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.acts.rules import SCHOOL_LEVEL_RULES, age_plausible
from app.extensions import db
from app.registry.identifiers import iin_birth_date, is_valid_iin
from app.registry.models import NedbEnrollment
from app.registry.synthetic import CountrySpec, IinFactory, generate_country, read_truth, read_truth_lines
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
                      "level_not_covered", "over_capacity", "no_business_record", "no_licence"}
    assert set(truth.values()) == expected_rules, "an anomaly of every kind is injected"
    found = _verify_all()
    assert found == truth  # 100% precision and recall, with the right rule on every line
    assert db.session.scalar(select(func.count(Act.id)).where(Act.status == "verified")) == 24

    # Every line: the review checks that must flag it and the amount it must be paid (money error 0).
    expected = read_truth_lines(tmp_path / "truth.csv")
    got = {(n, no): (codes or "", amount) for n, no, codes, amount in db.session.execute(
        select(Act.number, ActLine.line_no, ActLine.review_codes, ActLine.amount_tiyn)
        .join(Act, Act.id == ActLine.act_id))}
    want = {key: (",".join(c for c in ("name", "age", "days") if c in e.review), e.amount_tiyn)
            for key, e in expected.items()}
    assert got == want
    injected = {e.injected for e in expected.values()}
    assert {"near_miss:transfer_mid", "near_miss:one_digit_away", "near_miss:name_variant", "near_miss:mid_month",
            "near_miss:transfer_before", "near_miss:withdrawn_after", "near_miss:leading_zero",
            "duplicate_line+grade_mismatch", "withdrawn+duplicate_line", "review:name", "review:age",
            "review:days"} <= injected
    # A near-miss is never flagged for what it is (only its school's rules may exclude it).
    school_driven = {*SCHOOL_LEVEL_RULES, "over_capacity", "level_not_covered", "licence_expired"}
    near = [e for e in expected.values() if e.injected.startswith("near_miss")]
    assert not [e for e in near if e.review or (e.rule and e.rule not in school_driven)]
    assert sum(1 for e in near if e.rule is None) > 50
    assert sum(a for _, a in got.values()) == stats.expected_amount_tiyn


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


def test_iin_factory_gives_distinct_valid_iins_whose_birth_date_fits_the_grade():
    make = IinFactory(2026)
    iins = [make(k) for k in range(0, 60000, 3)]
    assert len(set(iins)) == len(iins) and all(is_valid_iin(x) for x in iins)
    for x in iins[:2000]:
        born = iin_birth_date(x)
        assert born.year >= 2000 and x[6] in "56"  # century/sex digit of a child born 2000–2099
        assert age_plausible(born, make.grade(x), 2026)
    assert {make.grade(x) for x in iins[:200]} == set(range(1, 12))  # consecutive students, every grade
