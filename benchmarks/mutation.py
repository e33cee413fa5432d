"""Mutation testing of the modules where a bug costs money, data or security (issue 17).

Runs mutmut for ONE module at a time, with only the tests that exercise it, in a scratch copy of the
repository (mutmut writes a ``mutants/`` tree and runs the tests there; the work tree and its
``instance/`` folder stay untouched). Prints killed / survived / other per module and the surviving
mutant names; ``--show`` prints their diffs. Figures and the equivalent survivors: benchmarks/MUTATION.md.

    python benchmarks/mutation.py scripting            # one module
    python benchmarks/mutation.py --all                 # every module below, one after the other
    python benchmarks/mutation.py payments --show       # with the diffs of the survivors
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module key -> (files mutated, the tests that exercise them). Narrow on purpose: mutmut runs, for each
#: mutant, only the selected tests that reach the mutated function, but it first runs all of them once.
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "scripting": (["app/engine/scripting.py"],
                  ["tests/engine/test_scripting.py", "tests/engine/test_sandbox_allowlist.py"]),
    "payments": (["app/payments/*"],
                 ["tests/lifecycle/test_payment_rules.py", "tests/test_concurrency.py"]),
    "access": (["app/people/access.py"], ["tests/test_access_rules.py"]),
    "substitutions": (["app/people/substitutions.py"],
                      ["tests/inbox/test_substitution_rules.py", "tests/inbox/test_bulk_and_deputies.py"]),
    "contracts_handlers": (["app/contracts/handlers.py"],
                           ["tests/lifecycle/test_contract_handler_rules.py", "tests/lifecycle/test_payment_rules.py",
                            "tests/lifecycle/test_contract_terms.py",
                            "tests/lifecycle/test_applications_and_signing.py"]),
    "migration": (["app/engine/migration.py"],
                  ["tests/modeler/test_migration_rules.py", "tests/modeler/test_versions.py",
                   "tests/operations/test_batch_isolation.py", "tests/modeler/test_pages.py",
                   "tests/modeler/test_migration_outcomes.py"]),
    "forms": (["app/engine/forms.py"], ["tests/engine/test_form_rules.py"]),
    "xml": (["app/engine/xml.py"], ["tests/engine/test_xml_layers.py", "tests/engine/test_xml_hardening.py"]),
    "audit": (["app/audit/operations.py", "app/audit/keys.py", "app/audit/anchors.py", "app/audit/facts.py"],
              ["tests/audit/test_keys.py", "tests/audit/test_walker.py", "tests/audit/test_tampering.py",
               "tests/audit/test_anchors.py", "tests/audit/test_batch_events.py", "tests/audit/test_facts.py",
               "tests/audit/test_cli_and_legacy.py", "tests/test_audit.py",
               # an amended contract's facts (contract_facts reads the amendments)
               "tests/lifecycle/test_contract_amendments.py::test_the_department_amends_with_a_reason_audited_and_the_school_sees_it",
               "tests/lifecycle/test_contract_amendments.py::test_tampering_with_an_amendment_is_found_by_the_audit_check"]),
    # Money rules: the contingent rules' helpers and the adjustments (claw-backs and top-ups of accepted months).
    "acts_rules": (["app/acts/rules.py", "app/acts/adjustments.py"],
                   ["tests/money/test_rule_helpers.py", "tests/money/test_reprice.py",
                    "tests/money/test_adjustments.py", "tests/money/test_reconciliation.py",
                    "tests/money/test_settle.py"]),
    # Top-ups: a line excluded by a rule the registries later correct is paid on a later act, once.
    "topups": (["app/acts/topups.py"],
               ["tests/money/test_topup_places.py", "tests/money/test_places_on_repricing.py",
                "tests/money/test_topup_corrected.py",
                "tests/money/test_adjustments.py",
                "tests/money/test_grade_corrected.py", "tests/money/test_settle.py",
                "tests/money/test_returned_adjustments.py", "tests/dormitories/test_two_dormitories_paid.py"]),
    # The set-based rule pass over an act's lines (the SQL it builds, the guarded write, precedence, sums).
    "verification": (["app/acts/verification.py"],
                     ["tests/registry/test_rules.py", "tests/registry/test_leaks.py",
                      "tests/registry/test_reverification.py", "tests/registry/test_country.py",
                      "tests/money/test_accepted_is_final.py", "tests/money/test_reprice.py",
                      "tests/registry/test_rule_sql.py", "tests/money/test_rule_helpers.py",
                      "tests/registry/test_http_adapter.py", "tests/lifecycle/test_contract_terms.py"]),
    # Carried top-ups settled outside the acts: who may, the form, the one door, the payment order's checks.
    "settlements": (["app/contracts/settlements.py"],
                    ["tests/money/test_outside_settlement.py", "tests/money/test_outside_settlement_attacks.py",
                     "tests/money/test_outside_settlement_rules.py"]),
    # The payee pinned at acceptance: the account on record and the one an act is paid to.
    "payee": (["app/acts/payee.py"],
              ["tests/money/test_payee_pinned.py", "tests/lifecycle/test_payment_rules.py",
               "tests/money/test_payee_rules.py"]),
    # Needs review: the official's decisions and whether an exclusion still holds for the line's values.
    "review": (["app/acts/review.py"],
               ["tests/registry/test_review_exclusion_lapses.py", "tests/registry/test_review_basis.py",
                "tests/registry/test_review_pages.py", "tests/security/test_line_review_lost_update.py",
                "tests/registry/test_review_rules.py", "tests/registry/test_review_decision_rules.py"]),
    # The verification step that applies the official's exclusions (run with --only on
    # 'app.acts.verification.x__apply_review_exclusions__mutmut_*' and
    # 'app.acts.verification.x__acts_with_exclusions__mutmut_*').
    "review_exclusions": (["app/acts/verification.py"],
                          ["tests/registry/test_review_exclusion_lapses.py", "tests/registry/test_review_basis.py",
                           "tests/registry/test_review_pages.py", "tests/registry/test_review_rules.py",
                           "tests/registry/test_review_decision_rules.py"]),
    # A school's liquidation date: the business standing, the pass's school contexts, the repricing, the import
    # column (run with --only on the functions that read it: standing, parse_business, school_contexts,
    # _candidate_lines, _school_repricing).
    "liquidation": (["app/registry/business.py", "app/registry/importers.py", "app/acts/verification.py",
                     "app/acts/adjustments.py"],
                    ["tests/registry/test_liquidation.py", "tests/dormitories/test_business_register.py",
                     "tests/registry/test_import.py",
                     "tests/registry/test_liquidation_rules.py"]),
    # Ctrl-C during an import: the CLI's handler and the import's stop between two batches (run with --only on
    # '*_StopOnCtrlC*' and 'app.registry.operations.x_run_import__mutmut_*').
    "import_stop": (["app/registry/cli.py", "app/registry/operations.py"],
                    ["tests/money/test_import_failed_reverifies.py", "tests/registry/test_import_stop_rules.py"]),
    # Publish-time refusal of joins that do not match their splits (the corpus files refused and those that run, the
    # probe's exclusive split met by a parallel join); test_bpmn_corpus.py's runs to the end are left out (slow):
    # test_gateway_matching.py asks the check alone of each of those files.
    "gateway_matching": (["app/engine/gateway_matching.py"],
                         ["tests/modeler/test_gateway_matching.py", "tests/modeler/test_gateway_matching_rules.py",
                          "tests/modeler/test_bpmn_corpus.py::test_written_foreign_files_are_refused_on_the_element_with_the_reason",
                          "tests/modeler/test_model_checks_d1.py::test_an_exclusive_split_met_by_a_parallel_join_is_refused_naming_both"]),
    # Kazakhstan's working-day calendar and a timer cycle's rounds already past (run with --only on
    # 'app.clock.x_days_off__mutmut_*' 'app.clock.x_is_working_day__mutmut_*' 'app.clock.x_add_working_days__mutmut_*'
    # 'app.clock.x_today__mutmut_*' 'app.engine.timers.x__cycle_complete__mutmut_*': the clock itself is every test's).
    "calendar": (["app/clock.py", "app/engine/timers.py"],
                 ["tests/inbox/test_local_dates.py", "tests/engine/test_task_data.py",
                  "tests/engine/test_clock_ran_ahead.py", "tests/lifecycle/test_sla_and_payment.py"]),
    # Every tenge of a month explained, per region (twelfth round; run with --only on the figures: 'reconcile',
    # 'ReconciliationRow', 'adjusted_lines', 'corrections_by_region', 'settled_outside_by_region' — the downloads'
    # layout is left out).
    "reconciliation": (["app/reports/reconciliation.py", "app/reports/unsettled.py"],
                       ["tests/money/test_reconciliation.py", "tests/money/test_reconciliation_adjusted_lines.py",
                        "tests/money/test_reconciliation_later_act.py", "tests/money/test_reconciliation_unsettled.py",
                        "tests/money/test_reconciliation_worlds.py", "tests/money/test_unsettled.py",
                        "tests/money/test_reconciliation_rules.py",
                        "tests/money/test_reconciliation_corrections_rules.py",
                        "tests/money/test_outside_settlement.py",
                        "tests/money/test_clawback_lookback.py", "tests/money/test_returned_adjustments.py",
                        "tests/money/test_excluded_closed_year_topups.py",
                        "tests/dormitories/test_reconciliation_beside_schools.py",
                        "tests/dormitories/test_reconciliation_api.py",
                        "tests/dormitories/test_reconciliation_later_act.py"]),
    # NEDB's complete register (the rows it takes out) and IIN merges (twelfth round).
    "nedb_snapshot": (["app/registry/snapshot.py", "app/registry/merges.py"],
                      ["tests/money/test_nedb_snapshot.py"]),
    # The dormitories' money: the per-bed-day rules and the repricing of paid months (claw-backs, top-ups of lifted
    # exclusions, the places a waiting line may take) — thirteenth round; the tests that reach adjustments.py.
    "dormitories_money": (["app/dormitories/rules.py", "app/dormitories/adjustments.py"],
                          ["tests/dormitories/test_adjustments.py", "tests/dormitories/test_liquidation.py",
                           "tests/dormitories/test_liquidation_topup.py", "tests/dormitories/test_merged_iins.py",
                           "tests/dormitories/test_pages.py", "tests/dormitories/test_reconciliation_api.py",
                           "tests/dormitories/test_reconciliation_beside_schools.py",
                           "tests/dormitories/test_reconciliation_later_act.py", "tests/dormitories/test_rule_edges.py",
                           "tests/dormitories/test_simulated_year.py", "tests/dormitories/test_two_dormitories_paid.py",
                           "tests/dormitories/test_year_end.py", "tests/dormitories/test_dormitory_money_rules.py",
                           "tests/dormitories/test_dormitory_money_places.py",
                           "tests/dormitories/test_dormitory_money_repricing.py"]),
    # Where the registries' files enter: what a cell is read as and the reason a row is refused (sixteenth round).
    # The old import tests write through the app and the database; a first pass with --tests and the fast rule file.
    "importers": (["app/registry/importers.py", "app/registry/cells.py"],
                  ["tests/registry/test_importer_rules.py", "tests/registry/test_import_messy_files.py",
                   "tests/registry/test_import.py", "tests/registry/test_ascii_digits.py",
                   "tests/registry/test_import_absent_columns.py", "tests/registry/test_grades_outside_the_order.py",
                   "tests/registry/test_identity_rows.py"]),
    # The acts' one door: the guarded write and the claim that keep a decided act final, opening, submission,
    # verification, the decisions and their audit events, the audit check and the cancel guard (fourteenth round).
    # The old tests start the demo world (14 s each): a first pass with --tests and the fast rule tests alone.
    "acts_operations": (["app/acts/operations.py"],
                        ["tests/money/test_act_operations_rules.py", "tests/money/test_accepted_is_final.py",
                         "tests/money/test_celery_finality.py", "tests/money/test_payee_pinned.py",
                         "tests/money/test_acts_open_under_contract.py", "tests/lifecycle/test_open_acts_cli.py",
                         "tests/lifecycle/test_payment_rules.py", "tests/dormitories/test_act_form.py",
                         "tests/test_forms.py"]),
    # A payment the bank sent back, the act paid again (to a new account only once a department official confirms
    # it), an act of 0 ₸ closed without a payment order (seventeenth round; run with --only on record_return,
    # _tell_of_return, check_repayment, account_to_confirm, may_confirm_account, confirm_repayment_account,
    # standing_payment, returned_payments, nothing_to_pay, close_without_payment, register_payment). The old tests start
    # the demo world: a first pass with --tests and the fast rule file alone.
    "payment_returns": (["app/payments/returns.py", "app/payments/operations.py"],
                        ["tests/money/test_payment_returns_rules.py", "tests/money/test_mut18_register_payment.py",
                         "tests/money/test_mut18_return_notices.py", "tests/money/test_payment_returns.py",
                         "tests/money/test_repayment_account_confirmed.py", "tests/money/test_nothing_to_pay.py"]),
    # The act page's payment forms: recording a return, paying again, confirming the new account (eighteenth round;
    # the fast page tests on the ``country`` world; the demo-world page tests of the same forms are slow).
    "payment_views": (["app/payments/views.py"],
                      ["tests/money/test_mut18_payment_views.py", "tests/money/test_payment_returns.py",
                       "tests/money/test_repayment_account_confirmed.py"]),
    "runtime": (["app/engine/runtime.py"],
                ["tests/engine/test_step_writes.py", "tests/test_lifecycle.py", "tests/test_concurrency.py",
                 "tests/operations/test_poisoned_instances.py", "tests/operations/test_cockpit_retry.py",
                 "tests/lifecycle/test_sla_and_payment.py", "tests/modeler/test_bpmn_import.py",
                 "tests/inbox/test_substitution_rules.py", "tests/inbox/test_bulk_and_deputies.py",
                 "tests/modeler/test_versions.py", "tests/test_authorization.py", "tests/operations/test_timers.py",
                 "tests/engine/test_task_rows.py", "tests/engine/test_task_data.py",
                 "tests/engine/test_completion_record.py"]),
}

PYTHON = Path(sys.executable)


def _copy_repository(target: Path) -> None:
    """The tracked files (what CI sees) plus compiled catalogues, without instance/ or node_modules."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,  # noqa: S603,S607
                           capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for catalogue in ROOT.glob("translations/*/LC_MESSAGES/*.mo"):
        shutil.copy2(catalogue, target / catalogue.relative_to(ROOT))


def _config(files: list[str], tests: list[str], timeout_multiplier: float = 5.0,
            timeout_constant: float = 1.0) -> str:
    lines = [
        "\n[tool.mutmut]",
        'source_paths = ["app"]',
        f"only_mutate = {json.dumps(files)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not e2e", "-x", "-q"]',
        'also_copy = ["bpmn", "forms", "migrations", "translations", "wsgi.py"]',
        # A mutant that disables a budget loops until this timeout (counted as killed by timeout, reported
        # apart); mutmut's default allows 15 times the tests' clean duration.
        f"timeout_multiplier = {timeout_multiplier}",
        # mutmut's limit is (the covering tests' recorded durations + this) x the multiplier x 2 CPU seconds.
        # The recorded durations leave out most of the fixtures' set-up (the demo world, the app), so a
        # module whose tests start the world needs more here, or a mutant that fails (or survives) after
        # its fixtures is reported as a timeout.
        f"timeout_constant = {timeout_constant}",
    ]
    return "\n".join(lines) + "\n"


def _counts(workdir: Path) -> dict:
    out = subprocess.run([PYTHON, "-m", "mutmut", "export-cicd-stats"], cwd=workdir,  # noqa: S603
                         capture_output=True, text=True)
    stats_file = workdir / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        raise SystemExit(f"mutmut produced no statistics:\n{out.stdout}\n{out.stderr}")
    return json.loads(stats_file.read_text())


def _survivors(workdir: Path, verdicts: tuple[str, ...] = ("survived",)) -> list[str]:
    out = subprocess.run([PYTHON, "-m", "mutmut", "results"], cwd=workdir,  # noqa: S603
                         capture_output=True, text=True).stdout
    return [line.split(":")[0].strip() for line in out.splitlines()
            if any(line.strip().endswith(f": {v}") for v in verdicts)]


_SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|FROM|WHERE|JOIN|LEFT|INNER|OUTER|USING|PRAGMA|SET|"
                        r"LOCAL|INTEGER|VARCHAR|BIGINT|TEXT|DATE|NULL|NOT|IS|CASE|WHEN|THEN|ELSE|END|GROUP|ORDER|BY|"
                        r"HAVING|WITH|DESC|ASC|DISTINCT|UNION|ALL|TABLE|TEMPORARY|INDEX|UNIQUE|IF|EXISTS|PRIMARY|KEY|"
                        r"WITHOUT|ROWID|AND|OR|ON|AS|IN|INTO|VALUES|BETWEEN|LIKE|GLOB|LIMIT|OFFSET|OVER|PARTITION|"
                        r"ROW_NUMBER|COUNT|SUM|MAX|MIN|COALESCE|NULLIF|CAST|SUBSTR|LENGTH|CONFLICT|DO|NOTHING|"
                        r"ANALYZE|RETURNING|FILTER)\b")


def _diff_lines(workdir: Path, name: str) -> tuple[list[str], list[str]]:
    diff = subprocess.run([PYTHON, "-m", "mutmut", "show", name], cwd=workdir,  # noqa: S603
                          capture_output=True, text=True).stdout.splitlines()
    return ([ln[1:] for ln in diff if ln.startswith("-") and not ln.startswith("---")],
            [ln[1:] for ln in diff if ln.startswith("+") and not ln.startswith("+++")])


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOUBLE_QUOTED = re.compile(r'"[^"]*"')
_SINGLE_QUOTED = re.compile(r"'[^']*'")
_BRACED = re.compile(r"\{[^{}]*\}")


def sql_case_only(workdir: Path, name: str) -> bool:
    """A survivor that only changes the letter case of SQL text — keywords and types, or lower-case table,
    column and setting names, inside a string literal that is SQL (it holds SQL words, or the function builds
    SQL: its name ends in ``_sql``): SQL does not tell them apart, so the mutant is equivalent. A word of
    another case that changes (a configuration key, a dialect's name, a message people read) keeps the mutant
    counted."""
    removed, added = _diff_lines(workdir, name)
    if not removed or len(removed) != len(added):
        return False
    builds_sql = "_sql__mutmut_" in name  # a function named *_sql: every string literal in it is SQL text
    for before, after in zip(removed, added, strict=True):
        if before == after or before.lower() != after.lower():
            return False
        sql_spans = [m.span() for m in _DOUBLE_QUOTED.finditer(before) if builds_sql or _SQL_WORDS.search(m.group())]
        # inside SQL text, a quoted constant ('other_school') is a value, not a name: its case matters
        # (in an f-string, '…' inside {…} is a Python argument — a name the called function puts into SQL)
        values = [(lo + 1 + m.start(), lo + 1 + m.end()) for lo, hi in sql_spans
                  for m in _SINGLE_QUOTED.finditer(_BRACED.sub(lambda b: " " * len(b.group()), before[lo + 1:hi - 1]))]
        for token in _TOKEN.finditer(before):
            if after[token.start():token.end()] == token.group():
                continue
            word = token.group()
            if not (_SQL_WORDS.fullmatch(word) or word.islower()):
                return False
            if not any(lo <= token.start() and token.end() <= hi for lo, hi in sql_spans):
                return False
            if any(lo <= token.start() and token.end() <= hi for lo, hi in values):
                return False
    return True


def run_module(key: str, *, children: int, show: bool, keep: bool, timeout_multiplier: float = 5.0,
               timeout_constant: float = 1.0,
               only: list[str] | None = None, rescore: Path | None = None,
               only_tests: list[str] | None = None) -> dict:
    files, tests = MODULES[key]
    # ``only_tests``: a first pass with the key's fast tests only (on a loaded machine, where every mutant of a module
    # whose tests start the demo world takes minutes); its survivors are then re-run by name with ``--recheck DIR
    # --tests`` the key's other tests, and a mutant is killed when either fails.
    tests = only_tests or tests
    missing = [t for t in tests if not (ROOT / t.split("::")[0]).exists()]
    tests = [t for t in tests if t not in missing]
    workdir = rescore or Path(tempfile.mkdtemp(prefix=f"tapsyrys-mutation-{key}-"))
    keep = keep or rescore is not None
    try:
        if rescore is None:
            _copy_repository(workdir)
            with (workdir / "pyproject.toml").open("a") as fh:
                fh.write(_config(files, tests, timeout_multiplier, timeout_constant))
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env.setdefault("DATABASE_URL", "")  # SQLite in a temporary folder unless the caller says otherwise
            if not env["DATABASE_URL"]:
                del env["DATABASE_URL"]
            # ``only``: mutant name patterns (e.g. "app.engine.migration.x_revert__mutmut_*"), a subset
            subprocess.run([PYTHON, "-m", "mutmut", "run", "--max-children", str(children),  # noqa: S603
                            *(only or [])], cwd=workdir, env=env, check=False)
        counts = _counts(workdir)
        survivors = _survivors(workdir)
        killed, survived = counts.get("killed", 0), counts.get("survived", 0)
        total = counts.get("total", 0)
        score = 100.0 * killed / (killed + survived) if killed + survived else 0.0
        case_only = [n for n in survivors if sql_case_only(workdir, n)]
        counted = survived - len(case_only)
        rest = 100.0 * killed / (killed + counted) if killed + counted else 0.0
        print(f"\n== {key}: {killed} killed, {survived} survived, {total - killed - survived} other "
              f"(no tests / timeout / suspicious / not checked) of {total}; score {score:.1f} %; "
              f"{len(case_only)} survivors only change the case of SQL text (equivalent): {rest:.1f} % without them")
        for name in survivors:
            print(f"   survived: {name}{'  (SQL case only)' if name in case_only else ''}")
            if show:
                diff = subprocess.run([PYTHON, "-m", "mutmut", "show", name], cwd=workdir,  # noqa: S603
                                      capture_output=True,
                                      text=True).stdout
                print(diff)
        if missing:
            print(f"   (test files not found, not used: {', '.join(missing)})")
        return {"module": key, **counts, "score": round(score, 1), "survivors": survivors}
    finally:
        if keep:
            print(f"   scratch copy kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def recheck(key: str, workdir: Path, patterns: list[str] | None = None,
            deselect: list[str] | None = None, only_tests: list[str] | None = None,
            timeouts: bool = False, untested: bool = False) -> dict[str, str]:
    """Run the survivors of a kept scratch copy again against the work tree's CURRENT tests, each alone, as
    mutmut does (``MUTANT_UNDER_TEST``), with the module's test selection. The copy's ``mutants/`` tree gets
    the current tests and the current version of every file except the mutated ones (whose mutants are the
    copy's own); the tests must first pass with no mutant active, else nothing is concluded. A mutant that a
    new test kills is reported killed. mutmut's own verdicts are not rewritten. ``timeouts``: instead of the
    survivors, the mutants mutmut stopped as timeouts are run again (with every test of the module unless
    ``only_tests``), each limited to 3 times the clean run of the whole selection: a loaded machine makes slow
    runs look like loops, and a mutant that fails slowly is killed. ``untested``: the mutants no test of the run
    reached ("no tests"), against tests written since that reach them."""
    files, tests = MODULES[key]
    # A survivor passed every test of the run already: only tests added or changed since can kill it.
    tests = [t for t in only_tests or tests if (ROOT / t.split("::")[0]).exists()]
    mutants = workdir / "mutants"
    mutated = {p.relative_to(ROOT) for pattern in files for p in ROOT.glob(pattern)}
    shutil.rmtree(mutants / "tests")
    shutil.copytree(ROOT / "tests", mutants / "tests")
    for source in ROOT.glob("app/**/*"):
        if source.is_file() and source.suffix in (".py", ".html", ".json", ".js") and \
                source.relative_to(ROOT) not in mutated:
            (mutants / source.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, mutants / source.relative_to(ROOT))
    for folder in ("migrations", "bpmn", "forms"):
        shutil.rmtree(mutants / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, mutants / folder)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(mutant: str, timeout: float | None = None) -> int | None:
        env["MUTANT_UNDER_TEST"] = mutant
        try:
            return subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",  # noqa: S603
                                   "-m", "not e2e", "-x", "-q", *tests,
                                   *[f"--deselect={t}" for t in deselect or []]], cwd=mutants, env=env,
                                  capture_output=True, text=True, check=False, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return None

    started = time.monotonic()
    if run("") != 0:
        raise SystemExit("the current tests fail on the scratch copy with no mutant active: nothing concluded "
                         "(the mutated module changed too much since the run; run the module afresh)")
    verdicts = {}
    # A mutant that loops is a timeout, not a kill. Timeouts are rechecked with a third of that: most were the
    # fixtures' set-up counted against mutmut's limit, and fail (or pass) well within one clean run.
    limit = max(60.0, (3 if timeouts else 10) * (time.monotonic() - started))
    survivors = _survivors(workdir, ("timeout",) if timeouts else ("no tests",) if untested else ("survived",))
    for name in [n for n in survivors if not patterns or any(fnmatch.fnmatch(n, p) for p in patterns)]:
        code = run(name, limit)
        verdicts[name] = "timeout" if code is None else "survived" if code == 0 else "killed"
        print(f"   {verdicts[name]:>8}: {name}", flush=True)
    killed = sum(v == "killed" for v in verdicts.values())
    print(f"\n== {key}: {killed} of {len(verdicts)} survivors now killed by the current tests")
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"module keys: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--all", action="store_true", help="every module, one after the other")
    parser.add_argument("--children", type=int, default=1, help="parallel mutant runs (default 1: shared CPUs)")
    parser.add_argument("--show", action="store_true", help="print the diff of every survivor")
    parser.add_argument("--timeout-multiplier", type=float, default=5.0,
                        help="a mutant's time limit in clean-run durations (raise it on a loaded machine, where "
                             "slow runs would otherwise count as timeouts)")
    parser.add_argument("--timeout-constant", type=float, default=1.0,
                        help="CPU seconds added to every mutant's recorded test time before the multiplier "
                             "(raise it for tests whose fixtures start the demo world: runtime, verification)")
    parser.add_argument("--only", nargs="+", metavar="PATTERN",
                        help="only these mutant name patterns (a subset, when the whole module cannot finish)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (to inspect with mutmut)")
    parser.add_argument("--recheck", type=Path, metavar="DIR",
                        help="run the survivors of a kept scratch copy (one module) against the current tests")
    parser.add_argument("--deselect", nargs="+", metavar="TEST", help="with --recheck: tests left out (a test of "
                        "behaviour the mutated module gained after the run)")
    parser.add_argument("--tests", nargs="+", metavar="TEST", help="with --recheck: only these tests (those added "
                        "or changed since the run; the survivors passed the others); without: the run's selection "
                        "instead of the key's (a fast first pass, its survivors then re-checked with the others)")
    parser.add_argument("--timeouts", action="store_true", help="with --recheck: the timeouts instead of the survivors")
    parser.add_argument("--untested", action="store_true",
                        help="with --recheck: the mutants no test of the run reached, instead of the survivors")
    parser.add_argument("--rescore", type=Path, metavar="DIR",
                        help="count the verdicts already in a kept scratch copy (one module) without running")
    args = parser.parse_args()
    unknown = [k for k in args.modules if k not in MODULES]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    keys = list(MODULES) if args.all or not args.modules else args.modules
    if (args.rescore or args.recheck) and len(keys) != 1:
        parser.error("--rescore and --recheck take one module key")
    if args.recheck:
        recheck(keys[0], args.recheck, args.only, args.deselect, args.tests, args.timeouts, args.untested)
        return
    results = [run_module(k, children=args.children, show=args.show, keep=args.keep,
                          timeout_multiplier=args.timeout_multiplier, timeout_constant=args.timeout_constant,
                          only=args.only, rescore=args.rescore, only_tests=args.tests)
               for k in keys]
    print("\nmodule                killed  survived  score")
    for r in results:
        print(f"{r['module']:<20} {r.get('killed', 0):>7} {r.get('survived', 0):>9} {r['score']:>6.1f} %")


if __name__ == "__main__":
    main()
