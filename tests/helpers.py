"""Small helpers shared by tests: find tasks, build act form fields, give a student a second line of a month."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from app.acts.models import Act, ActLine
from app.engine.models import HumanTask
from app.extensions import db
from app.payments.models import Payment
from app.people.models import Organisation, User


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def school(name: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def act_of_school(school_name: str) -> Act:
    return db.session.scalars(select(Act).join(Organisation, Organisation.id == Act.school_id)
                              .where(Organisation.name == school_name)).one()


def open_task(act: Act, spec_name: str) -> HumanTask:
    db.session.expire_all()
    return db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == act.instance_id, HumanTask.spec_name == spec_name, HumanTask.status == "open"
    )).one()


def accepted_and_paid(school_name: str, order: str) -> tuple[Act, Payment]:
    """The demo school's act accepted by the Almaty official and paid by the operator through its process's steps:
    the act and its payment, read anew."""
    from app import clock
    from app.engine.runtime import complete_task

    act = act_of_school(school_name)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": order, "paid_on": clock.today().isoformat()})
    db.session.commit()
    act = db.session.get(Act, act.id)
    return act, db.session.scalars(select(Payment).where(Payment.act_id == act.id)).one()


def seen(task: HumanTask) -> int:
    """The version of the act a task decides, as its page or the API's act document gives it (``_seen``/``seen``)."""
    db.session.expire_all()
    return db.session.get(Act, db.session.get(HumanTask, task.id).instance.subject_id).lock_version


def task_of(instance, spec_name: str) -> HumanTask:
    """The task row of ``instance`` at step ``spec_name`` (whatever its status)."""
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.spec_name == spec_name)).one()


def statements_of(run) -> list[str]:
    """The SQL statements ``run()`` sends, in order."""
    from sqlalchemy import event

    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen


def submitted_and_accepted(act: Act, accountant: str = "accountant", official: str = "official") -> int:
    """The act submitted with its prefilled lines and accepted by the department: it waits for the operator to pay
    it. Returns its id (the session is committed twice, as two people's steps)."""
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task

    complete_task(open_task(act, "submit_act").id, user(accountant), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(db.session.get(Act, act.id), "accept_act").id, user(official),
                  data={"decision": "accept"})
    db.session.commit()
    return act.id


def lines_form(lines: list[dict], note: str = "") -> dict:
    form = {"note": note}
    for i, line in enumerate(lines):
        for key, value in line.items():
            form[f"lines.{i}.{key}"] = str(value)
    return form


def add_paid_history() -> int:
    """September of the demo year submitted, accepted and paid for the Astana schools, as `flask seed` does it."""
    from datetime import date

    from app.demo.history import seed_paid_history
    from app.public.figures import refresh_public_figures

    orgs = {"school_a": school("Bilim Innovation School"), "school_b": school("Nur Private School")}
    paid = seed_paid_history(orgs, date(2026, 9, 1), date(2026, 10, 1))
    refresh_public_figures()
    db.session.commit()
    return paid


def also_on(act: Act, line: ActLine, days: int) -> ActLine:
    """The student of ``line`` also on ``act`` for ``days`` of the month, accepted and paid (the act's amount and its
    payment follow): a transfer within the month, or a dormitory's move to another room."""
    amount = line.amount_tiyn * days // max(line.paid_days or days, 1)
    copy = ActLine(period=act.period, school_id=act.school_id,
                   line_no=max(ln.line_no for ln in act.lines) + 1, iin=line.iin, full_name=line.full_name,
                   grade=line.grade, days_attended=days, outcome="accepted", amount_tiyn=amount, paid_days=days)
    act.lines.append(copy)
    act.total_lines += 1
    act.accepted_lines += 1
    act.amount_tiyn += amount
    for payment in db.session.scalars(select(Payment).where(Payment.act_id == act.id)):
        payment.amount_tiyn += amount
    db.session.flush()
    return copy


@contextmanager
def celery_worker_on(app, broker: str):
    """The app in scale-out mode with a real Celery worker (in this process, solo pool) on ``broker`` (a Redis
    database of the test's own, emptied first); the app's mode and broker are restored afterwards."""
    import redis
    from celery.contrib.testing.worker import start_worker

    from app.background import make_celery

    redis.Redis.from_url(broker).flushdb()
    saved = {k: app.config[k] for k in ("BACKGROUND_MODE", "CELERY_BROKER_URL")}
    app.config.update(BACKGROUND_MODE="celery", CELERY_BROKER_URL=broker)
    celery = make_celery(app)
    app.extensions["tapsyrys_celery"] = celery
    try:
        with start_worker(celery, perform_ping_check=False, pool="solo", shutdown_timeout=30):
            yield celery
    finally:
        app.extensions.pop("tapsyrys_celery", None)
        app.config.update(saved)


TWELVE_DIGITS = r"(?<![0-9])[0-9]{12}(?![0-9])"


def assert_no_personal_data(pages: dict[str, str], students: list) -> None:
    """No public page or download shows a 12-digit number other than an organisation's BIN, or any student's IIN or
    name (``students``: (iin, full name) pairs)."""
    import re

    bins = set(db.session.scalars(select(Organisation.bin)))
    for url, text in pages.items():
        for number in re.findall(TWELVE_DIGITS, text):
            assert number in bins, f"{url}: a 12-digit number that is not an organisation's BIN: {number}"
        for iin, name in students:
            assert iin not in text, f"{url} shows a student's IIN"
            assert name not in text, f"{url} shows a student's name"


def fetch_all(client, urls: list[str]) -> dict[str, str]:
    """Every page at ``urls`` as text, each required to answer 200 (the public pages' crawls)."""
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    return pages


class _FillingFile:
    """A file on a disk with ``room`` bytes (characters) left: the write that passes it stores what fits and fails."""

    def __init__(self, fh, room: int) -> None:
        self._fh, self._room = fh, room

    def write(self, data):
        import errno

        if len(data) > self._room:
            self._fh.write(data[:self._room])
            self._fh.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __iter__(self):
        return iter(self._fh)

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self._fh.close()


def disk_fills_up(folder, monkeypatch, room: int = 64) -> None:
    """Every file opened for writing in ``folder`` (by ``open``, ``Path.open`` or ``os.fdopen``) fails as on a full
    disk once ``room`` bytes are written to it — what a command writing its export meets when the disk fills."""
    import builtins
    import io
    import os

    real_open, folder = io.open, os.path.realpath(folder)

    def opening(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        where = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.realpath(file)
        if any(m in mode for m in "wax+") and os.path.dirname(where) == folder:
            return _FillingFile(fh, room)
        return fh

    monkeypatch.setattr(io, "open", opening)
    monkeypatch.setattr(builtins, "open", opening)


def scratch_postgresql(database_url: str, suffix: str) -> Iterator[str]:
    """A PostgreSQL database of the test's own beside the worker's (``<worker db>_<suffix>``), created empty and
    dropped after: yields its address, password kept, for a real ``flask`` process to migrate."""
    from sqlalchemy import create_engine, make_url, text

    from app.config import normalise_database_url

    url = make_url(normalise_database_url(database_url))
    name = f"{url.database}_{suffix}"
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with maintenance.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        maintenance.dispose()


def query_plan(statement, table: str) -> str:
    """The plan of ``statement`` (a SQLAlchemy select) in the steady state of a live system: ``table`` vacuumed and
    analysed; on PostgreSQL the planner told to leave sequential and bitmap scans aside (with a test's few thousand
    rows it may rightly prefer them), so a test asks which index path it takes. Plan shape, never timing."""
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as maintenance:
            maintenance.exec_driver_sql(f"VACUUM ANALYZE {table}")
        conn = db.session.connection()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    conn = db.session.connection()
    conn.exec_driver_sql(f"ANALYZE {table}")
    return "\n".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))

