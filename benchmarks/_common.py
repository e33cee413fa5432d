"""Helpers shared by the benchmarks: a fresh database built by the migrations, SQL counters, figures.

Benchmarks print figures and ratios; they are not pass/fail tests (DESIGN.md §4).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------------------------------
# Database and application


def benchmark_database_url() -> tuple[str, str | None]:
    """(url, temporary folder to delete). SQLite in a fresh temporary file unless DATABASE_URL is set."""
    url = os.environ.get("DATABASE_URL")
    if url:
        name = url.rsplit("/", 1)[-1].split("?")[0]
        if "perf" not in name and "bench" not in name:
            sys.exit(f"Refusing to empty database {name!r}: use a database of its own whose name contains "
                     "'perf' or 'bench' (e.g. tapsyrys_perf).")
        return url, None
    # On the real disk (not tmpfs), so commits pay the same fsync a deployment pays.
    folder = tempfile.mkdtemp(prefix="tapsyrys-bench-", dir=os.environ.get("BENCH_TMPDIR"))
    return f"sqlite:///{folder}/bench.sqlite", folder


def ensure_database(url: str) -> None:
    """CREATE DATABASE when it does not exist yet (a benchmark's own: its name must
    contain 'bench' or 'perf', as benchmark_database_url's rule)."""
    import psycopg

    name = url.rsplit("/", 1)[-1].split("?")[0]
    if "bench" not in name and "perf" not in name:
        sys.exit(f"Refusing to empty database {name!r}: its name must contain 'bench' or 'perf'.")
    admin = url.rsplit("/", 1)[0].replace("+psycopg", "", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def make_app(url: str, fresh: bool = True):
    """The real application on an empty database built by the Alembic migrations (upgrade to heads); with
    ``fresh=False`` the database is kept as it is (a benchmark measuring again on the data it loaded before)."""
    from argon2 import PasswordHasher
    from flask_migrate import upgrade
    from sqlalchemy import text

    import app.people.models as people_models
    from app import create_app
    from app.config import normalise_database_url
    from app.extensions import db

    # Logging in is not what is measured; demo users are hashed with cheap (still real) argon2 parameters.
    people_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    application = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "BACKGROUND_MODE": "none"})
    with application.app_context():
        if fresh and db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
    return application


def cleanup(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Counting SQL statements and commits


@dataclass
class SqlCounter:
    statements: int = 0
    commits: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)
    active: bool = False

    def install(self, engine) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, parameters, context, executemany) -> None:
            if self.active:
                self.statements += 1
                verb = statement.lstrip().split(None, 1)[0].upper()
                self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

        @event.listens_for(engine, "commit")
        def _commit(conn) -> None:
            if self.active:
                self.commits += 1

    @contextmanager
    def counting(self):
        self.statements = self.commits = 0
        self.by_verb = {}
        self.active = True
        try:
            yield self
        finally:
            self.active = False


# --------------------------------------------------------------------------------------------------
# Figures


@dataclass
class PathResult:
    name: str
    durations: list[float]  # seconds per instance, in run order
    total_seconds: float
    statements: int = 0
    commits: int = 0
    note: str = ""

    @property
    def instances(self) -> int:
        return len(self.durations)

    @property
    def per_second(self) -> float:
        return self.instances / self.total_seconds if self.total_seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.durations)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index] * 1000

    def decile_rates(self) -> tuple[float, float]:
        """Instances/s over the first and the last 10% of the run (growth of the database)."""
        n = max(1, len(self.durations) // 10)
        first, last = self.durations[:n], self.durations[-n:]
        return n / sum(first), n / sum(last)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def print_table(title: str, results: list[PathResult], targets: dict[str, float] | None = None) -> str:
    """Print (and return, for the README) a Markdown table of the paths against the first one."""
    base = results[0].per_second if results else 0
    lines = [
        f"### {title}",
        "",
        "| path | instances | instances/s | ms p50 | ms p95 | SQL stmts/instance | commits/instance "
        "| ratio to path 1 | first 10% → last 10% (inst/s) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        n = r.instances or 1
        first, last = r.decile_rates() if r.durations else (0, 0)
        change = (last / first - 1) * 100 if first else 0
        target = (targets or {}).get(r.name)
        verdict = "" if target is None else f"≥ {target:g}/s: {'met' if r.per_second >= target else 'NOT met'}"
        lines.append(
            f"| {r.name} | {r.instances} | {r.per_second:,.1f} | {r.percentile_ms(0.5):.2f} | "
            f"{r.percentile_ms(0.95):.2f} | {r.statements / n:.1f} | {r.commits / n:.1f} | "
            f"{r.per_second / base if base else 0:.3f} | {first:,.0f} → {last:,.0f} ({change:+.0f}%) | {verdict} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    text = "\n".join(lines + ([""] + notes if notes else []))
    print(text, "\n", flush=True)
    return text


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs (nproc) · {cpu} · "
            f"Python {platform.python_version()} · {platform.system()} {platform.release()}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
