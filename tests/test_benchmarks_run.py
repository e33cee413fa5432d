"""The benchmarks still run: each is started with a tiny data set and must finish with its own checks passing.

Nothing here times anything (figures belong to benchmarks/README.md); a benchmark that no longer runs, or whose
check of its own data fails, is what this catches. Two had stopped: the lifecycle's service path at the login
loader (which now reads the request), its monthly acts at the payment date rule, the acceptance's version and the
identity review (every act refused; the run printed "0 of 400 lines accepted")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    # a database of its own (a temporary SQLite file): with DATABASE_URL the benchmark rebuilds that schema
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_lifecycle_benchmark_runs_every_path_and_pays_every_clean_line():
    out = _run("benchmarks/lifecycle.py", "--instances", "6", "--act-instances", "3")
    paid = re.search(r"Monthly acts of the benchmark school: (\d+) paid, (\d+) of (\d+) lines accepted", out)
    assert paid, out[-2000:]
    assert int(paid.group(1)) == 9 and paid.group(2) == paid.group(3) != "0"
    assert "0 problems" in out


def test_the_sandbox_benchmark_runs_both_ways():
    out = _run("benchmarks/sandbox.py", "--calls", "20", "--lifecycles", "5")
    assert "| in process (baseline) |" in out and "| sandbox process |" in out and "Ratio sandbox / in process" in out


def test_the_analytics_flags_benchmark_counts_a_repeated_student_once():
    out = _run("benchmarks/analytics_flags.py", "--schools", "4", "--months", "3", "--lines", "120", "--samples", "1")
    assert "acts carry distinct student counts: yes" in out and "ratio school flags / baseline" in out
    assert "flagged for a sudden change 0, over capacity 0" in out, out[-2000:]
