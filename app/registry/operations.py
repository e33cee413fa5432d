"""Every state change of the registries passes here and writes its audit event."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from app import clock, jobs
from app.audit.operations import record_event
from app.database import error_first_line, remove_unless_committed
from app.engine.errors import DomainRefused
from app.extensions import db
from app.registry.importers import KINDS, FileUnreadable, ImportResult, import_file, scan, touched_acts
from app.registry.merges import apply_merges
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, RegistryImport
from app.registry.snapshot import (
    FileKeys,
    SnapshotOptions,
    max_removed_share,
    plan_removals,
    read_file_keys,
    remove_absent,
)

CHAIN = "registry"
log = logging.getLogger(__name__)


def upload_dir() -> Path:
    """Where uploads wait for their job: ``REGISTRY_UPLOAD_DIR`` (shared by the web processes and the Celery
    workers in the scale-out mode), else instance/imports."""
    configured = current_app.config.get("REGISTRY_UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(job: RegistryImport) -> Path:
    return upload_dir() / f"{job.id}-{job.kind}.data"


def create_import(kind: str, filename: str, source: Path | None = None, actor=None, stream=None,
                  options: dict | None = None) -> RegistryImport:
    """Register an import job and keep a copy of its file under instance/imports (the job reads it later).
    ``options``: how the file is read (a complete register of NEDB: :class:`app.registry.snapshot.SnapshotOptions`)."""
    if kind not in KINDS:
        raise ValueError(kind)
    if options and kind != "nedb":
        raise ValueError(f"{kind}: only an NEDB file is read as a complete register")
    job = RegistryImport(kind=kind, filename=filename[:255], status="queued", errors=[], options=options or None,
                         created_by_id=getattr(actor, "id", None), created_at=clock.now())
    db.session.add(job)
    db.session.flush()
    target = None
    try:
        target = stored_path(job)
        if stream is not None:
            stream.save(target) if hasattr(stream, "save") else target.write_bytes(stream.read())
        elif source is not None:
            shutil.copyfile(source, target)
    except OSError as err:  # the upload folder is full or cannot be written: a message, and no part of the file
        if target is not None:
            target.unlink(missing_ok=True)
        log.error("registry import %s: its file could not be stored (%s): %s", job.id, target, err)
        raise DomainRefused(_("The file could not be stored: the server's storage is full or unavailable. Nothing "
                              "was imported; try again later.")) from err
    remove_unless_committed(target)  # a job that is not committed leaves no file behind
    record_event(CHAIN, "registry.import_started", "registry_import", job.id, actor_id=getattr(actor, "id", None),
                 details={"kind": kind, "filename": job.filename, **({"options": options} if options else {})})
    return job


class ImportStopped(Exception):
    """The operator asked the import to stop (``flask import-…`` and Ctrl-C): it stops at the next batch boundary,
    the batches committed so far stay loaded, and the job ends ``stopped`` (:data:`app.jobs.STOPPED`, not failed) with
    the reason :data:`importers.REASONS` names."""

    code, detail = "interrupted", ""


class StarterWithdrawn(Exception):
    """The person who started the import may no longer import (deactivated, or moved to a role that does not): the
    run does not write in their name what they could not start now. Asked as each run begins — a queued job, or one
    resumed after its worker died — and after each committed batch."""

    code = "starter_withdrawn"

    def __init__(self, user_id: int):
        super().__init__(f"user {user_id}")
        self.detail = f"user {user_id}"


def _check_starter(job: RegistryImport) -> None:
    """Raise :class:`StarterWithdrawn` when the job's person (none: the command line) may no longer import."""
    if job.created_by_id is None:
        return
    from app.people.models import User
    from app.registry.access import IMPORTERS

    starter = db.session.execute(select(User.active, User.role).where(User.id == job.created_by_id)).first()
    if starter is None or not starter.active or starter.role not in IMPORTERS:
        raise StarterWithdrawn(job.created_by_id)


class SnapshotRefused(Exception):
    """A complete register would take out more than a school may lose unconfirmed (a file cut short): the import
    fails with the schools named, before a row is written (the plan is kept in the job's checkpoint for its page)."""

    code = "snapshot_refused"

    def __init__(self, schools: list[str]):
        super().__init__(", ".join(schools))
        self.detail = ", ".join(schools)[:400]


def run_import(job_id: int, progress=None, stop_requested=None) -> ImportResult | None:
    """Run a queued import: the file is read through once first (:func:`importers.scan`: a file that cannot be read
    to its end fails before a row is written), then rows land batch by batch (committed), progress visible meanwhile.

    The job holds a lease (:mod:`app.jobs`) renewed with every batch. Rows are upserted on their natural key,
    so a run resumed after its worker died simply reads the file again: rows already loaded are updated to the
    same values, never duplicated. Any failure — a corrupt or hostile file even before the first row (the
    workbook cannot be opened, an XML bomb), a run past ``JOB_TIME_LIMIT_SECONDS``, or anything unexpected later —
    ends the job ``failed`` with the reason, never ``queued`` or ``running`` for ever.

    ``stop_requested()``: asked after the file's scan and after each committed batch — true, the run stops there
    (:class:`ImportStopped`): between two transactions, so the stop never lands in the middle of a write."""
    job = db.session.get(RegistryImport, job_id)
    if job is None or job.status not in ("queued", "running"):
        return None
    if not jobs.claim(job):
        return None  # another worker holds the lease
    path = stored_path(job)
    # The open acts the committed batches changed records of, kept with the job: a run resumed after its worker
    # died reads the file again and finds those rows stored as they are (nothing changed, no act named) — the acts
    # the first run would have verified again were left acceptable at the registry's old word.
    touched: set[int] = set((job.checkpoint or {}).get("touched_acts", ()))

    def on_batch(processed: int, loaded: int, rejected: int) -> None:
        job.processed_rows, job.loaded_rows, job.rejected_rows = processed, loaded, rejected
        if touched != set((job.checkpoint or {}).get("touched_acts", ())):
            job.checkpoint = {**(job.checkpoint or {}), "touched_acts": sorted(touched)}
        jobs.heartbeat(job)
        _check_starter(job)  # before the batch is committed: none is written after the right was taken away
        db.session.commit()
        if progress:
            progress(processed, job.total_rows)
        if stop_requested is not None and stop_requested():
            raise ImportStopped()

    try:
        _check_starter(job)
        if not path.exists():
            raise FileUnreadable("file_missing", "")
        try:
            # the whole file read before a row is written: a bad file changes nothing
            scanned = scan(path, KINDS[job.kind].headings)
        except FileUnreadable:
            raise
        except Exception as err:  # openpyxl and lxml raise many kinds for a corrupt or hostile workbook
            raise FileUnreadable("unreadable", f"{type(err).__name__}: {err}") from err
        job.total_rows = scanned.rows
        db.session.commit()
        if stop_requested is not None and stop_requested():
            raise ImportStopped()
        complete = SnapshotOptions.of(job.options) if job.kind == "nedb" else None
        listed = None
        if complete is not None and "snapshot_applied" not in (job.checkpoint or {}):
            # planned before a row is written: a preview writes nothing, a file cut short is refused untouched
            listed = read_file_keys(path, scanned.formulas, scanned.layout)
            if _planned(job, listed, complete):  # a preview: done, nothing written
                return ImportResult(total=listed.rows, rejected=listed.rejected, errors=[], notices=[],
                                    ignored_columns=[])
            if stop_requested is not None and stop_requested():
                raise ImportStopped()
        result = import_file(job.kind, path, on_batch, scanned.formulas, touched, layout=scanned.layout)
        if complete is not None:
            _remove_absent(job, listed, complete, touched)
        elif job.kind == "nedb_merges":
            _apply_merges(job, touched)
        # The open acts whose students or organisations the import changed are verified again now: accepted at
        # the version verified before, an act was paid at the registry's old word (a withdrawn pupil paid).
        reverified = {}
        if result.touched_acts:
            from app.reports.operations import reverify_after_import

            reverified = reverify_after_import(job, result.touched_acts)
    except jobs.LeaseLost:
        db.session.rollback()
        raise
    except Exception as err:
        db.session.rollback()
        # a reason of its own, said on the page
        known = isinstance(err, (FileUnreadable, jobs.TimeLimitExceeded, ImportStopped, SnapshotRefused,
                                 StarterWithdrawn))
        if not known:
            log.exception("registry import %s failed", job_id)
        # the driver's first line: SQLAlchemy's message goes on with the statement (and the rows' values)
        reason = f"{err.code}:{err.detail}" if known else f"error:{type(err).__name__}: {error_first_line(err)}"
        stop_import(job_id, reason)
        return None
    job.status = "done"
    job.total_rows = job.processed_rows = result.total
    job.loaded_rows, job.rejected_rows, job.errors = result.loaded, result.rejected, result.errors
    job.notices = result.notices
    job.finished_at = clock.now()
    if reverified:
        job.checkpoint = {**(job.checkpoint or {}), "reverified": reverified}
    if result.ignored_columns:  # said on the job's page: a heading typed wrong is a column not loaded
        job.checkpoint = {**(job.checkpoint or {}), "ignored_columns": result.ignored_columns}
    jobs.release(job)
    taken_out = {key: job.checkpoint[key] for key in ("snapshot_applied", "merges_applied")
                 if key in (job.checkpoint or {})}
    record_event(CHAIN, "registry.imported", "registry_import", job.id, actor_id=job.created_by_id,
                 details={"kind": job.kind, "filename": job.filename, "rows": result.total,
                          "loaded": result.loaded, "rejected": result.rejected, "columns": result.columns,
                          "may_correct_earlier": result.noticed, "repeated_in_file": result.repeated,
                          **({"ignored_columns": result.ignored_columns} if result.ignored_columns else {}),
                          **({"reverified_acts": reverified} if reverified else {}), **taken_out})
    db.session.commit()
    path.unlink(missing_ok=True)
    return result


def _planned(job: RegistryImport, listed: FileKeys, complete: SnapshotOptions) -> bool:
    """Plan a complete register's removals and keep the plan for the job's page. A preview ends the job here (True),
    nothing written; a plan past the share a school may lose unconfirmed is refused (:class:`SnapshotRefused`)."""
    share = max_removed_share()
    plan = plan_removals(listed, complete)
    report = plan.report(complete, share) | {"rows_in_file": listed.rows, "rejected_in_file": listed.rejected}
    job.checkpoint = {**(job.checkpoint or {}), "snapshot": report}
    if complete.dry_run:
        job.status, job.finished_at = "done", clock.now()
        job.processed_rows, job.loaded_rows, job.rejected_rows = listed.rows, 0, listed.rejected
        jobs.release(job)
        record_event(CHAIN, "registry.snapshot_previewed", "registry_import", job.id, actor_id=job.created_by_id,
                     details={"filename": job.filename, "covered_schools": report["covered"],
                              "would_remove": plan.removed, "held_back": plan.held_rows,
                              "over_share": report["over_share"]})
        db.session.commit()
        discard_file(job)
        return True
    db.session.commit()  # the plan stays on the job's page, refused or not
    if report["over_share"] and not complete.confirmed:
        raise SnapshotRefused(report["over_share"])
    return False


def _remove_absent(job: RegistryImport, listed: FileKeys | None, complete: SnapshotOptions,
                   touched: set[int]) -> None:
    """The file's last row is loaded: its covered schools' rows it does not list are taken out, all in this one
    transaction with the acts they concern kept in the checkpoint (to verify again, even should the run stop right
    after) and the audit event — a run stopped before this commit took out nothing. A run resumed after it
    (``snapshot_applied``) does not take out again."""
    if listed is None:  # resumed after its removals were committed: never taken out twice
        return
    plan = plan_removals(listed, complete)  # as the database holds it now, the file loaded
    share = max_removed_share()
    if plan.over_share(share) and not complete.confirmed:  # another import changed the roll meanwhile
        raise SnapshotRefused(plan.over_share(share))
    removed = remove_absent(job.id, plan)
    touched.update(touched_acts(KINDS["nedb"], removed.iins))
    applied = {"removed": removed.rows, "schools": len(removed.by_school), "held_back": plan.held_rows,
               "blocked": plan.blocked, "confirmed": complete.confirmed}
    job.checkpoint = {**(job.checkpoint or {}), "touched_acts": sorted(touched), "snapshot_applied": applied,
                      "snapshot": plan.report(complete, share) | {
                          k: v for k, v in (job.checkpoint or {}).get("snapshot", {}).items()
                          if k in ("rows_in_file", "rejected_in_file")}}
    jobs.heartbeat(job)
    record_event(CHAIN, "registry.snapshot_applied", "registry_import", job.id, actor_id=job.created_by_id,
                 details={"filename": job.filename, **applied, "by_school": removed.by_school})
    db.session.commit()


def _apply_merges(job: RegistryImport, touched: set[int]) -> None:
    """The merge list is loaded: chains made flat and the retired IINs' NEDB rows moved, in one transaction with the
    acts they concern and the audit event."""
    applied = apply_merges(job.id)
    touched.update(touched_acts(KINDS["nedb"], applied.iins))
    job.checkpoint = {**(job.checkpoint or {}), "touched_acts": sorted(touched), "merges_applied": applied.report()}
    jobs.heartbeat(job)
    record_event(CHAIN, "registry.merges_applied", "registry_import", job.id, actor_id=job.created_by_id,
                 details={"filename": job.filename, **applied.report()})
    db.session.commit()


def stop_import(job_id: int, reason: str) -> None:
    """End a running import before its end (``reason``: "code:detail", see importers.REASONS): the acts its committed
    batches changed are verified again, then the job fails with the reason. Called after the caller rolled back.

    Still holding the lease: should this fail too (the database gone), the job stays running, its lease runs out and
    the resumed run verifies them; past the time limit, what the committed batches owe is still done."""
    job = db.session.get(RegistryImport, job_id)
    reverified = reverify_committed(job, renew=lambda held: jobs.heartbeat(held, time_limit=False))
    _fail_import(job_id, reason, reverified)


def reverify_committed(job: RegistryImport, renew) -> dict:
    """An import that stops before its end (a database error in batch N, the time limit, its workers lost) keeps the
    batches it committed: the registry has changed for the open acts those batches concern (kept in the job's
    checkpoint with each batch). They are verified again as a finished import's are — left alone, an act verified on
    the registry's old word was accepted and paid at the amount the registry no longer supports. All-or-nothing was
    the other way: one transaction over a file of 4 million rows holds SQLite's only writer (every page that saves
    waits) or PostgreSQL's row locks and dead tuples for the whole run, and loses it all at the last row.

    Returns what :func:`app.reports.operations.reverify_after_import` reports, kept in the checkpoint for the job's
    page ({} when the committed batches concerned no open act). ``renew``: renews the job's lease per chunk, or
    None."""
    acts = (job.checkpoint or {}).get("touched_acts") or ()
    if not acts:
        return {}
    from app.reports.operations import reverify_after_import

    reverified = reverify_after_import(job, acts, renew=renew)
    job.checkpoint = {**(job.checkpoint or {}), "reverified": reverified}
    return reverified


def _fail_import(job_id: int, reason: str, reverified: dict) -> None:
    """The job ends failed with the reason — or :data:`app.jobs.STOPPED` when the operator stopped it (``interrupted:``,
    :class:`ImportStopped`): a person's choice, not a failure, in every list that shows the job."""
    job = db.session.get(RegistryImport, job_id)
    stopped = reason.partition(":")[0] == ImportStopped.code
    job.status, job.message = (jobs.STOPPED if stopped else "failed"), reason[:500]
    job.finished_at = clock.now()
    jobs.release(job)
    record_event(CHAIN, "registry.import_stopped" if stopped else "registry.import_failed", "registry_import", job.id,
                 actor_id=job.created_by_id,
                 details={"kind": job.kind, "reason": job.message, "loaded": job.loaded_rows,
                          **({"by": "command line"} if stopped else {}),
                          **({"reverified_acts": reverified} if reverified else {})})
    db.session.commit()
    discard_file(job)


#: an import given up (``worker_lost``) whose committed batches' acts are still to be verified again: set in its
#: checkpoint as it is failed (:func:`abandon_marks`), cleared once they were (:func:`abandon_import`)
REVERIFY_OWED = "reverify_owed"


def abandon_marks(checkpoint: dict | None) -> dict:
    """An import given up with committed batches that concerned open acts owes their re-verification."""
    return {REVERIFY_OWED: True} if (checkpoint or {}).get("touched_acts") else {}


def abandon_import(job: RegistryImport) -> None:
    """An import given up after its workers died (``worker_lost``): its file goes, and the acts its committed batches
    changed are verified again (:func:`reverify_committed`, no lease: the job is failed; each act's ``act.verified``
    event names the import). Should that fail (the database away at that moment), the job keeps its
    :data:`REVERIFY_OWED` mark and the background pass tries again (:func:`reverify_owed_imports`): it had been
    logged and never done, and the acts verified on the registry's old word stayed acceptable at its amount."""
    discard_file(job)
    reverify_committed(job, renew=None)
    job.checkpoint = {key: value for key, value in (job.checkpoint or {}).items() if key != REVERIFY_OWED}
    job.lease_expires_at = None
    db.session.commit()


def reverify_owed_imports() -> int:
    """The background pass: the imports given up whose re-verification failed (:data:`REVERIFY_OWED`) are re-verified
    again, each in its own transactions; how many were finished. Each is claimed first with a lease on the failed
    job (one guarded UPDATE): two passes at once do it once, and one that failed is tried again when that lease has
    run out, not at every pass while the database is still away."""
    owed = db.session.scalars(select(RegistryImport.id).where(
        RegistryImport.status == "failed", RegistryImport.checkpoint[REVERIFY_OWED].as_boolean().is_(True))
        .order_by(RegistryImport.id).limit(100)).all()
    finished = 0
    for job_id in owed:
        try:
            now = clock.now()
            taken = db.session.execute(
                update(RegistryImport).where(RegistryImport.id == job_id, RegistryImport.status == "failed", or_(
                    RegistryImport.lease_expires_at.is_(None), jobs.lease_lost(RegistryImport, now)))
                .values(lease_expires_at=now + timedelta(seconds=jobs.lease_seconds()), worker=jobs.worker_id())
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if taken != 1:
                continue
            job = db.session.get(RegistryImport, job_id)
            db.session.refresh(job)
            abandon_import(job)
            finished += 1
            log.info("registry import %s: the acts its committed batches changed were verified again", job_id)
        except Exception as err:
            db.session.rollback()
            log.error("registry import %s: verifying again the acts its committed batches changed failed (%s); "
                      "the next pass tries again", job_id, error_first_line(err))
    return finished


def discard_file(job: RegistryImport) -> None:
    """A finished import's uploaded copy is deleted, whatever the outcome: a failed one had stayed on disk with the
    students' IINs and names (only a successful import removed its file). To try again, the file is uploaded
    again."""
    stored_path(job).unlink(missing_ok=True)


def registry_counts() -> dict[str, int]:
    return {
        "nedb": db.session.scalar(select(func.count(NedbEnrollment.id))) or 0,
        "licences": db.session.scalar(select(func.count(Licence.id))) or 0,
        "business": db.session.scalar(select(func.count(BusinessRecord.id))) or 0,
        # The other instruments' registries (app.dormitories.registry adds its kinds to the importers').
        **{name: db.session.scalar(select(func.count()).select_from(kind.table)) or 0
           for name, kind in KINDS.items() if name not in ("nedb", "licences", "business")},
    }
