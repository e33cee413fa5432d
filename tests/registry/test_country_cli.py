"""``flask generate-country --rate CLASS=SHARE``: per-class rates, and bad input refused with a message."""

from __future__ import annotations

import csv

from app.registry.synthetic import CountrySpec, all_rate_names


def test_rates_are_options_and_bad_ones_change_nothing(app, app_ctx, tmp_path):
    runner = app.test_cli_runner()
    base = ["generate-country", "--students", "600", "--schools", "4", "--private-students", "300", "--seed", "11"]
    bad = runner.invoke(args=[*base, "--truth", str(tmp_path / "bad.csv"), "--rate", "nonsense=0.1"])
    assert bad.exit_code != 0 and "Unknown anomaly class" in bad.output and not (tmp_path / "bad.csv").exists()
    bad = runner.invoke(args=[*base, "--truth", str(tmp_path / "bad.csv"), "--rate", "withdrawn=lots"])
    assert bad.exit_code != 0 and "CLASS=SHARE" in bad.output
    ok = runner.invoke(args=[*base, "--truth", str(tmp_path / "t.csv"), "--rate", "withdrawn=0.05",
                             "--rate", "transfer_mid=0"])
    assert ok.exit_code == 0, ok.output
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as fh:
        injected = [r["injected"] for r in csv.DictReader(fh)]
    assert injected.count("withdrawn") == 15 and "near_miss:transfer_mid" not in injected


def test_every_class_has_a_settable_rate():
    spec = CountrySpec()
    for name in all_rate_names():
        spec.set_rate(name, 0.0)
    assert not any(spec.line_rates.values()) and not any(spec.near_miss_rates.values())


def test_a_database_with_decided_acts_is_refused_and_nothing_is_written(app_ctx, world, tmp_path):
    """Money-auditor probe: generate-country wrote hundreds of fictitious schools with accounts, licences and NEDB
    rows into whatever database it ran on — open-acts then opened acts for them."""
    from sqlalchemy import func, select

    from app.acts.models import Act
    from app.extensions import db
    from app.people.models import Organisation
    from tests.helpers import act_of_school

    act = act_of_school("Alatau Lyceum")
    act.status = "paid"
    db.session.commit()
    before = db.session.scalar(select(func.count(Organisation.id)))
    result = app_ctx.test_cli_runner().invoke(args=[
        "generate-country", "--students", "600", "--schools", "4", "--private-students", "300",
        "--truth", str(tmp_path / "truth.csv")])
    assert result.exit_code == 1 and "1 accepted or paid act(s)" in result.output, result.output
    assert db.session.scalar(select(func.count(Organisation.id))) == before
    assert not (tmp_path / "truth.csv").exists()
    assert db.session.scalar(select(func.count(Act.id)).where(Act.status == "paid")) == 1
