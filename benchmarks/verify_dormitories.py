"""Verify a country-sized month of dormitory acts; print time, throughput and accuracy against the ground truth.

    .venv/bin/python benchmarks/verify_dormitories.py                        # ~60,000 beds, SQLite
    .venv/bin/python benchmarks/verify_dormitories.py --beds 6000 --pg-url postgresql://postgres@127.0.0.1/db

Dataset: ``build_dormitory`` (app/dormitories/synthetic.py) for ``--beds / --places`` dormitories across the
20 regions, each with its beds, commissioning and ownership documents, contracted places (the rate from
``bpmn/dorm_place_rates.dmn`` through the ``dorm_contract`` process) and full-time students from other regions
in the student registry; every ``--anomalous``-th dormitory carries one line of every anomaly (not in the
registry, wrong institution, withdrawn, part-time, local resident, unknown bed, shared bed, placed in two
dormitories — on both acts — over the contracted places, listed twice) with the rule that must exclude it. One
month (2027-10) of submitted acts is verified in one pass (``verify_acts_of_instruments``, as the month-wide
job does). Figures: wall time, lines per second, precision and recall per rule (a hit needs the right rule on the
right line), and the ratio to the *reference scan*: one plain SQL join of every line to its student's enrolment
at the named institution, the core lookup. Both are the median of ``--samples`` samples taken alternately in the
same run after one warm-up of each (same cache state); a verification sample is the whole pass (claim, rules,
write-back, flush), rolled back so the next sample does the same work, and a last pass is committed and checked.
Built fresh in a temporary SQLite file (or an emptied PostgreSQL database) every run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PERIOD = date(2027, 10, 1)
YEAR_START = date(2027, 9, 1)
REFERENCE_SQL = ("SELECT COUNT(*) FROM act_line l JOIN dorm_place_line p ON p.line_id = l.id "
                 "JOIN student_enrolment e ON e.iin = l.iin AND e.institution_bin = p.institution_bin "
                 "WHERE l.period = :period")


def build(args):

    from app import clock
    from app.acts.operations import submit_act
    from app.contracts.operations import open_contract_act
    from app.demo.regions import REGIONS
    from app.demo.seed import make_bin
    from app.dormitories.operations import place_dormitory_contract
    from app.dormitories.synthetic import build_dormitory
    from app.engine.publishing import publish_directory
    from app.extensions import db
    from app.people.models import Organisation, Region, User

    rng = random.Random(args.seed)
    clock.set_clock(clock.FrozenClock(datetime(2027, 11, 3, 5, 0, tzinfo=UTC)))
    regions = [Region(code=c, name_kk=kk, name_ru=ru, name_en=en) for c, kk, ru, en in REGIONS]
    db.session.add_all(regions)
    db.session.flush()
    db.session.add_all(Organisation(kind="department", bin=make_bin(rng, date(2005, 1 + i % 12, 1)),
                                    name=f"Department {r.code}", region_id=r.id) for i, r in enumerate(regions))
    accountant = User(username="bench", full_name="Bench", role="dormitory_accountant",
                      password_hash="-")  # noqa: S106 - no login: a throw-away benchmark user
    db.session.add(accountant)
    publish_directory(ROOT / "bpmn", ROOT / "forms")
    institutions = [make_bin(rng, date(1995, 1 + i % 12, 1)) for i in range(60)]
    codes = sorted(r.code for r in regions)
    worlds, truth = [], {}
    count = max(1, args.beds // args.places)
    for i in range(count):
        anomalous = args.anomalous and i % args.anomalous == args.anomalous - 1
        org = Organisation(kind="dormitory", bin=make_bin(rng, date(2019, 1 + i % 12, 1)), name=f"Dormitory {i}",
                           region_id=regions[i % len(regions)].id, design_capacity=args.places + 12)
        db.session.add(org)
        db.session.flush()
        world = build_dormitory(rng, org, places=args.places, beds=args.places + 12, institutions=institutions,
                                year_start=YEAR_START, home_regions=codes, anomalies=anomalous,
                                other=worlds[-1][0] if anomalous and worlds else None)
        contract = place_dormitory_contract(org, places=args.places, period_start=YEAR_START,
                                            period_end=date(2028, 6, 30))
        worlds.append((world, contract))
        if i % 50 == 49:
            db.session.commit()
    acts = []
    for world, contract in worlds:
        act = open_contract_act(contract, PERIOD)
        pairs = world.lines_for(PERIOD)
        submit_act(act, [line for line, _ in pairs], None, accountant)
        acts.append((act.id, pairs))
    db.session.commit()
    for act_id, pairs in acts:  # the truth as submitted (a twin's expectation may change after its act was built)
        truth[act_id] = pairs
    return truth


def run(args, url: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from app import create_app
    from app.acts.models import Act, ActLine
    from app.acts.operations import claim_for_verification, verify_acts_of_instruments
    from app.config import normalise_database_url
    from app.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="dorm-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "BACKGROUND_MODE": "none",
                      "AUDIT_KEY_FILE": str(tmp / "keys"), "AUDIT_ANCHOR_DIR": str(tmp / "anchors")},
                     instance_path=str(tmp / "instance"))
    with app.app_context():
        if not url.startswith("sqlite"):
            # Emptied by dropping its schema: a downgrade to base cannot pass 0013_dorm's while a previous run's
            # dormitories are in it. The database is the benchmark's own (``--pg-url``), never a shared one.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
        started = time.perf_counter()
        truth = build(args)
        built = time.perf_counter() - started
        if not url.startswith("sqlite"):  # fresh tables: the planner's statistics, as a running database has them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        ids = sorted(truth)
        lines = sum(len(p) for p in truth.values())
        # Same cache state for both: one warm-up of each, then the samples alternate (a reference scan, a whole
        # verification pass — claim, rules, write-back — rolled back so the next sample does the same work).
        def reference_scan() -> float:
            t = time.perf_counter()
            db.session.execute(text(REFERENCE_SQL), {"period": PERIOD}).scalar()
            return time.perf_counter() - t

        def verification(keep: bool) -> float:
            t = time.perf_counter()
            claimed = claim_for_verification(ids)
            acts = list(db.session.scalars(select(Act).where(Act.id.in_(claimed))))
            verify_acts_of_instruments(acts)
            db.session.flush()
            if keep:
                db.session.commit()
            elapsed = time.perf_counter() - t
            if not keep:
                db.session.rollback()
            return elapsed

        load_before = os.getloadavg()
        reference_scan()
        verification(keep=False)
        references, passes = [], []
        for _ in range(args.samples):
            references.append(reference_scan())
            passes.append(verification(keep=False))
        reference, elapsed = statistics.median(references), statistics.median(passes)
        committed = verification(keep=True)  # the pass whose results are checked against the ground truth
        load_after = os.getloadavg()
        found = {}
        for act_id, line_no, rule in db.session.execute(select(ActLine.act_id, ActLine.line_no, ActLine.rule_code)):
            found[(act_id, line_no)] = rule
        expected = {(act_id, n): rule for act_id, pairs in truth.items() for n, (_, rule) in enumerate(pairs, 1)}
        hits, wrong, missed = Counter(), Counter(), Counter()
        for key, rule in expected.items():
            got = found.get(key)
            if rule and got == rule:
                hits[rule] += 1
            elif rule:
                missed[rule] += 1
            if got and got != rule:
                wrong[got] += 1
        print(f"dataset: {len(ids)} dormitories, {lines} act lines (places {args.places}, every "
              f"{args.anomalous}th dormitory with every anomaly), built in {built:.1f} s")
        print(f"verification: {elapsed:.2f} s (median of {args.samples}; samples "
              f"{', '.join(f'{x:.2f}' for x in passes)}; the checked pass with its commit {committed:.2f} s), "
              f"{lines / elapsed:,.0f} lines/s")
        print(f"reference scan (plain join): {reference * 1000:.0f} ms (median of {args.samples}; samples "
              f"{', '.join(f'{x * 1000:.0f}' for x in references)} ms); ratio {elapsed / reference:.1f}×")
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {_cpu()}; "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {url.split('://')[0]}")
        for rule in sorted(set(hits) | set(missed) | set(wrong)):
            precision = hits[rule] / ((hits[rule] + wrong[rule]) or 1)
            recall = hits[rule] / ((hits[rule] + missed[rule]) or 1)
            print(f"  {rule:<24} {hits[rule]:>6} found  precision {precision:.1%}  recall {recall:.1%}")
        total_wrong, total_missed = sum(wrong.values()), sum(missed.values())
        print(f"all rules: {sum(hits.values())} found, {total_wrong} wrong, {total_missed} missed "
              f"({'100 % precision and recall' if not total_wrong and not total_missed else 'NOT exact'})")


def _cpu() -> str:
    try:
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
    except OSError:
        return "CPU unknown"
    return f"{len(names)} × {names[0]}" if names else "CPU unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beds", type=int, default=60_000, help="contracted places in the country")
    parser.add_argument("--places", type=int, default=100, help="contracted places per dormitory")
    parser.add_argument("--anomalous", type=int, default=5, help="every n-th dormitory carries every anomaly")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--samples", type=int, default=5, help="samples of each timing (the median is used)")
    parser.add_argument("--pg-url", default=None,
                        help="a PostgreSQL database of the benchmark's own instead of SQLite (emptied: its schema is "
                             "dropped)")
    args = parser.parse_args()
    url = args.pg_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='dorm-bench-')) / 'bench.sqlite'}"
    run(args, url)


if __name__ == "__main__":
    main()
