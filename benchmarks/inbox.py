"""Inbox speed at national scale (issue 5): 1,000,000 human tasks, 20 regions, ~850 schools.

Data: 20 regions, 850 schools spread over them, one department (an official and a head) per region;
process instances of the monthly act with ten task rows each. Tasks: ~1/3 *Accept act* (department
official, region scope), ~1/3 *Submit monthly act* (school accountant, school scope), ~1/3 *Pay act*
(operator); 12 % open, 84 % completed, 4 % cancelled; due dates spread ±10 days around now; a few
claimed. Rows are bulk-inserted (COPY on PostgreSQL, executemany on SQLite) straight into the tables,
then ANALYZE.

People around the tasks, as in production (issue 17: a benchmark that cannot flatter): one accountant per
school, three operators, per region an official, a head and a deputy official standing in for the official
(an active substitution: the deputy's inbox holds the official's tasks too); --notes notifications per
person (task created, due soon, overdue, returned, on behalf; a tenth unread) pointing at real tasks;
five saved filters per person and two shared ones per organisation.

Measured through the Flask test client (so "server time" includes the authorisation, the query, the
nav/tab count queries, the unread-notification badge and template rendering):

* for one region's official: the inbox page unfiltered and with each filter (process, task, school name,
  school BIN, status, due date, act-number search, sort by due), the other views, and the count query
  alone; p50/p95 in milliseconds over --repeat requests per case;
* for five people of different roles (official, deputy official, department head, school accountant,
  operator): the inbox, the inbox through one of their saved filters and through a filter shared in
  their organisation, the notifications page and the unread badge; p50/p95 per case over --repeat
  requests and p95 per person over all their requests (5 × --repeat).

    .venv/bin/python benchmarks/inbox.py                               # SQLite file in /tmp, 1,000,000 rows
    .venv/bin/python benchmarks/inbox.py --rows 100000 --repeat 100     # quick
    .venv/bin/python benchmarks/inbox.py --reuse                        # measure the loaded database again
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tapsyrys_inbox .venv/bin/python benchmarks/inbox.py

The PostgreSQL database is emptied (downgrade to base, upgrade to heads) before loading.
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

TASKS_PER_INSTANCE = 10
SCHOOLS = 850
TARGET_P95_MS = 50.0


def build_app(url: str):
    from app import create_app
    from app.config import normalise_database_url

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


def load(app, rows: int, seed: int = 5, notes_per_person: int = 300) -> dict:
    """Regions, schools, departments, users, instances and ``rows`` human tasks. Returns ids to query with."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert, select

    import app.people.models as people_models
    from app.demo.regions import REGIONS
    from app.engine.models import HumanTask, ProcessInstance, ProcessModelVersion
    from app.engine.publishing import publish_directory
    from app.extensions import db
    from app.inbox.models import SavedFilter
    from app.notifications.models import Notification
    from app.people.models import Organisation, Region, User
    from app.people.substitutions import Substitution

    people_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with app.app_context():
        regions = [Region(code=c, name_kk=kk, name_ru=ru, name_en=en) for c, kk, ru, en in REGIONS]
        db.session.add_all(regions)
        db.session.flush()
        departments = [Organisation(kind="department", bin=f"9{i:011d}", name=f"Department {r.code}",
                                    region_id=r.id) for i, r in enumerate(regions)]
        schools = [Organisation(kind="school", bin=f"1{i:011d}", name=f"School {i:03d} {rng.choice(NAMES)}",
                                region_id=regions[i % len(regions)].id, design_capacity=500) for i in range(SCHOOLS)]
        db.session.add_all(departments + schools)
        db.session.flush()
        officials, people, deputies = [], [], []
        for dept in departments:
            official = User(username=f"official_{dept.region_id}", full_name=f"Official {dept.region_id}",
                            role="department_official", organisation_id=dept.id, created_at=now)
            head = User(username=f"head_{dept.region_id}", full_name=f"Head {dept.region_id}",
                        role="department_head", organisation_id=dept.id, created_at=now)
            deputy = User(username=f"deputy_{dept.region_id}", full_name=f"Deputy {dept.region_id}",
                          role="department_official", organisation_id=dept.id, created_at=now)
            official.set_password("pw")
            head.set_password("pw")
            deputy.set_password("pw")
            db.session.add_all([official, head, deputy])
            officials.append(official)
            people.extend([official, head, deputy])
            deputies.append((official, deputy))
        operator_org = Organisation(kind="operator", bin="800000000001", name="Operator")
        db.session.add(operator_org)
        db.session.flush()
        for n in range(1, 4):
            operator = User(username=f"operator_{n}", full_name=f"Operator {n}", role="operator",
                            organisation_id=operator_org.id, created_at=now)
            operator.set_password("pw")
            people.append(operator)
        for school in schools:
            accountant = User(username=f"accountant_{school.id}", full_name=f"Accountant {school.id}",
                              role="school_accountant", organisation_id=school.id, created_at=now)
            accountant.password_hash = people[0].password_hash  # the same "pw": 850 hashes add nothing
            people.append(accountant)
        db.session.add_all(people)
        db.session.flush()
        today = now.date()
        for official, deputy in deputies:
            db.session.add(Substitution(principal_id=official.id, deputy_id=deputy.id,
                                        starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=10),
                                        created_by_id=official.id, created_at=now))
        publish_directory(Path(app.config["BPMN_DIR"]), Path(app.config["FORMS_DIR"]))
        version = db.session.scalars(select(ProcessModelVersion)).first()
        db.session.commit()
        version_id = version.id
        official_of = {o.organisation.region_id: o.id for o in officials}
        school_rows = [(s.id, s.region_id, s.name, s.bin) for s in schools]
        # Reading those attributes back opened a transaction, and an open one holds back VACUUM's horizon: the
        # VACUUM after COPY would then mark no page all-visible, and every count would read the table instead
        # of an index alone (relallvisible stayed 0 at 1,000,000 tasks; the server runs no autovacuum here).
        db.session.rollback()

        instances = rows // TASKS_PER_INSTANCE
        inst_cols = ["id", "model_version_id", "process_id", "title", "status", "state", "lock_version",
                     "region_id", "organisation_id", "started_at", "updated_at"]
        task_cols = ["id", "instance_id", "task_guid", "spec_name", "title", "subject_title", "lane", "role",
                     "region_id", "organisation_id", "assignee_id", "status", "created_at", "due_at",
                     "completed_at", "completed_by_id", "process_id", "subject_number", "school_name", "school_bin",
                     "excluded_lines", "amount_tiyn", "claimed_at"]
        kinds = [("accept_act", "Accept act", "Department official", "department_official"),
                 ("submit_act", "Submit monthly act", "School accountant", "school_accountant"),
                 ("pay_act", "Pay act", "Operator", "operator")]

        def instance_rows():
            for i in range(1, instances + 1):
                sid, rid, name, sbin = school_rows[i % SCHOOLS]
                yield (i, version_id, "monthly_act", f"ACT-{sbin}-{i:07d} · {name}", "running", "", 1, rid, sid,
                       now, now)

        def task_rows():
            tid = 0
            for i in range(1, instances + 1):
                sid, rid, name, sbin = school_rows[i % SCHOOLS]
                number = f"ACT-{sbin}-{i:07d}"
                for k in range(TASKS_PER_INSTANCE):
                    tid += 1
                    spec, title, lane, role = kinds[k % 3]
                    r = rng.random()
                    status = "open" if r < 0.12 else "completed" if r < 0.96 else "cancelled"
                    created = now - timedelta(days=rng.uniform(0, 400))
                    due = (now + timedelta(days=rng.uniform(-10, 10)) if status == "open"
                           else created + timedelta(days=7))
                    done_by = official_of[rid] if status == "completed" and spec == "accept_act" else None
                    assignee = official_of[rid] if status == "open" and spec == "accept_act" and r < 0.01 else None
                    excluded = rng.choice((0, 0, 0, 1, 3)) if spec == "accept_act" else None
                    yield (tid, i, f"{tid:032x}", spec, title, f"{number} · {name}", lane, role, rid, sid, assignee,
                           status, created, due if spec == "accept_act" else None,
                           created + timedelta(days=2) if status == "completed" else None, done_by, "monthly_act",
                           number, name, sbin, excluded, rng.randint(1, 5_000) * 4_230_000 if excluded is not None
                           else None, now if assignee else None)

        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            raw = db.engine.raw_connection()
            try:
                cur = raw.cursor()
                for table, cols, gen in (("process_instance", inst_cols, instance_rows()),
                                         ("human_task", task_cols, task_rows())):
                    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in gen:
                            copy.write_row(row)
                cur.execute("SELECT setval(pg_get_serial_sequence('human_task','id'), "
                            "(SELECT max(id) FROM human_task))")
                cur.execute("SELECT setval(pg_get_serial_sequence('process_instance','id'), "
                            "(SELECT max(id) FROM process_instance))")
                raw.commit()
                raw.driver_connection.autocommit = True  # VACUUM cannot run in a transaction
                cur.execute("VACUUM ANALYZE human_task")  # steady state: autovacuum has set the visibility map
                cur.execute("ANALYZE")
                raw.driver_connection.autocommit = False
            finally:
                raw.close()
        else:
            for table, cols, gen in ((ProcessInstance.__table__, inst_cols, instance_rows()),
                                     (HumanTask.__table__, task_cols, task_rows())):
                batch = []
                for row in gen:
                    batch.append(dict(zip(cols, row, strict=True)))
                    if len(batch) == 20_000:
                        db.session.execute(insert(table), batch)
                        batch = []
                if batch:
                    db.session.execute(insert(table), batch)
                db.session.commit()
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        _load_notes_and_filters(db, people, school_rows, instances, notes_per_person, rng, now,
                                Notification, SavedFilter)
        loaded = time.perf_counter() - started
        region = regions[7].id
        sample_school = next(s for s in school_rows if s[1] == region)
        return {"accountant": f"accountant_{sample_school[0]}",
                "official": f"official_{region}", "region": region, "school_name": sample_school[2].split(" ", 2)[2],
                "school_bin": sample_school[3], "number": f"ACT-{sample_school[3]}", "load_seconds": loaded,
                "instances": instances}


NOTE_KINDS = ("task_created", "task_created", "task_created", "due_soon", "overdue", "act_returned", "on_behalf")


def _load_notes_and_filters(db, people, school_rows, instances, per_person, rng, now, Notification, SavedFilter):  # noqa: N803
    """Each person's notifications (a tenth unread, newest first in the last 90 days) about tasks of the
    loaded instances, five saved filters each and two filters shared per organisation."""
    from sqlalchemy import insert

    batch = []
    for person in people:
        for n in range(per_person):
            instance = rng.randint(1, instances)
            task_id = (instance - 1) * TASKS_PER_INSTANCE + rng.randint(1, TASKS_PER_INSTANCE)
            kind = NOTE_KINDS[n % len(NOTE_KINDS)]
            created = now - timedelta(minutes=rng.uniform(0, 90 * 24 * 60))
            params = {"spec_name": "accept_act", "task": "Accept act", "subject": f"ACT-{instance:07d}",
                      "due": created.date().isoformat(), "comment": "Check line 3", "deputy": "Deputy"}
            batch.append({"user_id": person.id, "kind": kind, "params": params, "task_id": task_id,
                          "created_at": created, "read_at": None if rng.random() < 0.1 else created})
            if len(batch) == 20_000:
                db.session.execute(insert(Notification.__table__), batch)
                batch = []
    if batch:
        db.session.execute(insert(Notification.__table__), batch)
    filters = []
    presets = [{"process": "monthly_act"}, {"status": "overdue"}, {"status": "due_soon", "sort": "due"},
               {"task": "accept_act"}, {"view": "group"}]
    for person in people:
        for k, params in enumerate(presets):
            filters.append({"owner_id": person.id, "organisation_id": person.organisation_id, "name": f"Mine {k}",
                            "params": params, "shared": False, "created_at": now})
    first_of_org = {}
    for person in people:
        first_of_org.setdefault(person.organisation_id, person)
    for org, person in first_of_org.items():
        for k, params in enumerate(({"status": "unclaimed"}, {"sort": "due"})):
            filters.append({"owner_id": person.id, "organisation_id": org, "name": f"Shared {k}",
                            "params": params, "shared": True, "created_at": now})
    db.session.execute(insert(SavedFilter.__table__), filters)
    db.session.commit()
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()


def info_from_db(app) -> dict:
    """``--reuse``: query an already loaded database instead of loading it again."""
    from sqlalchemy import func, select

    from app.engine.models import ProcessInstance
    from app.extensions import db
    from app.people.models import Organisation, Region

    with app.app_context():
        region = db.session.scalars(select(Region.id).order_by(Region.id).offset(7).limit(1)).one()
        school = db.session.scalars(select(Organisation).where(Organisation.kind == "school",
                                                               Organisation.region_id == region)
                                    .order_by(Organisation.id)).first()
        return {"accountant": f"accountant_{school.id}",
                "official": f"official_{region}", "region": region, "school_name": school.name.split(" ", 2)[2],
                "school_bin": school.bin, "number": f"ACT-{school.bin}", "load_seconds": 0.0,
                "instances": db.session.scalar(select(func.count(ProcessInstance.id)))}


NAMES = ["Bilim", "Nur", "Alatau", "Daryn", "Zerde", "Murager", "Talap", "Umit", "Oqu", "Keleshek"]


def measure(app, info: dict, repeat: int) -> list[tuple[str, float, float, int]]:
    from sqlalchemy import select

    from app.extensions import db
    from app.inbox.queries import count_query, open_tasks_for
    from app.people.models import User

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/login", data={"username": info["official"], "password": "pw"})
    assert response.status_code == 302, "benchmark login failed"
    due = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    cases = [
        ("inbox page (my tasks)", "/inbox"),
        ("filter: process", "/inbox?process=monthly_act"),
        ("filter: task", "/inbox?task=accept_act"),
        ("filter: school name", f"/inbox?school={info['school_name']}"),
        ("filter: school BIN", f"/inbox?school={info['school_bin']}"),
        ("filter: status overdue", "/inbox?status=overdue"),
        ("filter: status due soon", "/inbox?status=due_soon"),
        ("filter: status unclaimed", "/inbox?status=unclaimed"),
        ("filter: due on or before", f"/inbox?due_before={due}"),
        ("search: act number", f"/inbox?q={info['number']}"),
        ("sort: due date", "/inbox?sort=due"),
        ("page 5", "/inbox?page=5"),
        ("view: group", "/inbox?view=group"),
        ("view: waiting for", "/inbox?view=waiting"),
        ("view: completed by me", "/inbox?view=completed"),
    ]
    from sqlalchemy import event

    sql_ms = [0.0]

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        sql_ms[0] += (time.perf_counter() - conn.info.pop("bench_started")) * 1000

    results = []
    for label, url in cases:
        times, sql_times = [], []
        rows = 0
        for _ in range(repeat + 2):
            sql_ms[0] = 0.0
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            sql_times.append(sql_ms[0])
            assert response.status_code == 200, (url, response.status_code)
            rows = response.get_data(as_text=True).count("<tr data-task-id=")
        times, sql_times = times[2:], sql_times[2:]  # the first two warm caches
        results.append((label, statistics.median(times), _p95(times), statistics.median(sql_times),
                        _p95(sql_times), rows))
    with app.app_context():
        official = db.session.scalars(select(User).where(User.username == info["official"])).one()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            count = count_query(open_tasks_for(official))
            times.append((time.perf_counter() - started) * 1000)
        results.append(("count query (nav badge)", statistics.median(times), _p95(times), statistics.median(times),
                        _p95(times), count))
    return results


PEOPLE = ("official", "deputy", "head", "accountant", "operator")


def measure_people(app, info: dict, repeat: int) -> list[dict]:
    """Each person's own pages: inbox, a saved filter of theirs, one shared in their organisation, the
    notifications page and the unread badge. ``repeat`` requests per page after two warm-up requests."""
    from sqlalchemy import select

    from app.extensions import db
    from app.inbox.models import SavedFilter
    from app.people.models import User

    region = info["region"]
    usernames = {"official": f"official_{region}", "deputy": f"deputy_{region}", "head": f"head_{region}",
                 "accountant": info["accountant"], "operator": "operator_1"}
    out = []
    for role in PEOPLE:
        username = usernames[role]
        with app.app_context():
            person = db.session.scalars(select(User).where(User.username == username)).one()
            own = db.session.scalars(select(SavedFilter.id).where(SavedFilter.owner_id == person.id)
                                     .order_by(SavedFilter.id)).first()
            shared = db.session.scalars(select(SavedFilter.id).where(
                SavedFilter.organisation_id == person.organisation_id, SavedFilter.shared.is_(True))
                .order_by(SavedFilter.id)).first()
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = client.post("/login", data={"username": username, "password": "pw"})
        assert response.status_code == 302, f"benchmark login of {username} failed"
        cases = [("inbox", "/inbox"), ("saved filter", f"/inbox?filter={own}"),
                 ("shared filter", f"/inbox?filter={shared}"), ("notifications", "/notifications"),
                 ("unread badge", "/notifications/unread.json")]
        every = []
        for label, url in cases:
            times = []
            rows = 0
            for _ in range(repeat + 2):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (username, url, response.status_code)
                body = response.get_data(as_text=True)
                rows = body.count("<tr data-task-id=") if url.startswith("/inbox") else 0
            times = times[2:]
            every += times
            out.append({"person": role, "case": label, "p50": statistics.median(times), "p95": _p95(times),
                        "requests": len(times), "rows": rows})
        out.append({"person": role, "case": "all their requests", "p50": statistics.median(every),
                    "p95": _p95(every), "requests": len(every), "rows": 0})
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100, help="requests per case (p95 of 100 is the 95th)")
    parser.add_argument("--notes", type=int, default=300, help="notifications per person")
    parser.add_argument("--reuse", action="store_true", help="measure an already loaded database again")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL") or "sqlite:////tmp/tapsyrys_inbox_bench.sqlite")
    args = parser.parse_args()
    if args.database.startswith("sqlite:///") and not args.reuse:
        Path(args.database.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = build_app(args.database)
    if args.reuse:
        info = info_from_db(app)
    else:
        reset_schema(app)
        info = load(app, args.rows, notes_per_person=args.notes)
    with app.app_context():
        from app.extensions import db

        dialect = db.engine.dialect.name
    with app.app_context():
        from sqlalchemy import func, select

        from app.engine.models import HumanTask

        rows = db.session.scalar(select(func.count(HumanTask.id)))
    print(f"Inbox benchmark on {dialect}: {rows:,} human tasks, {info['instances']:,} instances, 20 regions, "
          f"{SCHOOLS} schools; loaded in {info['load_seconds']:.1f} s; {args.repeat} requests per case; "
          f"official of region #{info['region']}")
    results = measure(app, info, args.repeat)
    print("server time = whole request through the Flask test client; SQL = time inside the database driver")
    print(f"{'case':<28} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'SQL p95':>8} {'rows':>7}")
    for label, p50, p95, sql50, sql95, rows in results:
        flag = "" if p95 <= TARGET_P95_MS else "  > 50 ms"
        print(f"{label:<28} {p50:8.1f} {p95:8.1f} {sql50:8.1f} {sql95:8.1f} {rows:7}{flag}")
    people = measure_people(app, info, args.repeat)
    print(f"\nfive people of different roles ({args.repeat} requests per page; 'all' pools their requests):")
    print(f"{'person':<11} {'page':<20} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'rows':>6}")
    for r in people:
        flag = "" if r["p95"] <= TARGET_P95_MS else "  > 50 ms"
        print(f"{r['person']:<11} {r['case']:<20} {r['requests']:>8} {r['p50']:8.1f} {r['p95']:8.1f} "
              f"{r['rows']:>6}{flag}")
    worst = max([r[2] for r in results] + [r["p95"] for r in people])
    print(f"worst p95: {worst:.1f} ms (target on PostgreSQL: p95 < {TARGET_P95_MS:.0f} ms); "
          f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
