"""Operations cockpit at national scale (issue 12 §3): the instance list over N process instances.

Data: 20 regions, 850 schools, 5 process models with 2 published versions each; N instances with states
spread like a year of operation (60 % completed, 22 % running and waiting for a user task, 4 % waiting for a
timer, 4 % incident, 3 % suspended, 5 % cancelled, 2 % trial runs); titles begin with the business key
(``ACT-<BIN>-<n>``); started/updated dates over 400 days; one open human task per instance that waits for one.
Rows are bulk-inserted (COPY on PostgreSQL, executemany on SQLite) straight into the tables, then ANALYZE.

Measured for the operator (national scope: no scope clause narrows anything), through the Flask test client,
so "server time" is the whole request — authorisation, the page query, the five capped counts per state, the
open-task look-up and rendering: the list unfiltered and with each filter. Printed: p50/p95 in ms, the SQL
share, and the ratio of each p95 to the p95 of a plain indexed ``SELECT count(*)`` over one region's instances
(the baseline: what one index-only count of ~N/20 rows costs on the same machine, at the same moment).

    .venv/bin/python benchmarks/cockpit.py                         # SQLite file in /tmp, 20,000 instances
    .venv/bin/python benchmarks/cockpit.py --instances 1000000     # the issue's scale
    .venv/bin/python benchmarks/cockpit.py --reuse                 # measure the loaded database again
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_cockpit \
        .venv/bin/python benchmarks/cockpit.py --instances 1000000

The PostgreSQL database is emptied (downgrade to base, upgrade to heads) before loading; its name must
contain "cockpit", "bench" or "perf".
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHOOLS = 850
PROCESSES = ("monthly_act", "contract", "application", "state_order", "year_end")
ELEMENTS = ("accept_act", "submit_act", "pay_act", "sign_director", "review_application")
TARGET_P95_MS = 100.0


def build_app(url: str):
    from argon2 import PasswordHasher

    import app.people.models as people_models
    from app import create_app
    from app.config import normalise_database_url

    people_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "WTF_CSRF_ENABLED": False,
                       "BACKGROUND_MODE": "none", "TESTING": True})


def reset_schema(app) -> None:
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                has = conn.execute(text("SELECT 1 FROM information_schema.tables WHERE table_name='alembic_version'"))
                if has.first():
                    downgrade(revision="base")
        upgrade(revision="heads")


def _state(r: float) -> tuple[str, bool, bool, bool]:
    """(status, waits for a user task, waits for a timer, trial) for a uniform random ``r``."""
    if r < 0.60:
        return "completed", False, False, False
    if r < 0.82:
        return "running", True, False, False
    if r < 0.86:
        return "running", False, True, False
    if r < 0.90:
        return "error", False, False, False
    if r < 0.93:
        return "suspended", True, False, False
    if r < 0.98:
        return "cancelled", False, False, False
    return "running", True, False, True


def load(app, instances: int, seed: int = 12) -> dict:
    from sqlalchemy import insert

    from app.demo.regions import REGIONS
    from app.engine.models import HumanTask, ProcessInstance, ProcessModel, ProcessModelVersion
    from app.extensions import db
    from app.people.models import Organisation, Region, User

    rng = random.Random(seed)
    now = datetime.now(UTC)
    with app.app_context():
        regions = [Region(code=c, name_kk=kk, name_ru=ru, name_en=en) for c, kk, ru, en in REGIONS]
        db.session.add_all(regions)
        db.session.flush()
        operator_org = Organisation(kind="operator", bin="990000000001", name="Financial Center")
        schools = [Organisation(kind="school", bin=f"1{i:011d}", name=f"School {i:03d}",
                                region_id=regions[i % len(regions)].id) for i in range(SCHOOLS)]
        db.session.add_all([operator_org, *schools])
        db.session.flush()
        operator = User(username="operator", full_name="Operator", role="operator", organisation_id=operator_org.id,
                        created_at=now)
        operator.set_password("pw")
        db.session.add(operator)
        versions = {}
        for pid in PROCESSES:
            model = ProcessModel(identifier=pid, name=pid.replace("_", " ").title(), created_at=now)
            db.session.add(model)
            db.session.flush()
            for number in (1, 2):
                version = ProcessModelVersion(process_model_id=model.id, number=number, status="published",
                                              files={}, content_hash=f"{pid}{number}", created_at=now)
                db.session.add(version)
                db.session.flush()
                versions[(pid, number)] = version.id
        db.session.commit()
        school_rows = [(s.id, s.region_id, s.bin) for s in schools]
        inst_cols = ["id", "model_version_id", "process_id", "title", "status", "state", "lock_version",
                     "region_id", "organisation_id", "started_at", "updated_at", "completed_at", "next_timer_at",
                     "error_message", "is_trial", "trial_owner_id"]
        task_cols = ["id", "instance_id", "task_guid", "spec_name", "title", "subject_title", "role", "region_id",
                     "organisation_id", "status", "created_at", "process_id", "is_trial"]
        tasks: list[tuple] = []

        def instance_rows():
            for i in range(1, instances + 1):
                sid, rid, sbin = school_rows[i % SCHOOLS]
                pid = rng.choice(PROCESSES)
                status, waits_task, waits_timer, trial = _state(rng.random())
                started = now - timedelta(days=rng.uniform(0, 400))
                updated = started + timedelta(days=rng.uniform(0, 30))
                title = f"ACT-{sbin}-{i:07d} · School {sid}"
                if waits_task:
                    spec = ELEMENTS[i % len(ELEMENTS)]
                    tasks.append((len(tasks) + 1, i, f"{i:032x}", spec, spec, title, "department_official", rid, sid,
                                  "suspended" if status == "suspended" else "open", updated, pid, trial))
                yield (i, versions[(pid, 1 + i % 2)], pid, title, status, "", 1, rid, sid, started, updated,
                       updated if status in ("completed", "cancelled") else None,
                       now + timedelta(days=rng.uniform(1, 30)) if waits_timer else None,
                       "registry unavailable" if status == "error" else None, trial, operator.id if trial else None)

        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            raw = db.engine.raw_connection()
            try:
                cur = raw.cursor()
                with cur.copy(f"COPY process_instance ({', '.join(inst_cols)}) FROM STDIN") as copy:
                    for row in instance_rows():
                        copy.write_row(row)
                with cur.copy(f"COPY human_task ({', '.join(task_cols)}) FROM STDIN") as copy:
                    for row in tasks:
                        copy.write_row(row)
                cur.execute("SELECT setval(pg_get_serial_sequence('process_instance','id'), "
                            "(SELECT max(id) FROM process_instance))")
                cur.execute("SELECT setval(pg_get_serial_sequence('human_task','id'), "
                            "(SELECT max(id) FROM human_task))")
                raw.commit()
                raw.driver_connection.autocommit = True  # VACUUM cannot run in a transaction
                cur.execute("VACUUM ANALYZE process_instance")  # steady state: autovacuum set the visibility map
                cur.execute("VACUUM ANALYZE human_task")
                raw.driver_connection.autocommit = False
            finally:
                raw.close()
        else:
            batch = []
            for row in instance_rows():
                batch.append(dict(zip(inst_cols, row, strict=True)))
                if len(batch) == 20_000:
                    db.session.execute(insert(ProcessInstance.__table__), batch)
                    batch = []
            if batch:
                db.session.execute(insert(ProcessInstance.__table__), batch)
            for start in range(0, len(tasks), 20_000):
                db.session.execute(insert(HumanTask.__table__),
                                   [dict(zip(task_cols, row, strict=True)) for row in tasks[start:start + 20_000]])
            db.session.commit()
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        return {**info_from_db(app), "load_seconds": time.perf_counter() - started}


def info_from_db(app) -> dict:
    from sqlalchemy import func, select

    from app.engine.models import ProcessInstance
    from app.extensions import db
    from app.people.models import Organisation, Region

    with app.app_context():
        region = db.session.scalars(select(Region.id).order_by(Region.id).offset(7).limit(1)).one()
        school = db.session.scalars(select(Organisation).where(Organisation.kind == "school",
                                                               Organisation.region_id == region)
                                    .order_by(Organisation.id)).first()
        process = db.session.scalars(select(ProcessInstance.process_id).where(ProcessInstance.region_id == region)
                                     .order_by(ProcessInstance.id).limit(1)).first()
        key = db.session.scalars(select(ProcessInstance.title).where(ProcessInstance.organisation_id == school.id)
                                 .order_by(ProcessInstance.id).limit(1)).first().split(" ")[0]
        return {"region": region, "school_bin": school.bin, "school_name": school.name, "process": process, "key": key,
                "instances": db.session.scalar(select(func.count(ProcessInstance.id))), "load_seconds": 0.0}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure(app, info: dict, repeat: int) -> tuple[list[tuple], tuple[float, float]]:
    from sqlalchemy import event, text

    from app.extensions import db

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.post("/login", data={"username": "operator", "password": "pw"}).status_code == 302
    cases = _cases(info)
    sql_ms = [0.0]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        sql_ms[0] += (time.perf_counter() - conn.info.pop("bench_started")) * 1000

    def baseline_ms() -> float:
        with app.app_context():
            started = time.perf_counter()
            db.session.execute(text("SELECT count(*) FROM process_instance WHERE region_id = :r"),
                               {"r": info["region"]}).scalar()
            return (time.perf_counter() - started) * 1000

    # The baseline runs next to every request, so each case's ratio compares figures taken at the same moment
    # (on a shared machine the absolute figures move with the load; the ratio much less).
    baseline: list[float] = []
    results = []
    for label, url in cases:
        times, sql_times, rows, base = [], [], 0, []
        for _ in range(repeat + 2):
            base.append(baseline_ms())
            sql_ms[0] = 0.0
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            sql_times.append(sql_ms[0])
            assert response.status_code == 200, (url, response.status_code)
            rows = response.get_data(as_text=True).count("<tr data-instance-id=")
        times, sql_times, base = times[2:], sql_times[2:], base[2:]  # the first two warm caches
        baseline.extend(base)
        results.append((label, statistics.median(times), _p95(times), statistics.median(sql_times),
                        _p95(sql_times), rows, _p95(base)))
    return results, (statistics.median(baseline), _p95(baseline))


def explain(app, info: dict) -> list[tuple[str, float, int, str]]:
    """PostgreSQL only: every statement one request of each case sends, run again under EXPLAIN ANALYZE.
    The sum of their execution times is the database's own work for the page, much less disturbed by a busy
    machine than wall-clock figures; the slowest statement's plan is named."""
    from sqlalchemy import event

    from app.extensions import db

    client = app.test_client()
    assert client.post("/login", data={"username": "operator", "password": "pw"}).status_code == 302
    captured: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    rows = []
    for label, url in _cases(info):
        client.get(url)  # warm
        captured.clear()
        client.get(url)
        statements = [c for c in captured if "process_instance" in c[0] or "human_task" in c[0]]
        event.remove(engine, "before_cursor_execute", _capture)
        total, worst, worst_plan = 0.0, 0.0, ""
        with engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + statement, parameters)
                plan = [r[0] for r in cursor.fetchall()]
                ms = float(next(line for line in plan if "Execution Time" in line).split(":")[1].split()[0])
                total += ms
                if ms >= worst:
                    worst = ms
                    worst_plan = next((line.strip().removeprefix("->  ") for line in plan if "Scan" in line), "")
        event.listen(engine, "before_cursor_execute", _capture)
        rows.append((label, total, len(statements), f"{worst:.1f} ms: {worst_plan[:70]}"))
    return rows


def _cases(info: dict) -> list[tuple[str, str]]:
    today = datetime.now(UTC).date()
    month_ago, quarter_ago = (today - timedelta(days=30)).isoformat(), (today - timedelta(days=90)).isoformat()
    return [
        ("list, no filter", "/instances"),
        ("state: waiting", "/instances?state=waiting"),
        ("state: incident", "/instances?state=incident"),
        ("state: suspended", "/instances?state=suspended"),
        ("state: completed", "/instances?state=completed"),
        ("process", "/instances?process=monthly_act"),
        ("process + version", "/instances?process=monthly_act&version=2"),
        ("region", f"/instances?region={info['region']}"),
        ("organisation BIN", f"/instances?org={info['school_bin']}"),
        ("organisation name", f"/instances?org={info['school_name']}"),
        ("business key (one act)", f"/instances?q={info['key']}"),
        ("business key prefix (school)", f"/instances?q=ACT-{info['school_bin']}"),
        ("current element", "/instances?element=accept_act"),
        ("started range", f"/instances?started_from={quarter_ago}&started_to={month_ago}"),
        ("updated range", f"/instances?updated_from={month_ago}"),
        ("region + state + process", f"/instances?region={info['region']}&state=incident&process={info['process']}"),
        ("trial runs only", "/instances?trial=only"),
        ("page 40", "/instances?page=40"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="measure an already loaded database again")
    parser.add_argument("--explain", action="store_true",
                        help="PostgreSQL: also run each page's statements under EXPLAIN ANALYZE")
    parser.add_argument("--database",
                        default=os.environ.get("DATABASE_URL") or "sqlite:////tmp/tapsyrys_cockpit_bench.sqlite")
    args = parser.parse_args()
    name = args.database.rsplit("/", 1)[-1]
    if not args.database.startswith("sqlite") and not any(w in name for w in ("cockpit", "bench", "perf")):
        sys.exit(f"Refusing to empty database {name!r}: its name must contain 'cockpit', 'bench' or 'perf'.")
    if args.database.startswith("sqlite:///") and not args.reuse:
        Path(args.database.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = build_app(args.database)
    if args.reuse:
        info = info_from_db(app)
    else:
        reset_schema(app)
        info = load(app, args.instances)
    with app.app_context():
        from app.extensions import db

        dialect = db.engine.dialect.name
    print(f"Cockpit benchmark on {dialect}: {info['instances']:,} process instances, 20 regions, {SCHOOLS} schools, "
          f"{len(PROCESSES)} processes × 2 versions; loaded in {info['load_seconds']:.1f} s; "
          f"{args.repeat} requests per case; operator (national scope)")
    results, (base50, base95) = measure(app, info, args.repeat)
    print(f"baseline: SELECT count(*) FROM process_instance WHERE region_id = … (indexed): "  # noqa: S608 - a label
          f"p50 {base50:.1f} ms, p95 {base95:.1f} ms")
    print("server time = whole request (page query + 5 capped counts + rendering); SQL = inside the driver")
    print("×base = this case's p95 / the baseline's p95 measured next to it")
    print(f"{'case':<28} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'SQL p95':>8} {'×base':>6} {'rows':>5}")
    for label, p50, p95, sql50, sql95, rows, case_base95 in results:
        flag = "" if p95 <= TARGET_P95_MS else f"  > {TARGET_P95_MS:.0f} ms"
        print(f"{label:<28} {p50:8.1f} {p95:8.1f} {sql50:8.1f} {sql95:8.1f} {p95 / case_base95:6.1f} {rows:5}{flag}")
    if args.explain and dialect == "postgresql":
        print("\nEXPLAIN ANALYZE, one request per case: the statements on process_instance/human_task, summed")
        print(f"{'case':<28} {'DB ms':>7} {'stmts':>5}  slowest statement")
        for label, total, count, slowest in explain(app, info):
            print(f"{label:<28} {total:7.1f} {count:5}  {slowest}")
    worst = max(r[2] for r in results)
    print(f"worst p95: {worst:.1f} ms (target on PostgreSQL at 1,000,000: p95 < {TARGET_P95_MS:.0f} ms); "
          f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
