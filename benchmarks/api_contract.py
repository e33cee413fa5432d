"""The long API contract run (issue 13 §6): schemathesis against /api/openapi.json as every role until at
least ``--requests`` requests (default 50,000) have been answered; prints the requests, the answers by role
and status, every server error and every schema violation (the run's purpose is that both stay at 0).

The CI test (tests/api_contract/test_schemathesis.py) is the same run, bounded and derandomised; this one
draws fresh examples each round (seeds 1, 2, …) over the seeded demo world, with the application as in
production (TESTING off: errors become the 500 page rather than exceptions, login throttling on).

    .venv/bin/python benchmarks/api_contract.py                       # ≥ 50,000 requests on SQLite
    .venv/bin/python benchmarks/api_contract.py --requests 5000       # a quicker look
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tapsyrys_bench .venv/bin/python benchmarks/api_contract.py
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from _common import benchmark_database_url, cleanup, machine_description, make_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50_000, help="stop after at least this many requests")
    parser.add_argument("--examples", type=int, default=200, help="examples per operation and role in a round")
    args = parser.parse_args()

    from app import clock
    from app.demo.seed import seed_demo
    from tests.api_contract.contract import ContractRun, credentials, run_contract

    url, folder = benchmark_database_url()
    try:
        app = make_app(url)
        with app.app_context(), clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)):
            seed_demo(password="pw")  # noqa: S106 - the demo world's password, as in the tests
        creds = credentials(app)
        run, rounds, started, interrupted = ContractRun(), 0, time.perf_counter(), False
        try:
            while run.sent < args.requests:
                rounds += 1
                run_contract(app, args.examples, creds, seed=rounds, run=run)
                print(f"round {rounds}: {run.sent} requests, {len(run.problems)} problems", flush=True)
        except KeyboardInterrupt:  # Ctrl-C (or `timeout -s INT`): report what was run so far
            interrupted = True
        elapsed = time.perf_counter() - started
    finally:
        cleanup(folder)

    server_errors = sum(n for statuses in run.answered.values() for code, n in statuses.items() if code >= 500)
    print(f"\nAPI contract run — {machine_description()}")
    print(f"database: {url.split('://')[0]}; rounds: {rounds} × {args.examples} examples per operation and role")
    print(f"requests: {run.sent:,} in {elapsed:,.0f} s ({run.sent / elapsed:,.0f} requests/s)"
          + (" — INTERRUPTED before the target" if interrupted else ""))
    print(f"server errors (5xx): {server_errors}; schema/status/content-type violations: {len(run.problems)}")
    for role, statuses in sorted(run.answered.items()):
        print(f"  {role:<22} " + "  ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items())))
    for problem in sorted(set(run.problems))[:20]:
        print("\n" + problem)
    return 1 if run.problems or server_errors or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
