"""The slowest single SQL statement of each heavy page and download, as the widest scope sees it, on a database that
already holds country-scale data (DATABASE_STATEMENT_TIMEOUT_SECONDS: a statement past it answers 503).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tapsyrys_registry_bench \\
        .venv/bin/python benchmarks/request_statements.py [--month 2026-10] [--limit 600]

The data is not built here: run ``verify_country.py --backend postgresql`` first (850 schools, ~563,000 lines of a
month, NEDB 4,000,000 rows, verified) — or any other benchmark's database. An operator and an admin are added if the
database has none (``bench_operator`` / ``bench_admin``, password "pw"). Each address is requested through the Flask
test client (one warm-up, then --samples requests), with the statement limit raised to --limit seconds so that a
statement past the deployed 30 s is measured, not cancelled; per request the slowest statement (SQLAlchemy's
before/after_cursor_execute), the number of statements and the request's time are printed. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import pprint
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import machine_description

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/tapsyrys_registry_bench"


class SlowestStatement:
    """Per request: the slowest statement (seconds, its first words) and how many ran."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count, self.slowest, self.sql, self.full = 0, 0.0, "", None

    def install(self, engine) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany) -> None:
            took = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            self.count += 1
            if took > self.slowest:
                self.slowest, self.sql = took, " ".join(statement.split())[:150]
                self.full = (statement, parameters)


def ensure_people(app) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import select

    import app.people.models as people_models
    from app.extensions import db
    from app.people.models import Organisation, User

    people_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with app.app_context():
        operator_org = db.session.scalar(select(Organisation).where(Organisation.kind == "operator").limit(1))
        if operator_org is None:
            operator_org = Organisation(kind="operator", bin="990000000001", name="Financial Center")
            db.session.add(operator_org)
            db.session.flush()
        for username, role, org in (("bench_operator", "operator", operator_org.id), ("bench_admin", "admin", None)):
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, full_name=username, role=role, organisation_id=org,
                            created_at=datetime.now(UTC))
                db.session.add(user)
            user.set_password("pw")
            user.must_change_password = False
        db.session.commit()


def addresses(app, month: str) -> list[tuple[str, str]]:
    """(role, address) of the heavy pages and downloads, the month's largest act and region filled in."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        act_id, school_id, region_id = db.session.execute(text(
            "SELECT id, school_id, region_id FROM act WHERE period = :p ORDER BY total_lines DESC LIMIT 1"),
            {"p": f"{month}-01"}).one()
        school_bin = db.session.scalar(text("SELECT bin FROM organisation WHERE id = :i"), {"i": school_id})
        iin = db.session.scalar(text("SELECT iin FROM act_line WHERE act_id = :a LIMIT 1"), {"a": act_id})
    op = "bench_operator"
    pages = [
        (op, "/acts"), (op, f"/acts?month={month}"), (op, f"/acts?month={month}&status=verified"),
        (op, f"/acts?q={school_bin}"),
        (op, f"/acts/{act_id}"), (op, f"/acts/{act_id}?outcome=excluded"),
        (op, f"/acts/{act_id}/lines.csv"), (op, f"/acts/{act_id}/lines.xlsx"),
        (op, f"/reports/discrepancies?period={month}"),
        (op, f"/reports/reconciliation?period={month}"),
        (op, f"/reports/reconciliation.csv?period={month}"), (op, f"/reports/reconciliation.xlsx?period={month}"),
        (op, f"/reports/reconciliation/adjusted?period={month}&region={region_id}"),
        (op, f"/reports/payments.csv?period={month}"), (op, f"/reports/payments.xlsx?period={month}"),
        (op, f"/api/v1/reconciliation?period={month}"),
        (op, "/reports/verification"),
        (op, "/analytics/"), (op, f"/analytics/schools/{school_id}"), (op, "/analytics/processes"),
        (op, "/inbox"), (op, "/instances"), (op, "/contracts"), (op, "/registry"), (op, f"/registry/lookup?q={iin}"),
        (op, "/public/"), (op, f"/public/schools/{school_bin}"),
        (op, "/public/data/schools.csv"), (op, "/public/data/schools.json"), (op, "/public/data/regions.csv"),
        (op, "/public/data/months.csv"), (op, "/public/ocds/releases.json"), (op, "/public/ocds/records.json"),
        ("bench_admin", "/admin/audit"), ("bench_admin", "/admin/organisations"), ("bench_admin", "/admin/users"),
    ]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--limit", type=float, default=600.0, help="statement limit of the requests, seconds")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--only", default="", help="only the addresses containing this text")
    parser.add_argument("--dump", type=Path, help="write each request's slowest statement and its parameters here")
    args = parser.parse_args()

    from app import create_app
    from app.config import normalise_database_url
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(args.pg_url), "BACKGROUND_MODE": "none",
                      "DATABASE_STATEMENT_TIMEOUT_SECONDS": args.limit, "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False})
    ensure_people(app)
    probe = SlowestStatement()
    with app.app_context():
        probe.install(db.engine)
    print(machine_description(), f"· load average {os.getloadavg()[0]:.1f}", flush=True)
    print("| role | address | status | bytes | request s | statements | slowest statement s | slowest statement |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    clients: dict[str, object] = {}
    for role, address in addresses(app, args.month):
        if args.only and args.only not in address:
            continue
        client = clients.get(role)
        if client is None:
            client = clients[role] = app.test_client()
            assert client.post("/login", data={"username": role, "password": "pw"}).status_code == 302, role
        worst = (0.0, 0.0, 0, "", 0, 0)
        for _ in range(1 + args.samples):  # the first is the warm-up
            probe.reset()
            t0 = time.perf_counter()
            response = client.get(address)
            took = time.perf_counter() - t0
            if probe.slowest >= worst[1]:
                worst = (took, probe.slowest, probe.count, probe.sql, response.status_code, len(response.data))
            if args.dump and probe.full and probe.slowest >= worst[1]:
                with args.dump.open("a") as out:
                    out.write(f"-- {address}: {probe.slowest:.3f} s\n{probe.full[0]}\n"
                              f"-- {pprint.pformat(probe.full[1])}\n")
        took, slowest, count, sql, status, size = worst
        print(f"| {role.removeprefix('bench_')} | `{address}` | {status} | {size:,} | {took:.2f} | {count} | "
              f"{slowest:.3f} | `{sql[:90]}` |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
