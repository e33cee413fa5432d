"""Verify every act of a month of the synthetic country; print time, memory, throughput and accuracy.

    .venv/bin/python benchmarks/verify_country.py                       # full size, SQLite and PostgreSQL
    .venv/bin/python benchmarks/verify_country.py --students 400000 --schools 85 --backend sqlite

Dataset: ``generate_country`` (app/registry/synthetic.py) — by default 850 private schools, ~555,000
students in private schools within an NEDB of 4,000,000, one month (2026-10) of submitted acts with
anomalies at known rates for every rule (some overlapping: two on one student), double claims across
schools, identity cases for review, near-misses that must not be flagged, and the ground truth of every
line (rule, review checks, amount). It is built once
per backend and size and cached (SQLite file and marker under benchmarks/.cache/; PostgreSQL in its own
database, by default ``tapsyrys_registry_bench``); reruns reset the acts to "submitted" and verify again.

Figures: wall time of the month-wide verification (all acts, one set-based pass, audit events included), peak
memory (max RSS of the verifying process — measured in a fresh child process and read right after the pass, so
neither the dataset generation nor the ground truth loaded for the comparison counts; the database server's
own memory is not included), lines per second, precision and recall per rule and per review check against the
ground truth (a hit needs the right code on the right line), the money error (paid vs expected, in tenge, and
the sum of per-line differences), and the ratio to the *reference scan*: one plain SQL join doing the core
lookup (each line to its NEDB enrolment at the claiming school), timed as the median of several samples taken
just before the verification, in the same (warm) cache state. Next to it, the *floor*: the reference scan plus
one plain write of every line's result columns (rolled back) — what any pass that keeps a result per line must
at least do, measured in the same run. Targets: 100 % / 100 %, 0 ₸, ≤ 3× the reference scan, < 1 GB peak
memory. Figures are printed whether or not a target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / ".cache"
PERIOD = date(2026, 10, 1)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/tapsyrys_registry_bench"


def _key(args) -> str:
    # g2: the generator with near-misses and per-line amounts; g3: schema 0013_speed (the covering NEDB index).
    # An older cached dataset is not reused.
    return f"g3-s{args.seed}-n{args.students}-p{args.private_students or 'auto'}-k{args.schools}"


def _paths(args, backend: str) -> tuple[Path, Path, str]:
    key = _key(args)
    marker = CACHE / f"{backend}-{key}.json"
    truth = CACHE / f"truth-{key}.csv"
    url = f"sqlite:///{CACHE / f'country-{key}.sqlite'}" if backend == "sqlite" else args.pg_url
    return marker, truth, url


def _app(url: str):
    from app import create_app
    from app.config import normalise_database_url

    return create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "BACKGROUND_MODE": "none"})


def build(args, backend: str) -> None:
    """Generate the dataset unless the cache marker says this database already holds it."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db
    from app.registry.synthetic import CountrySpec, generate_country

    marker, truth, url = _paths(args, backend)
    CACHE.mkdir(parents=True, exist_ok=True)
    if marker.exists() and truth.exists():
        print(f"[{backend}] reusing cached dataset ({_key(args)}), its schema brought to the migrations' head")
        # A dataset cached before a migration lacks its tables: the pass would fail on them (every act an incident,
        # recall 0 %). The data stays valid; only the schema moves on.
        with _app(url).app_context():
            upgrade(revision="heads")
        return
    if backend == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:  # on a fresh machine the benchmark's database does not exist yet
        from _common import ensure_database

        ensure_database(url)
    app = _app(url)
    with app.app_context():
        if backend == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade(revision="heads")
        t0 = time.perf_counter()
        stats = generate_country(CountrySpec(seed=args.seed, nedb_students=args.students, schools=args.schools,
                                             private_students=args.private_students, period=PERIOD), truth)
        if backend == "postgresql":
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"[{backend}] generated in {time.perf_counter() - t0:.1f} s: {stats.schools} schools, "
              f"{stats.nedb_rows:,} NEDB rows, {stats.act_lines:,} act lines, {stats.anomalous_lines:,} anomalous")
    marker.write_text(json.dumps({"key": _key(args), "url": url}))


def verify(args, backend: str) -> dict:
    """Runs in a fresh process: reset the acts, verify the month, compare with the ground truth."""
    from sqlalchemy import text

    from app.extensions import db
    from app.registry.synthetic import read_truth_lines
    from app.reports.operations import run_month_verification, start_month_verification

    _, truth_path, url = _paths(args, backend)
    app = _app(url)
    with app.app_context():
        db.session.execute(text("UPDATE act SET status = 'submitted' WHERE period = :p"), {"p": PERIOD})
        db.session.execute(text("DELETE FROM act_line_review"))
        db.session.execute(text("UPDATE act_line SET outcome = 'pending', rule_code = NULL, amount_tiyn = 0, "
                                "paid_days = NULL, review_codes = NULL, registry_name = NULL "
                                "WHERE period = :p"), {"p": PERIOD})
        db.session.execute(text("DELETE FROM verification_run"))
        db.session.commit()
        if backend == "postgresql":  # the reset above left a dead copy of every line; fresh acts have none
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE act_line"))
                conn.execute(text("VACUUM ANALYZE act"))

        # Reference scan: one plain join doing the core lookup (each line → its enrolment at the claiming
        # school). One warm-up, then the median of several samples, right before the verification.
        reference_sql = text(
            "SELECT COUNT(e.id) FROM act_line l JOIN organisation o ON o.id = l.school_id "
            "LEFT JOIN nedb_enrollment e ON e.iin = l.iin AND e.school_bin = o.bin WHERE l.period = :p")
        db.session.execute(reference_sql, {"p": PERIOD}).scalar()
        samples = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            db.session.execute(reference_sql, {"p": PERIOD}).scalar()
            samples.append(time.perf_counter() - t0)
        baseline = statistics.median(samples)
        db.session.commit()

        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        run = start_month_verification(PERIOD, actor=None, dispatch_job=False)
        db.session.commit()
        run = run_month_verification(run.id, chunk_acts=None)
        wall = time.perf_counter() - t0
        # The verifying process's high-water mark, read before the ground truth and the results are loaded
        # for the comparison below (they are the benchmark's, not the pass's).
        peak_rss_mb = _peak_rss_mb()
        mapped_mb = _status_mb("RssFile")  # the database file's pages read through SQLite's memory map, now
        truth = read_truth_lines(truth_path)

        found = {(n, no): (rule, frozenset((codes or "").split(",")) - {""}, amount)
                 for n, no, rule, codes, amount in db.session.execute(text(
                     "SELECT a.number, l.line_no, l.rule_code, l.review_codes, l.amount_tiyn FROM act_line l "
                     "JOIN act a ON a.id = l.act_id WHERE l.period = :p"), {"p": PERIOD})}
        paid = int(db.session.execute(text("SELECT COALESCE(SUM(amount_tiyn), 0) FROM act WHERE period = :p"),
                                      {"p": PERIOD}).scalar())
        return {
            "backend": backend, "acts": run.total_acts, "lines": run.total_lines, "excluded": run.excluded_lines,
            "wall_s": wall, "baseline_s": baseline, "baseline_samples": samples,
            "peak_rss_mb": peak_rss_mb, "mapped_mb": mapped_mb, "write_s": write_floor(backend),
            **accuracy(found, truth), "paid_tiyn": paid, "expected_tiyn": sum(e.amount_tiyn for e in truth.values()),
            "line_error_tiyn": sum(abs(found.get(k, (None, None, 0))[2] - e.amount_tiyn) for k, e in truth.items()),
            "by_rule": run.by_rule, "load": load_before,
        }


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """This process's own high-water mark of resident memory. On Linux ``ru_maxrss`` of a child is inherited
    from the parent that forked it (a parent that has just generated the dataset passes its ≈600 MB on), so
    ``VmHWM`` of this process's own address space is read instead; elsewhere ``ru_maxrss``. Pages of the
    SQLite file read through its memory map count as resident while mapped (the OS's file cache, shared)."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_floor(backend: str) -> float:
    """What writing each line's result once costs by itself: one UPDATE of the result columns of every line
    of the month, to constants (nothing looked up, nothing decided), timed in a transaction that is rolled
    back. A pass that keeps its results must at least look every line up (the reference scan) and write every
    line (this), so reference + this is a floor under any design, measured on this engine and machine. On
    PostgreSQL the verification's own row versions are vacuumed first (outside the time), as autovacuum
    would, so the write finds the room a fresh month has."""
    from sqlalchemy import text

    from app.extensions import db

    db.session.commit()
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM act_line"))
    t0 = time.perf_counter()
    db.session.execute(text("UPDATE act_line SET outcome = 'accepted', rule_code = NULL, amount_tiyn = 1, "
                            "paid_days = 31, review_codes = NULL, registry_name = NULL WHERE period = :p"),
                       {"p": PERIOD})
    took = time.perf_counter() - t0
    db.session.rollback()
    return took


def accuracy(found: dict, truth: dict) -> dict:
    """Precision and recall per rule and per review check: a hit is the right code on the right line."""
    per: dict[str, dict[str, int]] = {}

    def bump(code: str, key: str) -> None:
        per.setdefault(code, {"tp": 0, "fp": 0, "fn": 0})[key] += 1

    for key in truth.keys() | found.keys():
        e = truth.get(key)
        got_rule, got_review, _ = found.get(key, (None, frozenset(), 0))
        want_rule, want_review = (e.rule, e.review) if e else (None, frozenset())
        if got_rule and got_rule == want_rule:
            bump(got_rule, "tp")
        else:
            if got_rule:
                bump(got_rule, "fp")
            if want_rule:
                bump(want_rule, "fn")
        for code in got_review | want_review:
            bump(f"review:{code}", "tp" if code in got_review and code in want_review else
                 "fp" if code in got_review else "fn")
    tp = sum(v["tp"] for v in per.values())
    fp = sum(v["fp"] for v in per.values())
    fn = sum(v["fn"] for v in per.values())
    return {"per_rule": per, "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0}


def report(r: dict, args) -> None:
    ok = lambda cond: "ok" if cond else "MISSED"  # noqa: E731
    print(f"\n== {r['backend']} · {r['acts']} acts · {r['lines']:,} lines · {r['excluded']:,} excluded "
          f"(machine load average {r['load']:.1f} on {os.cpu_count()} cores) ==")
    print(f"wall time         {r['wall_s']:8.2f} s")
    print(f"peak memory       {r['peak_rss_mb']:8.0f} MB  (target < 1024 MB: {ok(r['peak_rss_mb'] < 1024)})")
    if r["backend"] == "sqlite" and r.get("mapped_mb"):
        print(f"  file pages      {r['mapped_mb']:8.0f} MB  mapped into the process right after the pass "
              "(SQLite's memory map: the OS's file cache, shared by every connection)")
    print(f"lines/second      {r['lines'] / r['wall_s']:8,.0f}")
    print(f"precision         {100 * r['precision']:8.2f} %  (target 100 %: {ok(r['precision'] == 1)})")
    print(f"recall            {100 * r['recall']:8.2f} %  (target 100 %: {ok(r['recall'] == 1)})")
    error = (r["paid_tiyn"] - r["expected_tiyn"]) / 100
    print(f"money error       {error:8,.2f} ₸   (paid {r['paid_tiyn'] / 100:,.2f} ₸ vs expected "
          f"{r['expected_tiyn'] / 100:,.2f} ₸; per-line differences {r['line_error_tiyn'] / 100:,.2f} ₸; "
          f"target 0 ₸: {ok(r['paid_tiyn'] == r['expected_tiyn'] and r['line_error_tiyn'] == 0)})")
    ratio = r["wall_s"] / max(r["baseline_s"], 1e-9)
    print(f"reference scan    {r['baseline_s']:8.2f} s   (median of {len(r['baseline_samples'])}) → verification / "
          f"reference scan = {ratio:.1f}×  (target ≤ 3×: {ok(ratio <= 3)})")
    floor = (r["baseline_s"] + r["write_s"]) / max(r["baseline_s"], 1e-9)
    print(f"write of the lines{r['write_s']:8.2f} s   (every line's result columns once, nothing decided; rolled "
          f"back) → floor = reference scan + this write = {floor:.1f}× the reference scan")
    print(f"{'rule or check':<28}{'lines':>8}{'precision':>11}{'recall':>9}")
    for code, v in sorted(r["per_rule"].items()):
        p = v["tp"] / (v["tp"] + v["fp"]) if v["tp"] + v["fp"] else 1.0
        q = v["tp"] / (v["tp"] + v["fn"]) if v["tp"] + v["fn"] else 1.0
        print(f"{code:<28}{v['tp'] + v['fn']:>8,}{100 * p:>10.1f}%{100 * q:>8.1f}%")


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    except OSError:
        return f"{os.cpu_count()} cores"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--students", type=int, default=4_000_000)
    parser.add_argument("--schools", type=int, default=850)
    parser.add_argument("--private-students", type=int, default=None)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--samples", type=int, default=5, help="reference-scan samples (the median is used)")
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    if args.verify_only:
        result = verify(args, backends[0])
        args.json.write_text(json.dumps(result))
        return
    print(f"dataset: seed {args.seed}, NEDB {args.students:,} students, {args.schools} private schools, "
          f"month {PERIOD:%Y-%m}; CPU: {_cpu()}")
    for backend in backends:
        build(args, backend)
        out = CACHE / f"result-{backend}.json"
        cmd = [sys.executable, __file__, "--verify-only", "--backend", backend, "--json", str(out),
               "--seed", str(args.seed), "--students", str(args.students), "--schools", str(args.schools),
               "--pg-url", args.pg_url, "--samples", str(args.samples)]
        if args.private_students is not None:
            cmd += ["--private-students", str(args.private_students)]
        subprocess.run(cmd, check=True)  # noqa: S603
        report(json.loads(out.read_text()), args)


if __name__ == "__main__":
    main()
