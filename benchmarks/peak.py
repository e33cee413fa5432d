"""Month-end peak with faults (issue 12 §6): the scale-out mode under load while its processes are killed.

On 127.0.0.1 only. Builds a fresh PostgreSQL database (migrations), seeds the demo world plus ``--schools``
schools of its own (``--students`` NEDB students each, an open act for last month), starts gunicorn with
``--workers`` sync workers and a real Celery worker with beat on Redis (db 6), then plays the month end with a
bounded pool of client threads (requests): schools submit their acts (inbox, task page, JSON API), the three
regional officials accept them, the operator pays them and uploads a NEDB import of ``--import-rows`` rows. During
the run the Celery worker is killed with SIGKILL in the middle of the import and started again, and one gunicorn
worker is killed with SIGKILL. Prints requests/s, p50/p95 per page and API call and the errors (5xx apart, failed
connections split into "in flight on a killed worker" and others), then checks: every act paid at most once and at
its accepted amount, nothing lost (every act paid), no stuck job, no stuck instance, the audit chains verify.
The operator pays from ``--payers`` sessions of the one account at once: they log in together and race for the
same acts (the loser of each race is told 409; nothing is paid twice).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/peak_bench .venv/bin/python benchmarks/peak.py
    .venv/bin/python benchmarks/peak.py --schools 30 --import-rows 20000      # quicker

The database's name must contain "bench" or "perf" (it is emptied); it is created if missing. Exit status 1 when a
check fails or a request failed other than in flight on a killed worker.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, cleanup, ensure_database, make_app  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/peak_bench"
BROKER = "redis://127.0.0.1:6379/6"
PASSWORD = "peak-bench-pw"  # noqa: S105 - a throw-away benchmark database
IMPORT_BIN = "960340000019"  # the NEDB import's school (a valid BIN); no act refers to it
REGIONS = {"ASTANA": "official", "ALMATY": "official_almaty", "SHYMKENT": "official_shymkent"}
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# -- set-up -------------------------------------------------------------------------------------------------------
@dataclass
class World:
    period: date
    acts: dict[int, int]  # instance id -> act id (the benchmark's acts)
    schools: list[dict]  # username, lines, region
    expected_tiyn: int = 0


def seed(application, schools: int, students: int) -> World:
    """The demo world, then schools of the benchmark's own in the three demo regions with an official."""
    from sqlalchemy import select

    from app.acts.operations import open_monthly_act
    from app.demo.seed import _student, make_bin, seed_demo
    from app.extensions import db
    from app.people.models import Organisation, Region, User
    from app.registry.models import BusinessRecord, Licence, NedbEnrollment

    rng = random.Random(12)
    with application.app_context():
        result = seed_demo(password=PASSWORD)
        period = result["period"]
        year_start = date(period.year if period.month >= 9 else period.year - 1, 9, 1)
        regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(REGIONS)))}
        world = World(period=period, acts={}, schools=[])
        codes = sorted(REGIONS)
        for n in range(schools):
            region = regions[codes[n % len(codes)]]
            org = Organisation(kind="school", bin=make_bin(rng, date(2014, 1 + n % 12, 1)), name=f"Peak School {n + 1}",
                               region_id=region.id, design_capacity=students * 2, iban="KZ86125KZT5004100100")
            db.session.add(org)
            db.session.flush()
            db.session.add(BusinessRecord(bin=org.bin, name=org.name, status="active", oked="85.31"))
            db.session.add(Licence(number=f"KZ{n:05d}PEAK", bin=org.bin, valid_from=date(2010, 1, 1), valid_until=None,
                                   levels="primary,basic,secondary"))
            user = User(username=f"peak_accountant_{n + 1}", full_name=f"Peak Accountant {n + 1}",
                        role="school_accountant", organisation_id=org.id, created_at=datetime.now(UTC),
                        email=f"peak{n + 1}@bench.invalid")
            user.set_password(PASSWORD)
            db.session.add(user)
            lines = []
            for i in range(students):
                grade = 1 + i % 11
                iin, name = _student(rng, grade, year_start)
                db.session.add(NedbEnrollment(iin=iin, full_name=name, school_bin=org.bin, school_kind="private",
                                              grade=grade, enrolled_on=year_start, withdrawn_on=None))
                lines.append({"iin": iin, "full_name": name, "grade": grade, "days_attended": 18})
            if n % 5 == 0:  # every fifth school claims a child nobody registered: the line is excluded
                iin, name = _student(rng, 4, year_start)
                lines.append({"iin": iin, "full_name": name, "grade": 4, "days_attended": 18})
            db.session.flush()
            act = open_monthly_act(org, period)
            db.session.flush()
            world.acts[act.instance_id] = act.id
            world.schools.append({"username": user.username, "lines": lines, "region": region.code})
        db.session.commit()
    return world


def import_file(rows: int) -> bytes:
    from app.demo.seed import make_iin

    rng = random.Random(99)
    seen: set[str] = set()
    out = io.StringIO()
    out.write("iin,full_name,school_bin,school_kind,grade,enrolled_on\n")
    while len(seen) < rows:
        iin = make_iin(rng, date(2010 + rng.randint(0, 8), rng.randint(1, 12), rng.randint(1, 28)), rng.random() < .5)
        if iin in seen:
            continue
        seen.add(iin)
        out.write(f"{iin},Peak Import {len(seen)},{IMPORT_BIN},private,{rng.randint(1, 11)},2026-09-01\n")
    return out.getvalue().encode()


# -- processes ----------------------------------------------------------------------------------------------------
class Servers:
    def __init__(self, env: dict, folder: Path, workers: int) -> None:
        self.env, self.folder, self.workers = env, folder, workers
        self.port = _free_port()
        self.gunicorn: subprocess.Popen | None = None
        self.celery: subprocess.Popen | None = None
        self.celery_starts = 0

    def start_gunicorn(self) -> None:
        bin_dir = Path(sys.executable).parent
        log = open(self.folder / "gunicorn.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.gunicorn = subprocess.Popen(  # noqa: S603 - our own command line
            [str(bin_dir / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_celery(self) -> None:
        bin_dir = Path(sys.executable).parent
        self.celery_starts += 1
        log = open(self.folder / f"celery-{self.celery_starts}.log", "ab")  # noqa: SIM115
        self.celery = subprocess.Popen(  # noqa: S603 - our own command line
            [str(bin_dir / "celery"), "-A", "app.celery_worker", "worker", "-B", "-s",
             str(self.folder / "beat-schedule"), "--pool", "solo", "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill_celery(self) -> None:
        os.killpg(self.celery.pid, signal.SIGKILL)
        self.celery.wait(timeout=10)

    def gunicorn_workers(self) -> list[int]:
        path = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def kill_one_gunicorn_worker(self) -> int | None:
        pids = self.gunicorn_workers()
        if not pids:
            return None
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def stop(self) -> None:
        for proc in (self.gunicorn, self.celery):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the clients --------------------------------------------------------------------------------------------------
@dataclass
class Call:
    name: str
    started: float
    ended: float
    status: int | None  # None: the connection failed
    error: str = ""


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.kills: list[float] = []  # monotonic times a gunicorn worker was killed

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


class Client:
    """One person's browser: a session cookie, the CSRF token of the last page, every request recorded."""

    def __init__(self, base: str, recorder: Recorder, username: str) -> None:
        import requests

        self.base, self.recorder, self.username = base, recorder, username
        self.http = requests.Session()
        self.csrf = ""

    def request(self, method: str, path: str, name: str, **kwargs):
        import requests

        started = time.monotonic()
        try:
            response = self.http.request(method, self.base + path, timeout=120, allow_redirects=False, **kwargs)
        except requests.RequestException as err:
            self.recorder.add(Call(name, started, time.monotonic(), None, type(err).__name__))
            return None
        self.recorder.add(Call(name, started, time.monotonic(), response.status_code,
                               response.text[:300] if response.status_code >= 500 else ""))
        if response.headers.get("Content-Type", "").startswith("text/html"):
            found = CSRF_META.search(response.text)
            if found:
                self.csrf = found.group(1)
        return response

    def login(self) -> None:
        while True:
            page = self.request("GET", "/login", "GET /login")
            token = CSRF_INPUT.search(page.text) if page is not None else None
            if token:
                done = self.request("POST", "/login", "POST /login", data={
                    "username": self.username, "password": PASSWORD, "csrf_token": token.group(1)})
                if done is not None and done.status_code == 302:
                    self.request("GET", "/inbox", "GET /inbox")
                    return
            time.sleep(0.2)

    def tasks(self, spec_name: str, wanted: set[int]) -> list[dict] | None:
        response = self.request("GET", "/api/v1/tasks", "GET /api/v1/tasks")
        if response is None or response.status_code != 200:
            return None
        return [t for t in response.json() if t["spec_name"] == spec_name and t["instance_id"] in wanted]

    def complete(self, task: dict, data: dict) -> str:
        """'done' (completed now, or found completed by an earlier attempt), or 'again'."""
        self.request("GET", f"/tasks/{task['id']}", f"GET /tasks/<id> ({task['spec_name']})")
        response = self.request("POST", f"/api/v1/tasks/{task['id']}/complete",
                                f"POST /api/v1/tasks/<id>/complete ({task['spec_name']})",
                                json={"data": data}, headers={"X-CSRFToken": self.csrf})
        if response is None or response.status_code >= 500:
            return "again"
        return "done" if response.status_code in (200, 404, 409) else f"refused {response.status_code}"


def school_worker(base, recorder, queue: list, lock, wanted: set[int], stop: threading.Event) -> None:
    while not stop.is_set():
        with lock:
            if not queue:
                return
            school = queue.pop()
        client = Client(base, recorder, school["username"])
        client.login()
        client.request("GET", "/acts", "GET /acts")
        while not stop.is_set():
            tasks = client.tasks("submit_act", wanted)
            if tasks is None:
                time.sleep(0.2)
                continue
            if not tasks:
                break  # submitted (by an attempt whose answer was lost, or now)
            if client.complete(tasks[0], {"note": "peak", "lines": school["lines"]}) != "again":
                break
        client.request("GET", "/inbox", "GET /inbox")


def decider(base, recorder, username: str, spec_name: str, data, wanted: set[int], stop: threading.Event,
            extra_pages: tuple[str, ...] = ()) -> None:
    client = Client(base, recorder, username)
    client.login()
    rounds = 0
    while not stop.is_set():
        rounds += 1
        for page in extra_pages if rounds % 5 == 0 else ():
            client.request("GET", page, f"GET {page}")
        tasks = client.tasks(spec_name, wanted)
        if not tasks:
            time.sleep(0.3)
            continue
        for task in tasks[:10]:
            if stop.is_set():
                return
            client.complete(task, data(task))


def operator_import(base, recorder, payload: bytes, job_box: dict) -> None:
    client = Client(base, recorder, "operator")
    client.login()
    client.request("GET", "/registry", "GET /registry")
    while True:
        response = client.request("POST", "/registry/imports", "POST /registry/imports",
                                  data={"kind": "nedb", "csrf_token": client.csrf},
                                  files={"file": ("nedb-peak.csv", payload, "text/csv")})
        if response is not None and response.status_code == 303:
            job_box["id"] = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
            break
        time.sleep(0.5)
    while "done" not in job_box:
        client.request("GET", f"/registry/imports/{job_box['id']}/progress", "GET /registry/imports/<id>/progress")
        time.sleep(1)


# -- the run ------------------------------------------------------------------------------------------------------
def main() -> int:  # noqa: C901 - one scenario, told in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=90)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--school-clients", type=int, default=6, help="schools submitting at the same time")
    parser.add_argument("--payers", type=int, default=2, help="operator sessions paying at the same time")
    parser.add_argument("--import-rows", type=int, default=40_000)
    parser.add_argument("--timeout", type=int, default=900, help="seconds before the run gives up")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    folder = Path(tempfile.mkdtemp(prefix="tapsyrys-peak-"))
    (folder / "imports").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "BACKGROUND_MODE": "celery", "CELERY_BROKER_URL": BROKER, "TICKER_INTERVAL_SECONDS": "2",
           "REGISTRY_UPLOAD_DIR": str(folder / "imports"), "AUDIT_KEY": secrets.token_hex(32),
           "AUDIT_KEY_ID": "peak1", "AUDIT_ANCHOR_DIR": str(folder / "anchors"),
           "AUDIT_KEY_FILE": str(folder / "no-key-file"),
           "JOB_LEASE_SECONDS": "10", "JOB_QUEUE_TIMEOUT_SECONDS": "60", "DEFAULT_LOCALE": "en"}
    os.environ.update({k: env[k] for k in ("AUDIT_KEY", "AUDIT_KEY_ID", "AUDIT_ANCHOR_DIR", "AUDIT_KEY_FILE",
                                           "SECRET_KEY", "REGISTRY_UPLOAD_DIR", "JOB_LEASE_SECONDS")})
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    t0 = time.monotonic()
    application = make_app(url)
    world = seed(application, args.schools, args.students)
    payload = import_file(args.import_rows)
    print(f"Seeded {len(world.acts)} acts of {args.schools} schools × {args.students} students for "
          f"{world.period:%Y-%m} in {time.monotonic() - t0:.0f} s; NEDB import of {args.import_rows:,} rows "
          f"({len(payload) / 1e6:.1f} MB)")

    servers = Servers(env, folder, args.workers)
    recorder = Recorder()
    notes: list[str] = []
    try:
        servers.start_celery()
        servers.start_gunicorn()
        _wait(lambda: _ready(servers.port), 60, "gunicorn")
        base = f"http://127.0.0.1:{servers.port}"
        wanted = set(world.acts)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        queue, lock = list(reversed(world.schools)), threading.Lock()
        for _ in range(args.school_clients):
            threads.append(threading.Thread(target=school_worker, args=(base, recorder, queue, lock, wanted, stop)))
        for official in REGIONS.values():
            threads.append(threading.Thread(target=decider, args=(
                base, recorder, official, "accept_act", lambda t: {"decision": "accept", "comment": ""}, wanted, stop,
                ("/inbox", "/acts"))))
        today = date.today().isoformat()
        for _ in range(args.payers):  # the operator's staff at several desks, one account: they race for each act
            threads.append(threading.Thread(target=decider, args=(
                base, recorder, "operator", "pay_act",
                lambda t: {"order_number": f"PEAK-{t['instance_id']}", "paid_on": today}, wanted, stop,
                ("/instances", "/inbox"))))
        job_box: dict = {}
        threads.append(threading.Thread(target=operator_import, args=(base, recorder, payload, job_box)))
        started = time.monotonic()
        for thread in threads:
            thread.daemon = True
            thread.start()

        # -- faults: the Celery worker dies in the middle of the import; a gunicorn worker dies mid-peak --
        with application.app_context():
            job = _wait(lambda: _import_progress(application, job_box), 120, "the import's first committed batch")
            servers.kill_celery()
            notes.append(f"{time.monotonic() - started:6.1f} s: Celery worker killed (SIGKILL) during the import "
                         f"at {job[0]:,} of {job[1]:,} rows")
            time.sleep(1)
            servers.start_celery()
            notes.append(f"{time.monotonic() - started:6.1f} s: Celery worker started again")
            _wait(lambda: _paid(application, world) >= len(world.acts) // 3, args.timeout, "a third of the acts paid")
            pid = servers.kill_one_gunicorn_worker()
            recorder.kills.append(time.monotonic())
            notes.append(f"{time.monotonic() - started:6.1f} s: gunicorn worker {pid} killed (SIGKILL); "
                         f"{_paid(application, world)} acts paid so far")
            _wait(lambda: _paid(application, world) >= len(world.acts), args.timeout, "every act paid")
            load_seconds = time.monotonic() - started
            notes.append(f"{load_seconds:6.1f} s: every act paid")
            stop.set()
            _wait(lambda: _import_finished(application, job_box), 240, "the import to finish")
            job_box["done"] = True
            for thread in threads:
                thread.join(timeout=30)
            time.sleep(2 * float(env["TICKER_INTERVAL_SECONDS"]) + 1)  # one more background pass (announcements)
    finally:
        servers.stop()

    report = _report(recorder, load_seconds)
    print("\n".join(["", "Timeline:", *notes]))
    failures = _checks(application, world, job_box)
    failures += report
    cleanup(str(folder))
    print("\nRESULT:", "all checks passed" if not failures else f"{len(failures)} problem(s)")
    for problem in failures:
        print("  ✗", problem)
    return 1 if failures else 0


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")


def _ready(port: int) -> bool:
    import requests

    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _fresh(application, query):
    from app.extensions import db

    with application.app_context():
        try:
            return db.session.execute(query).all()
        finally:
            db.session.remove()


def _import_progress(application, job_box: dict):
    from sqlalchemy import select

    from app.registry.models import RegistryImport

    if "id" not in job_box:
        return None
    row = _fresh(application, select(RegistryImport.processed_rows, RegistryImport.total_rows)
                 .where(RegistryImport.id == job_box["id"]))
    return row[0] if row and row[0][0] else None


def _import_finished(application, job_box: dict) -> bool:
    from sqlalchemy import select

    from app.registry.models import RegistryImport

    row = _fresh(application, select(RegistryImport.status).where(RegistryImport.id == job_box["id"]))
    return bool(row) and row[0][0] in ("done", "failed")


def _paid(application, world: World) -> int:
    from sqlalchemy import func, select

    from app.acts.models import Act

    return _fresh(application, select(func.count(Act.id)).where(Act.id.in_(list(world.acts.values())),
                                                                 Act.status == "paid"))[0][0]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# -- figures and checks -------------------------------------------------------------------------------------------
def _report(recorder: Recorder, seconds: float) -> list[str]:
    calls = recorder.calls
    by_name: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_name[call.name].append(call)
    print(f"\n{len(calls):,} requests in {seconds:.1f} s: {len(calls) / seconds:.1f} requests/s")
    print(f"\n| {'page or API call':<52} | {'n':>5} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | errors |")
    print(f"|{'-' * 54}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 9}|--------|")
    for name in sorted(by_name):
        group = by_name[name]
        ms = [(c.ended - c.started) * 1000 for c in group if c.status is not None]
        bad = sum(1 for c in group if c.status is None or c.status >= 500)
        print(f"| {name:<52} | {len(group):>5} | {percentile(ms, 50):>7.1f} | {percentile(ms, 95):>7.1f} | "
              f"{max(ms, default=0):>7.1f} | {bad:>6} |")
    in_flight = [c for c in calls if (c.status is None or c.status >= 500)
                 and any(c.started <= k <= c.ended for k in recorder.kills)]
    server_errors = [c for c in calls if c.status is not None and c.status >= 500 and c not in in_flight]
    broken = [c for c in calls if c.status is None and c not in in_flight]
    statuses = defaultdict(int)
    for c in calls:
        statuses[c.status or "no answer"] += 1
    print(f"\nAnswers: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")
    refused = defaultdict(int)
    for c in calls:
        if c.status is not None and 400 <= c.status < 500:
            refused[f"{c.status} {c.name}"] += 1
    if refused:
        print("Refusals (4xx; a 409 is the loser of a race for the same task):",
              ", ".join(f"{name}: {n}" for name, n in sorted(refused.items())))
    print(f"Failed in flight on the killed gunicorn worker: {len(in_flight)}; other 5xx: {len(server_errors)}; "
          f"other failed connections: {len(broken)}")
    problems = []
    for c in server_errors[:10]:
        problems.append(f"{c.status} on {c.name}: {c.error[:200]}")
    for c in broken[:10]:
        problems.append(f"no answer on {c.name}: {c.error}")
    return problems


def _checks(application, world: World, job_box: dict) -> list[str]:
    from sqlalchemy import func, select

    from app.acts.models import Act
    from app.audit.models import AuditEvent
    from app.audit.operations import verify_audit_trail
    from app.engine.incidents import Incident
    from app.engine.models import HumanTask, ProcessInstance
    from app.extensions import db
    from app.jobs import BackgroundJobMixin  # noqa: F401 - the jobs' shared columns
    from app.payments.models import Payment
    from app.registry.jobs import JOB_MODELS
    from app.registry.models import NedbEnrollment, RegistryImport

    problems: list[str] = []
    print("\nChecks:")
    with application.app_context():
        act_ids = list(world.acts.values())
        payments = db.session.execute(select(Payment.act_id, func.count(Payment.id), func.sum(Payment.amount_tiyn))
                                      .where(Payment.act_id.in_(act_ids)).group_by(Payment.act_id)).all()
        twice = [a for a, n, _ in payments if n > 1]
        accepted = {}
        for object_id, details in db.session.execute(
                select(AuditEvent.object_id, AuditEvent.details).where(AuditEvent.action == "act.accepted",
                                                                      AuditEvent.object_id.in_(act_ids))
                .order_by(AuditEvent.id)):
            accepted[object_id] = details.get("amount_tiyn")
        wrong = [a for a, _n, paid in payments if accepted.get(a) != paid]
        unpaid = db.session.scalar(select(func.count(Act.id)).where(Act.id.in_(act_ids), Act.status != "paid"))
        total = sum(p for _a, _n, p in payments)
        print(f"  payments: {len(payments)} acts paid, {len(twice)} paid twice, {len(wrong)} not at their accepted "
              f"amount, {unpaid} not paid; {total / 100:,.2f} ₸ in all")
        if twice or wrong or unpaid:
            problems.append(f"payments: twice {twice[:5]}, wrong amount {wrong[:5]}, {unpaid} unpaid")
        for name, model in JOB_MODELS().items():
            stuck = db.session.scalars(select(model.id).where(model.status.in_(("queued", "running")))).all()
            print(f"  jobs {name}: {len(stuck)} queued or running")
            if stuck:
                problems.append(f"stuck {name} jobs: {stuck}")
        job = db.session.get(RegistryImport, job_box.get("id")) if job_box.get("id") else None
        loaded = db.session.scalar(select(func.count(NedbEnrollment.id)).where(NedbEnrollment.school_bin == IMPORT_BIN))
        if job is not None:
            print(f"  import: {job.status}, {job.attempts} run(s), {job.loaded_rows:,} rows loaded, "
                  f"{job.rejected_rows:,} rejected, {loaded:,} in NEDB (each row once: "
                  f"{loaded == job.loaded_rows == job.total_rows})")
            if not (job.status == "done" and loaded == job.loaded_rows == job.total_rows):
                problems.append(f"import {job.id}: {job.status} {job.message or ''}, {loaded} rows in NEDB of "
                                f"{job.total_rows}")
        running = db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(list(world.acts)),
                                                                       ProcessInstance.status != "completed")).all()
        overdue = db.session.scalar(select(func.count(ProcessInstance.id)).where(
            ProcessInstance.status == "running",
            ProcessInstance.next_timer_at < datetime.now(UTC) - timedelta(minutes=1)))
        incidents = db.session.scalars(select(Incident.id).where(Incident.status.in_(("open", "retrying")))).all()
        unannounced = db.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.status == "open", HumanTask.announced_at.is_(None)))
        print(f"  instances: {len(world.acts) - len(running)} of {len(world.acts)} completed; {overdue} with a timer "
              f"overdue; {len(incidents)} open incidents; {unannounced} open tasks never announced")
        if running or overdue or incidents or unannounced:
            problems.append(f"stuck instances: not completed {running[:5]}, overdue timers {overdue}, incidents "
                            f"{incidents[:5]}, unannounced tasks {unannounced}")
        started = time.monotonic()
        audit = verify_audit_trail()
        print(f"  audit: {audit.chains:,} chains verified in {time.monotonic() - started:.1f} s, "
              f"{len(audit.problems)} problem(s)")
        problems += [f"audit: {p}" for p in audit.problems[:10]]
    return problems


if __name__ == "__main__":
    sys.exit(main())
