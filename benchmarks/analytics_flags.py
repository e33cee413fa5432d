"""Analytics red flags for the operator (national scope) at country scale: what ``school_flags`` costs per view.

Data, bulk-inserted straight into the tables by SQL (no ORM, no workflow): 20 regions, --schools schools spread over
them, and for each school and each of --months months of the academic year 2026/2027 one paid act with its lines —
about --lines lines per act (±30 % by school), 4 % of them excluded, and one line in a hundred a student already on
the act (a dormitory's move to another room, a child listed twice). The acts' totals are then written from their
lines by one statement, as verification writes them (lines, accepted lines and, where the schema has them, the
distinct students claimed and paid for).

Measured, in the same run and cache state, each the median of --samples after one warm-up:

* ``school_flags("2026/2027", true())`` — the analytics page's school flags as the operator sees them (every act of
  the year; a fresh session per sample, so the acts are loaded as a page view loads them);
* the baseline: ``SELECT act_id, count(*) FROM act_line GROUP BY act_id`` over the same acts, through the driver —
  one plain grouped read of every line of the year, what counting anything per act from the lines at least costs.

    .venv/bin/python benchmarks/analytics_flags.py                 # 850 schools × 12 months × ~660 lines, SQLite
    .venv/bin/python benchmarks/analytics_flags.py --quick         # 85 schools (≈ 670,000 lines)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tapsyrys_bench .venv/bin/python benchmarks/analytics_flags.py

Budget: the page's flags should cost well under 0.5 s at country scale; figures are printed whether or not.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime

from _common import benchmark_database_url, cleanup, machine_description, make_app

YEAR = "2026/2027"
BUDGET_S = 0.5


def load(app, schools: int, months: int, lines: int) -> dict:
    from sqlalchemy import insert, text

    from app.acts.models import Act
    from app.demo.regions import REGIONS
    from app.extensions import db
    from app.people.models import Organisation, Region

    now = datetime.now(UTC)
    with app.app_context():
        regions = [Region(code=c, name_kk=kk, name_ru=ru, name_en=en) for c, kk, ru, en in REGIONS]
        db.session.add_all(regions)
        db.session.flush()
        orgs = [Organisation(kind="school", bin=f"1{i:011d}", name=f"Private school {i:03d}",
                             region_id=regions[i % len(regions)].id, design_capacity=lines * 2) for i in range(schools)]
        db.session.add_all(orgs)
        db.session.flush()
        periods = [date(2026 + (8 + m) // 12, (8 + m) % 12 + 1, 1) for m in range(months)]
        act_rows = []
        for period in periods:
            for n, school in enumerate(orgs):
                claimed = lines * 7 // 10 + (n * 7919) % (lines * 6 // 10 + 1)  # ±30 % by school, the same each month
                act_rows.append({"number": f"ACT-{school.bin}-{period:%Y%m}", "school_id": school.id,
                                 "region_id": school.region_id, "period": period, "status": "paid", "revision": 1,
                                 "total_lines": claimed, "accepted_lines": 0, "amount_tiyn": 0, "withheld_tiyn": 0,
                                 "created_at": now,
                                 "submitted_at": datetime(period.year, period.month, 28, tzinfo=UTC)})
        for i in range(0, len(act_rows), 5_000):
            db.session.execute(insert(Act), act_rows[i : i + 5_000])
        db.session.commit()
        postgres = db.engine.dialect.name == "postgresql"
        # Line i of an act: a student of the school (the same IIN every month); every 100th line the student of the
        # line before it again; every 25th (from the 3rd) excluded.
        if postgres:
            series = "generate_series(1, (SELECT max(total_lines) FROM act)) AS s(i)"
            iin = ("lpad(a.school_id::text, 6, '0') "
                   "|| lpad((s.i - CASE WHEN s.i % 100 = 0 THEN 1 ELSE 0 END)::text, 6, '0')")
        else:
            series = ("(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                      "WHERE i < (SELECT max(total_lines) FROM act)) SELECT i FROM n) AS s")
            iin = "printf('%06d%06d', a.school_id, s.i - CASE WHEN s.i % 100 = 0 THEN 1 ELSE 0 END)"
        t0 = time.perf_counter()
        db.session.execute(text(
            "INSERT INTO act_line (act_id, period, school_id, line_no, iin, full_name, grade, days_attended, outcome, "  # noqa: S608
            "rule_code, amount_tiyn, paid_days) "
            f"SELECT a.id, a.period, a.school_id, s.i, {iin}, '—', 1 + s.i % 11, 20, "
            "CASE WHEN s.i % 25 = 3 THEN 'excluded' ELSE 'accepted' END, "
            "CASE WHEN s.i % 25 = 3 THEN 'withdrawn' END, CASE WHEN s.i % 25 = 3 THEN 0 ELSE 4230000 END, "
            f"CASE WHEN s.i % 25 = 3 THEN NULL ELSE 30 END FROM act a JOIN {series} ON s.i <= a.total_lines"))
        db.session.commit()
        inserted = time.perf_counter() - t0
        # The acts' totals from their lines, as verification writes them (one grouped statement).
        students = ", total_students = s.students, accepted_students = s.paid_students" \
            if hasattr(Act, "total_students") else ""  # the schema before 0025_act_students has no such columns
        db.session.execute(text(
            "UPDATE act SET accepted_lines = s.accepted, amount_tiyn = s.amount, withheld_tiyn = s.withheld"  # noqa: S608
            f"{students} FROM (SELECT act_id, SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END) AS accepted, "
            "SUM(amount_tiyn) AS amount, SUM(CASE WHEN outcome = 'accepted' THEN 0 ELSE 4230000 END) AS withheld, "
            "COUNT(DISTINCT iin) AS students, COUNT(DISTINCT CASE WHEN outcome = 'accepted' THEN iin END) "
            "AS paid_students FROM act_line GROUP BY act_id) s WHERE act.id = s.act_id"))
        db.session.commit()
        if postgres:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        counts = db.session.execute(text("SELECT count(*), sum(total_lines) FROM act")).one()
        return {"acts": int(counts[0]), "lines": int(counts[1]), "insert_s": inserted,
                "students": hasattr(Act, "total_students")}


def measure(app, samples: int) -> dict:
    from sqlalchemy import text, true

    from app.analytics.flags import school_flags
    from app.extensions import db

    baseline_sql = text("SELECT act_id, count(*) FROM act_line GROUP BY act_id")
    with app.app_context():

        def flags() -> list:
            db.session.remove()  # a fresh session: the acts are loaded as a page view loads them
            return school_flags(YEAR, true())

        def baseline() -> list:
            rows = db.session.execute(baseline_sql).all()
            db.session.rollback()
            return rows

        found, grouped = flags(), baseline()  # warm-up
        flag_times, base_times = [], []
        for _ in range(samples):  # alternately, so both see the same cache state and load
            t0 = time.perf_counter()
            flags()
            flag_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            baseline()
            base_times.append(time.perf_counter() - t0)
        flagged = {code: sum(code in s.flags for s in found) for code in ("jump", "over_capacity")}
        return {"flags_s": statistics.median(flag_times), "flags_samples": flag_times,
                "baseline_s": statistics.median(base_times), "baseline_samples": base_times,
                "schools": len(found), "acts_grouped": len(grouped), "flagged": flagged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=850)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--lines", type=int, default=660, help="lines per act on average")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="85 schools, 3 samples: a fast check")
    args = parser.parse_args()
    if args.quick:
        args.schools, args.samples = 85, 3
    url, folder = benchmark_database_url()
    try:
        app = make_app(url)
        print(f"{machine_description()}\n{url.split('@')[-1]} · {args.schools} schools · {args.months} months · "
              f"~{args.lines} lines per act")
        t0 = time.perf_counter()
        data = load(app, args.schools, args.months, args.lines)
        print(f"loaded {data['acts']:,} acts, {data['lines']:,} lines in {time.perf_counter() - t0:.0f} s (lines "
              f"{data['insert_s']:.0f} s); acts carry distinct student counts: {'yes' if data['students'] else 'no'}")
        r = measure(app, args.samples)
        ratio = r["flags_s"] / max(r["baseline_s"], 1e-9)
        print(f"school flags, operator (national scope), {r['schools']} schools: {r['flags_s']:.3f} s median of "
              f"{args.samples} ({', '.join(f'{s:.3f}' for s in r['flags_samples'])}); budget < {BUDGET_S} s: "
              f"{'met' if r['flags_s'] < BUDGET_S else 'NOT met'}")
        print(f"baseline (one count of every act's lines, GROUP BY act_id, {r['acts_grouped']:,} acts): "
              f"{r['baseline_s']:.3f} s median ({', '.join(f'{s:.3f}' for s in r['baseline_samples'])})")
        print(f"ratio school flags / baseline = {ratio:.2f}×")
        print(f"check: schools flagged for a sudden change {r['flagged']['jump']}, over capacity "
              f"{r['flagged']['over_capacity']} (expected 0 and 0: a repeated student is one student)")
    finally:
        cleanup(folder)


if __name__ == "__main__":
    main()
