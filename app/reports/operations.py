"""The month-wide verification job and the discrepancy report.

The job re-verifies every act of a month that is submitted or verified (not yet accepted — an accepted
act's lines are final) with the same set-based rules as the Verify contingent task, a chunk of acts per
transaction so the operator sees progress and the database is never locked for long.

Decided is final: each chunk's transaction first *claims* its acts (a guarded UPDATE of the ones still
submitted or verified, see :func:`app.acts.operations.claim_for_verification`) and verifies only those. An act
accepted or returned after the job listed the month is skipped; a decision arriving while the chunk runs waits
for its commit and then finds the act's version moved on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from app import clock, jobs
from app.acts.models import Act, ActLine
from app.acts.operations import VERIFIABLE, claim_for_verification, verify_acts_of_instruments
from app.acts.review import exclusion_events
from app.acts.verification import load_acts
from app.audit.operations import record_event, record_events
from app.database import error_first_line
from app.engine.errors import DomainRefused
from app.engine.incidents import log_words, reverifiers
from app.engine.runtime import database_unusable_now
from app.extensions import db
from app.instruments import SCHOOLS
from app.instruments import instrument as instrument_named
from app.people.models import Region
from app.reports.models import VerificationRun

CHAIN = "verification"
#: the monthly act's verification step: where a month-wide check's incident is shown on the diagram
VERIFY_ELEMENT = "verify_contingent"
log = logging.getLogger(__name__)


def _active_run(period: date) -> VerificationRun | None:
    return db.session.scalars(select(VerificationRun).where(VerificationRun.period == period,
                                                            VerificationRun.status.in_(("queued", "running")))).first()


def start_month_verification(period: date, actor, dispatch_job: bool = True) -> VerificationRun:
    """Queue a run for the month; refuses while another run of the same month is still going."""
    period = period.replace(day=1)
    if _active_run(period) is not None:
        raise DomainRefused(_("A verification of this month is already running."))
    total = db.session.scalar(select(func.count(Act.id)).where(Act.period == period, Act.status.in_(VERIFIABLE))) or 0
    run = VerificationRun(period=period, status="queued", total_acts=total, processed_acts=0, total_lines=0,
                          excluded_lines=0, by_rule={}, created_by_id=getattr(actor, "id", None),
                          created_at=clock.now())
    try:
        with db.session.begin_nested():  # the unique index decides between two starts at once
            db.session.add(run)
            db.session.flush()
    except IntegrityError:
        raise DomainRefused(_("A verification of this month is already running.")) from None
    record_event(CHAIN, "verification.started", "verification_run", run.id, actor_id=getattr(actor, "id", None),
                 details={"period": f"{period:%Y-%m}", "acts": total})
    if dispatch_job:
        db.session.commit()
        from app.registry.jobs import dispatch

        run.background_unreachable = not dispatch("tapsyrys.reports.verify_month", run.id)
    return run


def verify_acts(acts, **kwargs) -> tuple[dict, dict]:
    """One chunk of the month: every act by its instrument's rule set, then what follows it (the schools'
    adjustments of decided months) — ({act_id: summary}, {act_id: settled}). The pass's one call per chunk."""
    return verify_acts_of_instruments(acts, **kwargs)


#: acts per transaction of the month-wide verification
CHUNK_ACTS = 100


class VerificationStopped(Exception):
    """The operator asked the run to stop (``flask verify-month`` and Ctrl-C): it stops between two chunks."""


def run_month_verification(run_id: int, chunk_acts: int | None = CHUNK_ACTS, *,
                           on_step: Callable[[str], None] | None = None,
                           stop_requested: Callable[[], bool] | None = None) -> VerificationRun | None:
    """Verify every verifiable act of the run's month; commits after each chunk of ``chunk_acts`` acts
    (None: all acts in one pass — the benchmark's fastest path). ``on_step`` is told where the pass is
    ("chunk" before each chunk's claim, then the verification's own steps) — tests pause the pass there.

    ``stop_requested()``: asked before each chunk (the previous one committed) — true, the run stops there
    (:func:`stop_month_verification`), never in the middle of a chunk's write."""
    step = on_step or (lambda label: None)
    run = db.session.get(VerificationRun, run_id)
    if run is None or run.status not in ("queued", "running"):
        return run
    # -- lease (app/jobs.py): one worker at a time; a resumed run goes on after its last committed chunk --
    if not jobs.claim(run):
        return run
    after_act_id = (run.checkpoint or {}).get("after_act_id", 0)
    done_before = run.processed_acts if after_act_id else 0
    # --
    try:
        month_ids = list(db.session.scalars(select(Act.id).where(Act.period == run.period, Act.status.in_(VERIFIABLE))
                                            .order_by(Act.id)))
        act_ids = [act_id for act_id in month_ids if act_id > after_act_id]  # lease: resume after the checkpoint
        run.total_acts = done_before + len(act_ids)
        db.session.commit()
        size = chunk_acts or max(len(act_ids), 1)
        totals: dict[str, int] = dict(run.by_rule or {}) if after_act_id else {}
        lines, excluded = (run.total_lines, run.excluded_lines) if after_act_id else (0, 0)
        decided_meanwhile: set[int] = set()
        failed: dict[str, str] = dict((run.checkpoint or {}).get("failed_acts", {})) if after_act_id else {}
        for i in range(0, len(act_ids), size):
            if stop_requested is not None and stop_requested():
                raise VerificationStopped()
            step("chunk")
            chunk = act_ids[i : i + size]
            try:
                results = _verify_chunk(run, chunk, month_ids, decided_meanwhile, on_step)
            except jobs.LeaseLost:
                raise
            except Exception as err:  # noqa: BLE001 - one poisoned act must not fail the month: one act at a time
                if database_unusable_now(err):
                    raise  # the database's failure, not the acts': the run resumes after its last chunk (below)
                db.session.rollback()
                log.warning("verification run %s: a chunk failed (%s); its acts are checked one by one", run_id,
                            log_words(err))
                results = _verify_one_by_one(run_id, chunk, month_ids, decided_meanwhile, failed,
                                             renew=lambda: jobs.heartbeat(db.session.get(VerificationRun, run_id)))
                run = db.session.get(VerificationRun, run_id)
            for s in results:
                lines += s.total
                excluded += s.excluded
                for rule, n in s.by_rule.items():
                    totals[rule] = totals.get(rule, 0) + n
            run.processed_acts = done_before + min(i + size, len(act_ids))
            run.total_lines, run.excluded_lines, run.by_rule = lines, excluded, dict(totals)
            run.checkpoint = {"after_act_id": chunk[-1], **({"failed_acts": failed} if failed else {})}  # lease
            jobs.heartbeat(run)  # lease: renewed with the chunk, or LeaseLost
            db.session.commit()
        if failed:
            run.message = _("%(n)s act(s) could not be checked; each has an incident: %(ids)s", n=len(failed),
                            ids=", ".join(f"#{a}" for a in sorted(failed, key=int)[:20]))[:500]
        run.status = "done"
        run.finished_at = clock.now()
        jobs.release(run)  # lease
        record_event(CHAIN, "verification.finished", "verification_run", run.id, actor_id=run.created_by_id,
                     details={"period": f"{run.period:%Y-%m}", "acts": run.total_acts, "lines": lines,
                              "excluded": excluded, "by_rule": totals, "skipped_decided": len(decided_meanwhile),
                              "failed": len(failed)})
        db.session.commit()
    except jobs.LeaseLost:  # lease: another worker took the run over; it is theirs now
        db.session.rollback()
        raise
    except VerificationStopped:
        db.session.rollback()  # nothing: raised between two chunks
        return stop_month_verification(run_id)
    except Exception as err:
        db.session.rollback()
        if database_unusable_now(err):
            # PostgreSQL restarted or the backend was killed, SQLite's file was locked by another writer past the busy
            # timeout or failed with a disk I/O error: nothing of the chunk was written, and the acts are not to blame
            # (they became "could not be checked" incidents, each for an operator to retry, while checking them one
            # by one met the same locked or failing file). The run keeps its lease and its checkpoint; once the lease
            # expires the background pass resumes it after its last chunk.
            log.debug("verification run %s: the database could not be used (%s); the run resumes after its "
                      "last committed chunk when its lease expires (its runner says so)", run_id, error_first_line(err))
            raise
        run = db.session.get(VerificationRun, run_id)
        run.status, run.message, run.finished_at = "failed", error_first_line(err)[:500], clock.now()
        jobs.release(run)  # lease
        record_event(CHAIN, "verification.failed", "verification_run", run.id, actor_id=run.created_by_id,
                     details={"error": run.message})
        db.session.commit()
        raise
    return run


def stop_month_verification(run_id: int) -> VerificationRun:
    """End a run the operator stopped on the command line (Ctrl-C) before its end. Its committed chunks stay: each
    act of them verified, each other act keeps its last check — nothing is owed, nothing half written. The run ends
    :data:`app.jobs.STOPPED` with the reason (``interrupted:``, app.jobs.FAILURE_REASONS) — "failed" had shown the
    operator's own stop as a failure in every list — and lets go of its lease: left running, the background pass
    resumed it once the lease ran out, minutes later, in another process, with the operator believing it stopped.
    Called after the caller rolled back; a run another worker has taken over meanwhile is left to it."""
    run = db.session.get(VerificationRun, run_id)
    mine = run.status == "running" and run.worker == jobs.worker_id()
    never_claimed = run.status == "queued" and not run.attempts  # stopped before its first claim (the command's own)
    if not (mine or never_claimed):
        return run
    run.status, run.finished_at = jobs.STOPPED, clock.now()
    run.message = f"interrupted:after {run.processed_acts} of {run.total_acts} act(s)"
    jobs.release(run)
    record_event(CHAIN, "verification.stopped", "verification_run", run.id, actor_id=run.created_by_id,
                 details={"reason": run.message, "by": "command line"})
    db.session.commit()
    return run


def _verify_chunk(run: VerificationRun | None, chunk: list[int], month_ids: list[int], decided_meanwhile: set[int],
                  on_step=None, *, origin: dict | None = None) -> list:
    """Claim and verify a chunk of acts set-based, in the caller's transaction; the acts' summaries. ``origin``:
    what set the check off, for the acts' events (default: the run, and who started it)."""
    if origin is None:
        origin = {"run": run.id, **({"requested_by": run.created_by_id} if run.created_by_id else {})}
    claimed = claim_for_verification(chunk)
    decided_meanwhile.update(set(chunk) - set(claimed))
    acts = load_acts(claimed)
    # Each act by its instrument's rule set; no outcome depends on the order of acts (app.acts.verification).
    summaries, settled = verify_acts(acts, on_step=on_step)
    for act in acts:  # totals were written in SQL
        db.session.expire(act, ["total_lines", "accepted_lines", "total_students", "accepted_students",
                                "amount_tiyn", "withheld_tiyn", "verified_capacity", "capacity_pinned"])
    net = {act.id: summaries[act.id].amount_tiyn + sum(x["amount_tiyn"] for x in settled.get(act.id, []))
           for act in acts}  # the act's amount as written in SQL, without reloading every act
    events = []
    for act in acts:
        s = summaries[act.id]
        if act.status == "submitted":
            act.status = "verified"
        act.verified_at = clock.now()
        events.append({"chain": f"instance:{act.instance_id}" if act.instance_id else f"act:{act.id}",
                       "action": "act.verified", "object_type": "act", "object_id": act.id,
                       # The registries' check is the system's, as a per-act verification records it (an act's
                       # history read "Contingent verified · <the operator>"); who started the run is in it.
                       "actor_id": None,
                       "details": {"accepted": s.accepted, "excluded": s.excluded, "amount_tiyn": net[act.id],
                                   "lines_amount_tiyn": s.amount_tiyn, "by_rule": s.by_rule,
                                   "adjustments": settled.get(act.id, []), **origin}})
        events += exclusion_events(events[-1]["chain"], act.id, s.review_changes)
    record_events(events)  # one per act, as record_event would write them, in one INSERT
    _refresh_inbox_rows(acts, summaries, net)
    return [summaries[act.id] for act in acts]


def _verify_one_by_one(run_id: int | None, chunk: list[int], month_ids: list[int], decided_meanwhile: set[int],
                       failed: dict[str, str], *, origin: dict | None = None,
                       renew: Callable[[], None] | None = None) -> list:
    """A chunk that failed as a whole, again one act per transaction: an act that fails alone is rolled back
    (it keeps its last check), becomes a ``verification`` incident on its instance and is listed in
    ``failed``; the others are verified and committed.

    ``renew`` renews the job's lease before each act (committed; None: no lease to renew). Renewed per chunk only, a
    chunk with several acts held by transactions left open — each waiting the lock limit, JOB_LOCK_TIMEOUT_SECONDS —
    outlasted the lease (JOB_LEASE_SECONDS): the background pass gave the run to another worker while this one was
    still verifying it, both wrote the same acts, and this one stopped at its next heartbeat."""
    from app.engine.incidents import record_incident_safely

    results = []
    for act_id in chunk:
        if renew is not None:
            renew()  # LeaseLost, TimeLimitExceeded: the run's, not this act's — raised to the caller
            db.session.commit()
        try:
            run = db.session.get(VerificationRun, run_id) if run_id is not None else None
            results += _verify_chunk(run, [act_id], month_ids, decided_meanwhile, origin=origin)
            db.session.commit()
        except Exception as err:  # noqa: BLE001 - this act's failure is its own
            db.session.rollback()
            if database_unusable_now(err):
                raise  # the database's failure, not this act's
            log.warning("verification run %s: act %s could not be checked: %s", run_id, act_id, log_words(err))
            failed[str(act_id)] = error_first_line(err)[:200]
            instance_id = db.session.scalar(select(Act.instance_id).where(Act.id == act_id))
            if instance_id is not None:
                record_incident_safely(instance_id, jobs.explained(err), element_id=VERIFY_ELEMENT,
                                       kind="verification", halt=False)
    return results


def reverify_after_import(job, act_ids, chunk_acts: int = 100,
                          renew: Callable[[object], None] | None = jobs.heartbeat) -> dict:
    """A registry import changed records that open acts depend on (``act_ids``: submitted or verified, awaiting
    acceptance — :func:`app.registry.importers.touched_acts`): verify them again, as the month-wide pass does —
    a chunk per transaction, each act claimed (its version bumped: an official's accept of the page read before
    gets the "verified again" conflict and sees the new amount), one ``act.verified`` event per act naming the
    import. An act decided meanwhile is left alone; a chunk that fails is checked again act by act, and an act that
    fails alone becomes an incident. Runs inside the import job, whose lease each chunk renews (``renew``; None: the
    job holds no lease any more — an import given up after its workers died).

    Without it, an act verified before an import withdrew one of its students was accepted and paid at the
    amount of the registry before."""
    origin = {"registry_import": job.id, **({"requested_by": job.created_by_id} if job.created_by_id else {})}
    ids = sorted(set(act_ids))
    decided_meanwhile: set[int] = set()
    failed: dict[str, str] = {}
    verified = 0
    for i in range(0, len(ids), chunk_acts):
        chunk = ids[i : i + chunk_acts]
        try:
            verified += len(_verify_chunk(None, chunk, chunk, decided_meanwhile, origin=origin))
        except jobs.LeaseLost:
            raise
        except Exception as err:  # noqa: BLE001 - one poisoned act must not leave the others unchecked
            db.session.rollback()
            log.warning("registry import %s: re-verifying a chunk failed (%s); its acts one by one", job.id,
                        log_words(err))
            verified += len(_verify_one_by_one(None, chunk, chunk, decided_meanwhile, failed, origin=origin,
                                               renew=None if renew is None else lambda: renew(job)))
        if renew is not None:
            renew(job)
        db.session.commit()
    return {"acts": verified, "decided_meanwhile": len(decided_meanwhile), "failed": len(failed)}


def verify_again(act_ids: list[int], origin: dict) -> list:
    """Verify open acts again outside a run, as the month-wide pass does, because the terms they were verified under
    changed (``origin``, for their events: an act linked to a contract signed after it was verified): each claimed (an
    official's accept of the page read before conflicts), one ``act.verified`` event each, the inbox rows refreshed.
    An act decided meanwhile is left alone. In the caller's transaction."""
    return _verify_chunk(None, list(act_ids), list(act_ids), set(), origin=origin)


def reverify_act_of(instance, actor) -> None:
    """The retry of a ``verification`` incident: check the instance's act again, if it is still open to checks
    (an act accepted or returned since is final: nothing to retry). The caller commits."""
    act = db.session.scalars(select(Act).where(Act.instance_id == instance.id)).first()
    if act is None or act.status not in VERIFIABLE:
        from app.engine.incidents import IncidentRefused

        raise IncidentRefused(_("The act is no longer waiting for checks; resolve the incident instead."))
    run = VerificationRun(period=act.period, status="done", total_acts=1, processed_acts=1, total_lines=0,
                          excluded_lines=0, by_rule={}, created_by_id=getattr(actor, "id", None),
                          created_at=clock.now(), finished_at=clock.now())
    db.session.add(run)
    db.session.flush()
    [summary] = _verify_chunk(run, [act.id], [act.id], set()) or [None]
    if summary is not None:
        run.total_lines, run.excluded_lines, run.by_rule = summary.total, summary.excluded, dict(summary.by_rule)


reverifiers[:] = [reverify_act_of]


def _refresh_inbox_rows(acts: list[Act], summaries: dict, net: dict[int, int]) -> None:
    """Open tasks of these acts show the new outcome in the inbox (the columns the inbox copies from the act)."""
    from app.engine.models import HumanTask

    if not hasattr(HumanTask, "excluded_lines"):
        return
    db.session.flush()
    rows = [{"instance": act.instance_id, "excluded": summaries[act.id].excluded, "amount": net[act.id]}
            for act in acts if act.instance_id]
    if rows:  # one executemany for the chunk
        db.session.connection().execute(
            update(HumanTask.__table__).where(HumanTask.__table__.c.instance_id == bindparam("instance"),
                                              HumanTask.__table__.c.status == "open")
            .values(excluded_lines=bindparam("excluded"), amount_tiyn=bindparam("amount")), rows)


@dataclass
class DiscrepancyRow:
    region_id: int
    rule: str
    lines: int
    withheld_tiyn: int


def discrepancies(period: date, scope, instrument: str = SCHOOLS) -> list[DiscrepancyRow]:
    """Excluded lines of the month of one funding instrument by region and rule, with the money withheld — what
    each excluded line would have earned, valued by its instrument (a school line: its grade's norm; a dormitory
    line: its contract's rate per place for the days claimed), as the reconciliation values it."""
    value = instrument_named(instrument).withheld_expr(period)
    rows = db.session.execute(
        select(Act.region_id, ActLine.rule_code, func.count(ActLine.id), func.sum(value))
        .join(Act, Act.id == ActLine.act_id)
        .where(ActLine.period == period.replace(day=1), ActLine.outcome == "excluded", Act.instrument == instrument,
               scope)
        .group_by(Act.region_id, ActLine.rule_code)
    )
    return [DiscrepancyRow(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows]


def regions_by_id() -> dict[int, Region]:
    return {r.id: r for r in db.session.scalars(select(Region))}


def months_with_acts() -> list[date]:
    return list(db.session.scalars(select(Act.period).group_by(Act.period).order_by(Act.period.desc()).limit(24)))
