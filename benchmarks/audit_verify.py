"""verify-audit over a large trail (issue 13 §1): keyed hashes, facts and anchors checked set-based.

Data set: ``--chains`` chains (default 10,000) of ``--events`` events each (default 10, so 100,000 events),
every tenth event carrying facts, written through ``record_event`` on a fresh database built by the migrations
(SQLite in a temporary file unless DATABASE_URL names a database of its own with 'bench' or 'perf' in it).
Prints the seconds and SQL statements of: verifying every chain, writing an anchor, and the whole
``verify-audit`` (chains + covered rows + anchor). Figures, not a pass/fail test.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/audit_verify.py [--chains 10000] [--events 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from _common import SqlCounter, benchmark_database_url, cleanup, machine_description, make_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    keys = tempfile.mkdtemp(prefix="tapsyrys-bench-audit-")
    # Keys and anchors of the benchmark's own, never the instance/ folder's.
    os.environ["AUDIT_KEY_FILE"] = f"{keys}/audit_keys"
    os.environ["AUDIT_ANCHOR_DIR"] = f"{keys}/anchors"
    with open(os.environ["AUDIT_KEY_FILE"], "w") as fh:
        fh.write(f"bench-1 {'b' * 64}\n")
    url, folder = benchmark_database_url()
    try:
        run(make_app(url), args.chains, args.events)
    finally:
        cleanup(folder)
        cleanup(keys)


def run(app, chains: int, events: int) -> None:
    from app.audit.anchors import create_anchor
    from app.audit.operations import record_event, start_chain, verify_all_chains, verify_audit_trail
    from app.extensions import db

    with app.app_context():
        started = time.perf_counter()
        for c in range(chains):
            chain = f"bench:{c}"
            start_chain(chain)
            for e in range(1, events + 1):
                record_event(chain, "bench.step", "bench", e, actor_id=None, details={"step": e, "note": "x" * 40},
                             facts={"amount_tiyn": e * 100} if e % 10 == 0 else None)
            if c % 500 == 499:
                db.session.commit()
        db.session.commit()
        written = time.perf_counter() - started
        counter = SqlCounter()
        counter.install(db.engine)
        figures = []
        for label, fn in (("verify every chain (verify_all_chains)", verify_all_chains),
                          ("write an anchor (audit-anchor)", create_anchor),
                          ("verify-audit: chains + rows + anchor", verify_audit_trail)):
            with counter.counting():
                t0 = time.perf_counter()
                result = fn()
                seconds = time.perf_counter() - t0
            figures.append((label, seconds, counter.statements))
            db.session.rollback()
            if label.startswith("verify-audit"):
                assert result.problems == [], result.problems[:3]
        total = chains * events
        print(f"# audit_verify — {machine_description()}")
        print(f"# {db.engine.dialect.name}; {chains:,} chains × {events} events = {total:,} events "
              f"(written in {written:.1f} s)")
        for label, seconds, statements in figures:
            print(f"{label:<42} {seconds:7.2f} s  {total / seconds:>10,.0f} events/s  {statements:>3} statements")


if __name__ == "__main__":
    main()
