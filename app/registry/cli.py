"""Operator commands for the registries: ``import-nedb``, ``import-licences``, ``import-business``,
``generate-country`` and ``verify-month``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask_babel import force_locale

from app.extensions import db


def _snapshot_options(command):
    """NEDB's file as the complete register of its schools (app.registry.snapshot)."""
    for option in reversed((
        click.option("--snapshot", is_flag=True,
                     help="The file is the complete register of the schools it lists (and of those named with "
                          "--school): their stored rows the file does not list are taken out"),
        click.option("--school", "schools", multiple=True, metavar="BIN",
                     help="With --snapshot: a school covered even if the file lists no row of it (repeat)"),
        click.option("--dry-run", is_flag=True,
                     help="With --snapshot: show what would be taken out, change nothing"),
        click.option("--confirm-removals", is_flag=True,
                     help="With --snapshot: take out the rows even where a school would lose more than "
                          "NEDB_SNAPSHOT_MAX_REMOVED_SHARE of its rows"),
    )):
        command = option(command)
    return command


def _snapshot_of(kind: str, extra: dict) -> dict | None:
    """The job's options from the command's (None: rows are added or updated only); BadParameter for a misuse."""
    from app.registry.identifiers import is_valid_bin
    from app.registry.snapshot import SnapshotOptions

    if kind != "nedb" or not extra.get("snapshot"):
        if any(extra.get(name) for name in ("schools", "dry_run", "confirm_removals")):
            raise click.BadParameter("--school, --dry-run and --confirm-removals go with --snapshot",
                                     param_hint="--snapshot")
        return None
    wrong = [b for b in extra["schools"] if not is_valid_bin(b)]
    if wrong:
        raise click.BadParameter(f"not a BIN (12 digits with a correct check digit): {', '.join(wrong)}",
                                 param_hint="--school")
    return SnapshotOptions(tuple(dict.fromkeys(extra["schools"])), bool(extra["confirm_removals"]),
                           bool(extra["dry_run"])).as_options()


def _say_snapshot(job) -> None:
    """What a complete register took out (or would, or was refused for), as the import's page says it."""
    plan = (job.checkpoint or {}).get("snapshot")
    if not plan:
        return
    applied = (job.checkpoint or {}).get("snapshot_applied")
    listed = plan["rows"]
    for row in listed[:50]:
        click.echo(f"  {'would take out' if not applied else 'taken out'}: {row['school_bin']} {row['iin']} "
                   f"{row['full_name']} (grade {row['grade']}, enrolled {row['enrolled_on']})", err=True)
    if plan["removed"] > 50:
        click.echo(f"  … and {plan['removed'] - 50} more row(s)", err=True)
    for school in plan["schools"]:
        share = f"{school['removed']} of {school['stored']}"
        click.echo(f"  school {school['bin']}: {share} stored row(s) not in the file"
                   + (" — kept: the file has rejected rows of this school" if school["held_back"] else ""), err=True)
    if plan.get("blocked"):
        click.echo("  nothing is taken out: a rejected row's school could not be read", err=True)
    if plan["over_share"]:
        click.echo(f"  more than {plan['max_share']:.0%} of their rows would go at: {', '.join(plan['over_share'])}"
                   + ("" if plan["confirmed"] else " (refused without --confirm-removals)"), err=True)
    if applied:
        click.echo(f"Complete register: {applied['removed']} row(s) absent from the file taken out at "
                   f"{applied['schools']} school(s); each is kept with this import as the evidence.")
    elif plan["dry_run"]:
        click.echo(f"Preview only, nothing changed: {plan['removed']} row(s) of {plan['covered']} school(s) would be "
                   "taken out. Run the command again without --dry-run to import the file.")
    elif job.status != "done":
        click.echo("No row was taken out: a complete register takes rows out only once the file is read to its end.",
                   err=True)


def _import_command(kind: str):
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--errors-csv", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write every rejected row (line, column, reason) to this CSV file")
    def command(file: Path, errors_csv: Path | None, **extra) -> None:
        from flask import current_app

        from app.database import limit_lock_waits
        from app.jobs import STOPPED, mark_dispatched
        from app.registry.earlier_rows import notice_text
        from app.registry.importers import KINDS, REASONS, count_rows
        from app.registry.models import RegistryImport
        from app.registry.operations import create_import, run_import

        # as the background job runs it (app.registry.jobs.run_job): an act held by a transaction left open is one
        # incident of the re-verification, not a command waiting, silently, for as long as it stays open
        limit_lock_waits(current_app.config.get("JOB_LOCK_TIMEOUT_SECONDS", 10))
        options = _snapshot_of(kind, extra)
        with _StopOnCtrlC("the batch being written") as ctrl_c:
            # Counted before the job exists: a second Ctrl-C while a large file was counted left its job "queued" with
            # no lease, for ever — no worker to claim it, nothing for the background pass to find.
            total = count_rows(file, KINDS[kind].headings)
            if ctrl_c.requested:
                click.echo("■ Stopped on the command line (Ctrl-C) before the import began: nothing was imported.",
                           err=True)
                raise SystemExit(130)
            job = create_import(kind, file.name, source=file, options=options)
            # a lease for the moment until run_import claims it: should this process die first (killed, the machine
            # gone), the background pass finds the job once it runs out and runs it (app.jobs)
            mark_dispatched(job)
            db.session.commit()
            with click.progressbar(length=total, label=f"Importing {file.name}", show_pos=True) as bar:
                state = {"done": 0}

                def progress(processed: int, _total: int) -> None:
                    bar.update(processed - state["done"])
                    state["done"] = processed

                at_once = False
                try:
                    result = run_import(job.id, progress, stop_requested=lambda: ctrl_c.requested)
                except KeyboardInterrupt:
                    at_once = True  # a second Ctrl-C: handled below, once this block has let go of its traceback
                if at_once:
                    # The job ends here all the same: left running, its lease ran out and the background pass
                    # resumed the import the operator had stopped, minutes later, in another process. Outside the
                    # except block, so the frames of the statement the interruption cut short (and the connection
                    # they hold) are gone before the acts are verified again.
                    from app.registry.operations import stop_import

                    db.session.rollback()
                    stop_import(job.id, "interrupted:")
                    result = None
        job = db.session.get(RegistryImport, job.id)
        reverified = (job.checkpoint or {}).get("reverified") or {}
        with force_locale("en"):
            if result is None:
                code, _, detail = (job.message or "").partition(":")
                # stopped by the operator is no failure: said without the failure's mark, as the import's page does
                mark = "■" if job.status == STOPPED else "✗"
                click.echo(f"{mark} {REASONS.get(code, code)} {detail}".rstrip(), err=True)
                if job.loaded_rows:
                    click.echo(f"{job.loaded_rows} row(s) of the batches finished before it stopped stay loaded; "
                               "import the file again to load the rest (loaded rows are updated, not duplicated).",
                               err=True)
                _say_reverified(reverified)
                _say_snapshot(job)
                raise SystemExit(130 if job.status == STOPPED else 1)
            for err in result.errors[:50]:
                click.echo(f"  line {err['line']}: {err.get('heading', err['column'])}: {REASONS[err['code']]} "
                           f"({err['value']!r})",
                           err=True)
            if result.rejected > 50:
                click.echo(f"  … and {result.rejected - 50} more rejected row(s)", err=True)
            for notice in result.notices[:50]:
                click.echo(f"  line {notice['line']}: loaded, but {notice_text(notice)}", err=True)
            if result.ignored_columns:
                click.echo("  columns not read (not columns of this registry): "
                           + ", ".join(result.ignored_columns), err=True)
        if errors_csv is not None:
            from app.files import written_whole
            from app.security import csv_export_writer, spreadsheet_cell

            # whole or not at all: a CSV cut after a line break reads as a shorter, complete list of errors
            with written_whole(errors_csv, "w", newline="", encoding="utf-8") as fh:
                writer = csv_export_writer(fh)
                writer.writerow(["line", "column", "reason", "value"])
                with force_locale("en"):
                    # a column as the file's heading writes it, as the import's page names it
                    writer.writerows([e["line"], spreadsheet_cell(e.get("heading", e["column"])),
                                      str(REASONS[e["code"]]), spreadsheet_cell(e["value"])] for e in result.errors)
        if options and options["dry_run"]:
            _say_snapshot(job)
            return
        click.echo(f"{result.total} row(s): {result.loaded} loaded, {result.rejected} rejected"
                   + (f", {result.repeated} repeated an earlier row of the file (the later one loaded)."
                      if result.repeated else "."))
        if result.noticed:
            click.echo(f"{result.noticed} loaded row(s) may correct an earlier row of the same student: both rows "
                       "count until the earlier one is voided (see above).")
        _say_snapshot(job)
        merges = (job.checkpoint or {}).get("merges_applied")
        if merges:
            click.echo(f"{merges['merges']} merge(s) in the list; {merges['moved_rows']} NEDB row(s) of retired IINs "
                       f"moved to the surviving IIN, {merges['dropped_rows']} the surviving IIN already had."
                       + (f" Left out, going round in a circle: {merges['circular']}" if merges.get("circular")
                          else ""))
        _say_reverified(reverified)

    command.__doc__ = f"Import the {kind} registry from a CSV or XLSX file (re-import updates, no duplicates)."
    return _snapshot_options(command) if kind == "nedb" else command


class _StopOnCtrlC:
    """The operator's first Ctrl-C asks the command to stop where it can: once ``unit`` is committed (``requested``;
    :func:`app.registry.operations.run_import` stops after the batch being written — the acts the loaded batches
    changed verified again and the job ended "stopped" with the reason;
    :func:`app.reports.operations.run_month_verification` after the chunk of acts being verified). A second Ctrl-C
    stops at once. Python raises the interruption wherever the command is — in the middle of a write, in the driver's
    or the connection pool's own code — and what is half done there was left to chance; between two transactions
    nothing is.

    A signal handler can only be set from the main thread; a command started with Ctrl-C ignored (``nohup``, a
    background job) keeps it ignored."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.requested = False
        self._previous = None
        self._installed = False

    def __enter__(self) -> _StopOnCtrlC:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.SIG_IGN:
                self._previous = signal.default_int_handler if previous is None else previous
                signal.signal(signal.SIGINT, self._asked)
                self._installed = True
        return self

    def _asked(self, _signum, _frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        said = f"\nStopping once {self.unit} is saved (Ctrl-C again to stop at once)…\n"
        try:
            # straight to the file descriptor: the handler runs between any two steps of the command, perhaps in
            # the middle of a write to sys.stderr's buffer, which is not reentrant
            os.write(sys.stderr.fileno(), said.encode())
        except (AttributeError, OSError, ValueError):  # a stream with no descriptor (a test runner's capture)
            click.echo(said, err=True, nl=False)

    def __exit__(self, *_exc) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _say_reverified(reverified: dict) -> None:
    """The open acts the loaded rows concern were verified again (app.registry.operations.reverify_committed)."""
    if reverified:
        click.echo(f"{reverified['acts']} open act(s) concerned by the loaded rows verified again on the new "
                   "registry data" + (f"; {reverified['failed']} could not be, each an incident on its process to "
                                      "retry." if reverified.get("failed") else "."), err=True)


def register_registry_cli(app: Flask) -> None:
    for kind, name in (("nedb", "import-nedb"), ("nedb_merges", "import-nedb-merges"), ("licences", "import-licences"),
                       ("business", "import-business"),
                       ("students", "import-students"), ("dormitory_beds", "import-dormitory-beds"),
                       ("dormitory_documents", "import-dormitory-documents")):
        app.cli.command(name)(_import_command(kind))

    @app.cli.command("generate-country")
    @click.option("--seed", default=2026, show_default=True, type=int)
    @click.option("--students", default=4_000_000, show_default=True, type=int, help="NEDB size (all schools)")
    @click.option("--schools", default=850, show_default=True, type=int, help="private schools")
    @click.option("--private-students", default=None, type=int, help="students in private schools (default ≈13.9%)")
    @click.option("--period", default="2026-10", show_default=True, help="month of the acts, YYYY-MM")
    @click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="ground-truth CSV (default: instance/country-truth-<seed>.csv)")
    @click.option("--rate", "rates", multiple=True, metavar="CLASS=SHARE",
                  help="share of students (or schools) with this anomaly or near-miss, e.g. --rate withdrawn=0.01 "
                       "--rate transfer_mid=0.01; repeat for several classes (0 turns one off, at most 0.05)")
    def generate_country_command(seed: int, students: int, schools: int, private_students: int | None,
                                 period: str, truth: Path | None, rates: tuple[str, ...]) -> None:
        """Build the deterministic synthetic country: regions, schools, NEDB, licences, business register,
        one month of submitted acts with anomalies and near-misses at known rates, and the ground truth."""
        from flask import current_app

        from app.registry.synthetic import CountrySpec, decided_acts_held, generate_country

        try:
            month = date.fromisoformat(f"{period}-01")
        except ValueError:
            raise click.BadParameter("use YYYY-MM", param_hint="--period") from None
        spec = CountrySpec(seed=seed, nedb_students=students, schools=schools,
                           private_students=private_students, period=month)
        for item in rates:
            name, _sep, value = item.partition("=")
            try:
                share = float(value)
            except ValueError:
                raise click.BadParameter(f"{item!r}: write CLASS=SHARE, e.g. withdrawn=0.004",
                                         param_hint="--rate") from None
            try:
                spec.set_rate(name.strip(), share)
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint="--rate") from None
        from sqlalchemy import inspect

        if not inspect(db.engine).has_table("act"):
            raise click.ClickException("The database has no tables yet: run `flask db upgrade` on it first.")
        decided = decided_acts_held()
        if decided:
            # Hundreds of fictitious schools with accounts, licences and NEDB rows would sit beside the real ones:
            # open-acts would open acts for them and the month-wide pass verify them.
            raise click.ClickException(
                f"This database holds {decided} accepted or paid act(s): generate-country writes a fictitious "
                "country (schools with accounts, licences, NEDB rows, acts) into the database it runs on. Run it "
                "on a database of its own, e.g. DATABASE_URL=sqlite:///instance/country.db.")
        truth = truth or Path(current_app.instance_path) / f"country-truth-{seed}.csv"
        with click.progressbar(length=100, label="Generating country") as bar:
            state = {"done": 0}

            def progress(percent: int) -> None:
                bar.update(percent - state["done"])
                state["done"] = percent

            stats = generate_country(spec, truth, progress=progress)
        click.echo(f"{stats.schools} schools, {stats.nedb_rows} NEDB rows, {stats.act_lines} act lines, "
                   f"{stats.anomalous_lines} anomalous lines; ground truth: {truth}")

    @app.cli.command("verify-month")
    @click.option("--period", required=True, help="Month as YYYY-MM")
    def verify_month_command(period: str) -> None:
        """Verify every submitted or verified act of a month (what the operator's background job does)."""
        from flask import current_app

        from app.database import limit_lock_waits
        from app.engine.errors import DomainRefused
        from app.jobs import STOPPED, mark_dispatched
        from app.reports import operations

        # what the background job does (app.registry.jobs.run_job): an act held by a transaction left open (an
        # official's acceptance stuck mid-request, a job) becomes a "could not be checked" incident named below, the
        # others are verified — the command had waited for it, silently, for as long as the transaction stayed open
        limit_lock_waits(current_app.config.get("JOB_LOCK_TIMEOUT_SECONDS", 10))

        try:
            month = date.fromisoformat(f"{period}-01")
        except ValueError:
            raise click.BadParameter("a month as YYYY-MM, e.g. 2026-10", param_hint="--period") from None
        with _StopOnCtrlC("the chunk of acts being verified") as ctrl_c:
            try:
                run = operations.start_month_verification(month, actor=None, dispatch_job=False)
            except DomainRefused as err:  # a run of the month is going on (or its worker died: the ticker resumes it)
                db.session.rollback()
                raise click.ClickException(str(err)) from None
            # a lease for the moment until the run is claimed: a command that died first (killed, the machine gone)
            # had left it "queued" with no lease — never found by the background pass, and the month's one active run
            # (uq_verification_run_active_period): "already running" for ever
            mark_dispatched(run)
            db.session.commit()
            run_id, at_once = run.id, False
            try:
                run = operations.run_month_verification(run_id, operations.CHUNK_ACTS,
                                                        stop_requested=lambda: ctrl_c.requested)
            except KeyboardInterrupt:
                at_once = True  # a second Ctrl-C: handled below, once this block has let go of its traceback
            if at_once:
                # The chunk under way is rolled back; the run ends here all the same (left running, the background
                # pass resumed it once its lease ran out). Outside the except block: the frames of the statement the
                # interruption cut short, and the connection they hold, are gone first.
                db.session.rollback()
                run = operations.stop_month_verification(run_id)
        code, _sep, detail = (run.message or "").partition(":")
        if run.status == STOPPED:  # the operator's stop, not a failure: said without the failure's mark
            failed = (run.checkpoint or {}).get("failed_acts") or {}
            click.echo(f"■ Stopped on the command line (Ctrl-C) {detail}: those acts are verified, the others keep "
                       f"their last check. Run `flask verify-month --period {period}` again to verify the whole month.",
                       err=True)
            if failed:
                click.echo(f"{len(failed)} act(s) could not be checked; each has an incident: "
                           + ", ".join(f"#{a}" for a in sorted(failed, key=int)[:20]), err=True)
            raise SystemExit(130)
        click.echo(f"{run.total_acts} act(s), {run.total_lines} line(s), {run.excluded_lines} excluded: {run.by_rule}")
        if run.message:  # acts that could not be checked, each an incident: the month is not verified whole
            click.echo(f"✗ {run.message}", err=True)
            raise SystemExit(1)
