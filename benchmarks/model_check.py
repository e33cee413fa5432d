"""What checking a model with one big script costs when a process owner saves it: ``validate_files`` (the problems)
and ``model_notices`` (the notices), as the editor's save runs them, against the code before the checks shared one
parse of each script (measured in the same run, alternately, each in a process of its own).

Data set: one diagram, start → script task → end, the script 99 kB of act-line arithmetic (about 1,500 lines, under
the model's limit of 100,000 characters of scripts). The sandbox's compile cache is emptied before every run: a
model saved for the first time in the process.

    .venv/bin/python benchmarks/model_check.py                  # against the commit before app/engine/script_names.py
    .venv/bin/python benchmarks/model_check.py --old <commit> --repeat 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_description, median

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 99_000


def big_script() -> str:
    lines, i = ["total = 0", "excluded = []"], 0
    while sum(len(line) + 1 for line in lines) < LIMIT:
        lines += [f"amount_{i} = days_{i % 31} * norm['basic'] // 22 if grade_{i % 12} in (5, 6, 7) else 0",
                  f"if amount_{i} > limit:", f"    excluded.append({{'line': {i}, 'amount': amount_{i}}})",
                  f"total += amount_{i}"]
        i += 1
    return "\n".join(lines[:-4])


def model() -> str:
    script = big_script().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
            '20100524/MODEL" id="defs" targetNamespace="http://x">\n<bpmn:process id="p" isExecutable="true">\n'
            '<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="sum" name="Sum the act">'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>\n<bpmn:endEvent id="e" />\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sum" />\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="sum" targetRef="e" />\n</bpmn:process>\n</bpmn:definitions>\n')


def measure(tree: str) -> None:
    """In a process of its own: one check of the model with the code of ``tree``; prints seconds as JSON."""
    sys.path.insert(0, tree)
    from app import create_app
    from app.engine import scripting
    from app.engine.specs import model_notices, validate_files

    files = {"m.bpmn": model()}
    application = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "BACKGROUND_MODE": "none"})
    with application.test_request_context():
        scripting._compile.cache_clear()
        started = time.perf_counter()
        _parsed, problems = validate_files(files, process_id="p")
        checked = time.perf_counter()
        model_notices(files, process_id="p")
        done = time.perf_counter()
    print(json.dumps({"problems": checked - started, "notices": done - checked, "found": len(problems)}))


def _run(tree: Path) -> dict:
    out = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, __file__, "--measure", str(tree)], capture_output=True, text=True,
                         check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", help="the commit to compare with (default: before app/engine/script_names.py)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    old = args.old or subprocess.run(  # noqa: S603
        ["git", "log", "--diff-filter=A", "--format=%H^", "--", "app/engine/script_names.py"], cwd=ROOT,  # noqa: S607
        capture_output=True, text=True, check=True).stdout.split()[-1]
    with tempfile.TemporaryDirectory(prefix="tapsyrys-old-") as folder:
        archive = subprocess.run(["git", "archive", old], cwd=ROOT,  # noqa: S603,S607
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)  # noqa: S603,S607
        runs: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(args.repeat):  # alternately, so that a busy moment of the machine falls on both
            runs["old"].append(_run(Path(folder)))
            runs["new"].append(_run(ROOT))
    print(f"{machine_description()}; script of {len(big_script()):,} characters; old = {old}; "
          f"median of {args.repeat} runs each")
    print(f"{'code':<5} {'problems s':>11} {'notices s':>10} {'total s':>8}")
    totals = {}
    for name, results in runs.items():
        problems, notices = median([r["problems"] for r in results]), median([r["notices"] for r in results])
        totals[name] = median([r["problems"] + r["notices"] for r in results])
        print(f"{name:<5} {problems:>11.2f} {notices:>10.2f} {totals[name]:>8.2f}")
    print(f"ratio old / new: {totals['old'] / totals['new']:.1f}x")


if __name__ == "__main__":
    main()
