"""What running scripts in a sandbox process costs (app/engine/isolation.py), against the same scripts run in this
process (the baseline, measured in the same run).

Three figures each way: a gateway-style expression, a script task of a few lines over task data of N items, and the
approval lifecycle of benchmarks/data/approval_scripts.bpmn in memory (SpiffWorkflow alone, no database). Prints
per-call times and the ratio sandbox / in-process.

    .venv/bin/python benchmarks/sandbox.py                 # 2,000 calls and 500 lifecycles each way
    .venv/bin/python benchmarks/sandbox.py --calls 500 --lifecycles 100
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _common import machine_description

ROOT = Path(__file__).resolve().parents[1]
APPROVAL_BPMN = ROOT / "benchmarks" / "data" / "approval_scripts.bpmn"  # the team's shared model, kept here

EXPRESSION = "amount > 1000 and status == 'verified'"
SCRIPT = "total = sum(line['amount'] for line in lines)\ncount = len(lines)\nbig = total > 100000"


def _per_call(run, calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000


def _lifecycles(engine, n: int) -> float:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.engine.specs import parse_files

    parsed = parse_files({APPROVAL_BPMN.name: APPROVAL_BPMN.read_text()})
    started = time.perf_counter()
    for i in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.do_engine_steps()
        while not wf.is_completed():
            task = wf.get_next_task(state=TaskState.READY, manual=True)
            task.set_data(amount=100 + i % 5000, approved=True)
            task.run()
            wf.do_engine_steps()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--lifecycles", type=int, default=500)
    parser.add_argument("--lines", type=int, default=40, help="items of task data the script reads")
    args = parser.parse_args()

    from app.engine.isolation import IsolatedTaskDataEnvironment
    from app.engine.scripting import DEFAULT_MAX_STEPS, DEFAULT_TIME_LIMIT, RestrictedScriptEngine
    from app.engine.scripting import RestrictedTaskDataEnvironment as InProcess

    data = {"amount": 5000, "status": "verified",
            "lines": [{"iin": f"{i:012d}", "amount": 4_230_000, "grade": i % 11 + 1} for i in range(args.lines)]}
    ways = {"in process (baseline)": InProcess(time_limit=DEFAULT_TIME_LIMIT, max_steps=DEFAULT_MAX_STEPS),
            "sandbox process": IsolatedTaskDataEnvironment(time_limit=DEFAULT_TIME_LIMIT, max_steps=DEFAULT_MAX_STEPS)}
    ways["sandbox process"].evaluate("1", {})  # the child starts once per worker process, not per call
    print(f"Machine: {machine_description()}")
    print(f"{args.calls} calls per figure; task data of {args.lines} lines for the script\n")
    print("| way | expression p50 ms | p95 ms | script p50 ms | p95 ms | approval lifecycles/s |")
    print("|---|---:|---:|---:|---:|---:|")
    figures = {}
    for name, env in ways.items():
        expr = _per_call(lambda env=env: env.evaluate(EXPRESSION, data), args.calls)
        script = _per_call(lambda env=env: env.execute(SCRIPT, dict(data)), args.calls)
        engine = RestrictedScriptEngine(isolated=name != "in process (baseline)")
        rate = _lifecycles(engine, args.lifecycles)
        figures[name] = (expr[0], script[0], rate)
        print(f"| {name} | {expr[0]:.3f} | {expr[1]:.3f} | {script[0]:.3f} | {script[1]:.3f} | {rate:,.0f} |")
    base, boxed = figures["in process (baseline)"], figures["sandbox process"]
    print(f"\nRatio sandbox / in process: expression {boxed[0] / base[0]:.1f}×, script {boxed[1] / base[1]:.1f}×, "
          f"lifecycle throughput {boxed[2] / base[2]:.2f}× (per instance +{1000 / boxed[2] - 1000 / base[2]:.2f} ms)")


if __name__ == "__main__":
    main()
