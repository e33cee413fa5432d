"""Engine throughput: the approval lifecycle through four paths in one run (issue 7).

1. engine limit  — SpiffWorkflow alone, in memory (parse once; per instance create, run, complete the two
   user tasks, finish), scripts under our RestrictedScriptEngine;
2. service layer — ``app.engine.runtime.start_instance`` / ``complete_task`` with full persistence: instance
   row (optimistic lock), human-task rows, hash-chained audit events, server-side form validation; every
   step its own transaction and a fresh session, as a web request has;
3. HTTP, API     — the real JSON endpoint through the Flask test client, logged in as the two roles, CSRF
   token in every POST: ``POST /api/v1/tasks/<id>/complete`` (the same complete_task as the page);
4. HTTP, page    — ``POST /tasks/<id>`` exactly as the task page's form does, then the redirect to the inbox
   page followed as a browser does (the inbox's queries and template are in the measured time).

New tasks are announced (bell, e-mail outbox) and the SQLite log is checkpointed by the app's background
pass; it runs inside every measured loop every 100 instances, so its cost is in the figures.

The model is benchmarks/data/approval_scripts.bpmn (the team's shared model) with trivial forms; lanes "Requester" and
"Department" map to the school-accountant and department-official roles in this benchmark's own set-up.
The project's monthly-act model runs through the same paths (its Verify contingent service task reads NEDB
from the database, so its figures are reported separately).

    .venv/bin/python benchmarks/lifecycle.py                     # SQLite, 5,000 approval instances per path
    .venv/bin/python benchmarks/lifecycle.py --instances 500     # quick run
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tapsyrys_perf .venv/bin/python benchmarks/lifecycle.py
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace

from _common import (
    ROOT,
    PathResult,
    SqlCounter,
    benchmark_database_url,
    cleanup,
    machine_description,
    make_app,
    print_table,
)

APPROVAL_BPMN = ROOT / "benchmarks" / "data" / "approval_scripts.bpmn"  # the team's shared model, kept here
APPROVAL_PROCESS = "approval_scripts"
SUBMIT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Submit act", "type": "object", "additionalProperties": False, "required": ["amount"],
    "properties": {"amount": {"type": "integer", "title": "Amount", "minimum": 0, "maximum": 1_000_000}},
}
APPROVE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Approve act", "type": "object", "additionalProperties": False, "required": ["approved"],
    "properties": {"approved": {"type": "boolean", "title": "Approved"}},
}
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
SEED_AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
PERF_STUDENTS = 10


# --------------------------------------------------------------------------------------------------
# Set-up (not measured)


def approval_files() -> dict[str, str]:
    return {
        APPROVAL_BPMN.name: APPROVAL_BPMN.read_text(encoding="utf-8"),
        "submit-schema.json": json.dumps(SUBMIT_SCHEMA, indent=2),
        "approve-schema.json": json.dumps(APPROVE_SCHEMA, indent=2),
    }


def register_approval_lanes() -> None:
    from app.engine.lanes import register_lane
    from app.people.roles import Role

    register_lane("Requester", Role.SCHOOL_ACCOUNTANT.value)
    register_lane("Department", Role.DEPARTMENT_OFFICIAL.value)


def set_up_world(application, act_months: int = 0) -> dict:
    """Demo world, the approval model published, and a school of the benchmark's own for monthly acts."""
    import random

    from sqlalchemy import select

    from app import clock
    from app.acts.models import StudentNorm
    from app.demo.seed import make_bin, make_iin, seed_demo
    from app.engine.publishing import publish_version
    from app.extensions import db
    from app.people.models import Organisation, User
    from app.registry.models import BusinessRecord, Licence, NedbEnrollment

    register_approval_lanes()
    with application.app_context(), clock.FrozenClock(SEED_AT):
        seed_demo(password="pw")  # noqa: S106 - throw-away benchmark database
        publish_version(approval_files())
        accountant = db.session.scalars(select(User).where(User.username == "accountant")).one()
        rng = random.Random(7)
        school = Organisation(kind="school", bin=make_bin(rng, date(2011, 1, 10)), name="Perf Benchmark School",
                              region_id=accountant.organisation.region_id, design_capacity=10_000,
                              iban="KZ86125KZT5004100100")
        db.session.add(school)
        db.session.flush()
        perf_accountant = User(username="perf_accountant", full_name="Perf Accountant",
                               role="school_accountant", organisation_id=school.id, created_at=clock.now(),
                               email="perf_accountant@bench.invalid")
        perf_accountant.set_password("pw")
        db.session.add(perf_accountant)
        # No record, no payment: the school needs its business-register entry and a licence for every level (without
        # them every line was excluded, and the run's check printed "0 of N lines accepted").
        db.session.add(BusinessRecord(bin=school.bin, name=school.name, status="active", oked="85.31"))
        db.session.add(Licence(number="PERF-0001", bin=school.bin, valid_from=date(1900, 1, 1), valid_until=None,
                               levels="primary,basic,secondary"))
        # One class of students per academic year the acts fall in, each child of an age that fits their grade that
        # year (the identity check puts an implausible age up for review, and an act with a line to review cannot be
        # accepted: one class born in 2012-2016 for acts going back decades had every act refused).
        cohorts: dict[int, list[dict]] = {}
        for year in range(_academic_year(_act_period(act_months)), 2027):
            cohorts[year] = []
            for i in range(PERF_STUDENTS):
                grade = 1 + i % 11
                iin = make_iin(rng, date(year - grade - 5, 1 + i % 6, 1 + i), i % 2 == 0)
                name = f"Оқушы {year}-{i}"
                cohorts[year].append({"iin": iin, "full_name": name, "grade": grade})
                db.session.add(NedbEnrollment(iin=iin, full_name=name, school_bin=school.bin, school_kind="private",
                                              grade=grade, enrolled_on=date(1900, 9, 1), withdrawn_on=None))
        norms = db.session.scalars(select(StudentNorm)).all()
        have = {(n.academic_year, n.level) for n in norms}
        for year in range(1900, 2101):
            for norm in [n for n in norms if n.academic_year == norms[0].academic_year]:
                key = (f"{year}/{year + 1}", norm.level)
                if key not in have:
                    db.session.add(StudentNorm(academic_year=key[0], level=norm.level,
                                               monthly_tiyn=norm.monthly_tiyn))
        db.session.commit()
        users = {u.username: u.id for u in db.session.scalars(select(User)).all()}
        return {"school_id": school.id, "cohorts": cohorts, "users": users,
                "region_id": accountant.organisation.region_id, "approval_org_id": accountant.organisation_id}


class TaskTracker:
    """Remembers the human tasks the engine opens (as their rows are inserted), so no SQL is spent finding them."""

    def __init__(self) -> None:
        from sqlalchemy import event

        from app.engine.models import HumanTask

        self.open: dict[tuple[int, str], int] = {}
        event.listen(HumanTask, "after_insert", self._inserted)

    def _inserted(self, _mapper, _connection, row) -> None:
        self.open[(row.instance_id, row.spec_name)] = row.id

    def take(self, instance_id: int, spec_name: str) -> int:
        return self.open.pop((instance_id, spec_name))


# --------------------------------------------------------------------------------------------------
# Path 1: SpiffWorkflow alone, in memory


def path_engine_limit(files: dict[str, str], steps, n: int, service_caller=None) -> PathResult:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.engine.scripting import RestrictedScriptEngine
    from app.engine.specs import parse_files

    parsed = parse_files(files)
    engine = RestrictedScriptEngine(service_caller=service_caller)
    durations = []
    start_all = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.do_engine_steps()
        for spec_name, values in steps:
            task = wf.get_next_task(state=TaskState.READY, manual=True)
            assert task.task_spec.name == spec_name, (task.task_spec.name, spec_name)
            task.set_data(**values)
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
        durations.append(time.perf_counter() - t0)
    return PathResult("1. SpiffWorkflow in memory", durations, time.perf_counter() - start_all,
                      note="parse once; create, run, complete the user tasks; RestrictedScriptEngine")


# --------------------------------------------------------------------------------------------------
# Background work inside the measured time


TICK_EVERY = 100  # instances between two background passes (the ticker runs one every 30 s)


def background_pass(application, i: int, n: int) -> None:
    """The app's own background pass (``app.background.tick``: due timers, new tasks announced with bell and
    e-mail, SLA notices, outbox, SQLite checkpoint), inside the measured loop as often as a busy ticker would
    run it: the work it takes off the steps is still in the figures."""
    if (i + 1) % TICK_EVERY and i + 1 != n:
        return
    from app.background import tick

    tick(application)


# --------------------------------------------------------------------------------------------------
# Path 2: the engine API with full persistence


def path_service_layer(application, counter: SqlCounter, tracker: TaskTracker, n: int, start, steps) -> PathResult:
    """``start(i)`` starts instance i and returns it; each step completes a task with the page's form fields."""
    from app.engine.runtime import complete_task
    from app.extensions import db
    from app.people.models import User
    from app.people.views import _USER_BY_ID

    with application.app_context():
        user_ids = {u.username: u.id for u in db.session.query(User).all()}
    durations = []
    with counter.counting():
        start_all = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            with application.app_context():
                instance_id = start(i).id
                db.session.commit()
            for step in steps:
                # A fresh session per step, as each web request has: the actor is loaded by the login loader's own
                # statement (the loader itself now reads the request: a bearer token or the session's validity).
                with application.app_context():
                    actor = db.session.scalars(_USER_BY_ID, {"id": user_ids[step.username]}).unique().one()
                    complete_task(tracker.take(instance_id, step.spec_name), actor, form=step.form(i))
                    db.session.commit()
            background_pass(application, i, n)
            durations.append(time.perf_counter() - t0)
        total = time.perf_counter() - start_all
    return PathResult("2. service layer (engine API + DB)", durations, total, counter.statements, counter.commits,
                      note="start_instance + complete_task per step, each step its own transaction and session; "
                           "form validation, optimistic lock, audit chain, human-task table all on")


# --------------------------------------------------------------------------------------------------
# Paths 3 and 4: HTTP through the Flask test client


class Browser:
    def __init__(self, application, username: str) -> None:
        self.client = application.test_client()
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        page = self.client.get("/login").get_data(as_text=True)
        self.csrf = CSRF_RE.search(page).group(1)
        response = self.client.post("/login", data={"username": username, "password": "pw", "csrf_token": self.csrf})
        assert response.status_code == 302, f"login of {username} failed"
        self.csrf = CSRF_RE.search(self.client.get("/inbox").get_data(as_text=True)).group(1)

    def submit_page(self, task_id: int, form: dict[str, str]) -> None:
        """The task page's form, as a person sends it. A browser follows the redirect to the inbox, which shows
        (and so consumes) the "Done" message; not following it would pile every flash message into the
        session cookie."""
        response = self.client.post(f"/tasks/{task_id}", data={**form, "csrf_token": self.csrf},
                                    follow_redirects=True)
        if response.status_code != 200 or response.request.path != "/inbox":
            raise AssertionError(f"POST /tasks/{task_id}: {response.status_code}\n"
                                 f"{response.get_data(as_text=True)[:2000]}")

    def submit_api(self, task_id: int, data: dict, seen: int | None = None) -> None:
        """The JSON API a school's accounting system (or the page's script) calls: same validation, lock, audit."""
        body = {"data": data} if seen is None else {"data": data, "seen": seen}
        response = self.client.post(f"/api/v1/tasks/{task_id}/complete", json=body,
                                    headers={"X-CSRFToken": self.csrf})
        if response.status_code != 200:
            raise AssertionError(f"POST /api/v1/tasks/{task_id}/complete: {response.status_code}\n"
                                 f"{response.get_data(as_text=True)[:2000]}")


def act_version(application, instance_id: int) -> int:
    from sqlalchemy import select

    from app.acts.models import Act
    from app.engine.models import ProcessInstance
    from app.extensions import db

    with application.app_context():
        return db.session.scalar(select(Act.lock_version).join(ProcessInstance, ProcessInstance.subject_id == Act.id)
                                 .where(ProcessInstance.id == instance_id))


HTTP_API = "3. HTTP, JSON API (test client, logged in, CSRF)"
HTTP_PAGE = "4. HTTP, task page + inbox (as a browser)"


def path_http(application, counter: SqlCounter, tracker: TaskTracker, n: int, start, steps, api: bool) -> PathResult:
    from app.extensions import db

    browsers = {step.username: Browser(application, step.username) for step in steps}
    durations = []
    with counter.counting():
        start_all = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            with application.app_context():
                instance_id = start(i).id
                db.session.commit()
            for step in steps:
                task_id = tracker.take(instance_id, step.spec_name)
                data, form, seen = step.data(i), step.form(i), None
                if step.decides_act:  # an acceptance says which version of the act it read (as its page sends it)
                    seen = act_version(application, instance_id)
                    form = {**form, "_seen": str(seen)}
                if api:
                    browsers[step.username].submit_api(task_id, data, seen)
                else:
                    browsers[step.username].submit_page(task_id, form)
            background_pass(application, i, n)
            durations.append(time.perf_counter() - t0)
        total = time.perf_counter() - start_all
    if api:
        note = ("instance started through the engine API (no start page for this model), then "
                "POST /api/v1/tasks/<id>/complete with JSON as each role (X-CSRFToken header)")
    else:
        note = ("POST /tasks/<id> with the page's form fields as each role, following the redirect to the inbox "
                "page as a browser does (renders the inbox: its queries, counts and template)")
    return PathResult(HTTP_API if api else HTTP_PAGE, durations, total, counter.statements, counter.commits,
                      note=note)


# --------------------------------------------------------------------------------------------------
# The two models


@dataclass
class Step:
    spec_name: str
    username: str
    form: Callable[[int], dict[str, str]]  # the page's fields for instance i
    data: Callable[[int], dict]  # the same as JSON for instance i
    decides_act: bool = False  # the page and the API send the version of the act decided on


def approval_steps() -> list[Step]:
    return [
        Step("submit_act", "accountant", lambda i: {"amount": str(100 + i % 5000)},
             lambda i: {"amount": 100 + i % 5000}),
        Step("approve_act", "official", lambda i: {"approved": "true"}, lambda i: {"approved": True}),
    ]


def run_database_paths(application, counter, tracker, n: int, start, steps: list[Step], paths: set[str],
                       fresh_start=None) -> list[PathResult]:
    """The service layer and the two HTTP paths; ``fresh_start(k)`` gives each path its own ``start``."""
    runs = {"service": None, "api": True, "page": False}
    results = []
    for k, api in enumerate(api for name, api in runs.items() if name in paths):
        gc.collect()
        begin = fresh_start(k) if fresh_start else start
        if api is None:
            results.append(path_service_layer(application, counter, tracker, n, begin, steps))
        else:
            results.append(path_http(application, counter, tracker, n, begin, steps, api))
    return results


def run_approval(application, world, counter, tracker, n: int, paths: set[str]) -> list[PathResult]:
    from app.engine.runtime import start_instance

    def start(i: int):
        return start_instance(APPROVAL_PROCESS, title=f"Approval {i}", actor=None, region_id=world["region_id"],
                              organisation_id=world["approval_org_id"], data={"request_no": i})

    in_memory_steps = [("submit_act", {"amount": 500}), ("approve_act", {"approved": True})]
    results = [path_engine_limit(approval_files(), in_memory_steps, n)]
    return results + run_database_paths(application, counter, tracker, n, start, approval_steps(), paths)


def _academic_year(period: date) -> int:
    return period.year if period.month >= 9 else period.year - 1


def _act_period(i: int) -> date:
    """Instance i gets its own month (one act per school and month), going back from October 2026."""
    months = 2026 * 12 + 9 - i
    return date(months // 12, months % 12 + 1, 1)


def monthly_act_steps(current: dict) -> list[Step]:
    """``current["students"]``: the class of the act being run (set when its instance is started)."""
    order_numbers = itertools.count(1)

    def lines() -> list[dict]:
        return [{**student, "days_attended": 20} for student in current["students"]]

    def submit_form(_i: int) -> dict[str, str]:
        form = {"note": "benchmark"}
        for row, line in enumerate(lines()):
            for key, value in line.items():
                form[f"lines.{row}.{key}"] = str(value)
        return form

    def pay(_i: int) -> dict:  # paid the day it runs: a payment is never dated before the act's acceptance
        from app import clock

        return {"order_number": f"PP-{next(order_numbers)}", "paid_on": clock.today().isoformat()}

    return [
        Step("submit_act", "perf_accountant", submit_form, lambda i: {"note": "benchmark", "lines": lines()}),
        Step("accept_act", "official", lambda i: {"decision": "accept", "comment": ""},
             lambda i: {"decision": "accept", "comment": ""}, decides_act=True),
        Step("pay_act", "operator", pay, pay),
    ]


def run_monthly_act(application, world, counter, tracker, n: int, paths: set[str]) -> list[PathResult]:
    from app.acts.operations import open_monthly_act
    from app.engine.models import ProcessModelVersion
    from app.extensions import db
    from app.people.models import Organisation

    with application.app_context():
        version = db.session.query(ProcessModelVersion).filter_by(status="published").all()
        files = next(v.files for v in version if any(name == "monthly_act.bpmn" for name in v.files))

    current: dict = {}

    def fresh_start(k: int):
        """Path k opens its acts in months of its own (one act per school and month)."""
        def start(i: int):
            school = db.session.get(Organisation, world["school_id"])
            period = _act_period(k * n + i)
            current["students"] = world["cohorts"][_academic_year(period)]
            act = open_monthly_act(school, period)
            db.session.flush()
            return SimpleNamespace(id=act.instance_id)
        return start

    # One answer fits every operator the model calls (verification summary, acceptance deadline far ahead).
    canned = json.dumps({"accepted_lines": PERF_STUDENTS, "excluded_lines": 0, "amount_tiyn": 1,
                         "due": "2099-01-01T00:00:00+00:00", "working_days": 5})
    in_memory = path_engine_limit(
        files, [("submit_act", {"act_id": 1}), ("accept_act", {"decision": "accept"}), ("pay_act", {"payment_id": 1})],
        n, service_caller=lambda task, name, params: canned)
    in_memory.note += " (Verify contingent answered by a stub: no database in this path)"
    results = [in_memory] + run_database_paths(application, counter, tracker, n, None,
                                               monthly_act_steps(current), paths, fresh_start)
    for r in results[1:]:
        r.note += "; Verify contingent reads NEDB and writes the act's lines, act and payment rows"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=5000, help="approval instances per path (default 5000)")
    parser.add_argument("--act-instances", type=int, default=300,
                        help="monthly-act instances per path (default 300; 0 skips the monthly-act model)")
    parser.add_argument("--paths", default="service,api,page", help="database paths to run: service,api,page")
    args = parser.parse_args()
    paths = set(args.paths.split(","))

    url, folder = benchmark_database_url()
    try:
        application = make_app(url)
        from app.extensions import db

        with application.app_context():
            dialect = db.engine.dialect.name
            counter = SqlCounter()
            counter.install(db.engine)
        world = set_up_world(application, act_months=4 * args.act_instances)  # at most 4 database paths
        tracker = TaskTracker()
        print(f"Machine: {machine_description()}")
        print(f"Database: {dialect} ({'fresh temporary file' if folder else 'DATABASE_URL, schema rebuilt'}), "
              "built by the Alembic migrations\n")
        approval = run_approval(application, world, counter, tracker, args.instances, paths)
        # The targets are set for the embedded default (SQLite, one process).
        targets = {"2. service layer (engine API + DB)": 200, HTTP_API: 100} if dialect == "sqlite" else None
        print_table(f"Approval model (approval_scripts.bpmn), {dialect}", approval, targets)
        if args.act_instances:
            acts = run_monthly_act(application, world, counter, tracker, args.act_instances, paths)
            print_table(f"Monthly act model (monthly_act.bpmn), {dialect}", acts)
            with application.app_context():
                from sqlalchemy import func, select

                from app.acts.models import Act

                paid, accepted, total = db.session.execute(
                    select(func.count(Act.id).filter(Act.status == "paid"), func.sum(Act.accepted_lines),
                           func.sum(Act.total_lines)).where(Act.school_id == world["school_id"])).one()
                print(f"Monthly acts of the benchmark school: {paid} paid, {accepted} of {total} lines accepted "
                      "(every line is clean by construction, in every month the paths use)\n")
        with application.app_context():
            from app.audit.operations import verify_all_chains

            chains, problems = verify_all_chains()
            print(f"Audit chains verified after the run: {chains} chains, {len(problems)} problems")
    finally:
        cleanup(folder)


if __name__ == "__main__":
    main()
