"""One rebuild of the public caches at a time.

Two triggers — two tickers, a Celery beat next to an in-process ticker, ``flask refresh-public`` during a pass — had
run two rebuilds at once: both read the same events and built the same rows; on PostgreSQL the second waited on the
first's lock for the whole rebuild (its background pass stuck behind it), and the very first rebuild had no row to
lock, so one of the two failed on a unique key. Now a trigger first *claims* the rebuild (a guarded UPDATE of the one
:class:`PublicRebuild` row, committed). A trigger that finds a rebuild running does not start one: it marks the row
(``again``: ``changes``, or ``full`` when it asked for everything), logs that it was deferred, and returns. The
runner, done, rebuilds once more when marked — so a change committed after it had read the audit events is not left
for the next pass, nor a full rebuild asked for meanwhile lost.

A runner whose process died holds the row until ``JOB_TIME_LIMIT_SECONDS`` (app.jobs) have passed since it claimed
it; the next trigger then takes it over. Sooner when the trigger can tell: a runner of this host whose process (or,
in this process, whose thread) no longer exists — a Celery worker or gunicorn worker killed mid-rebuild, restarted on
the same machine — is taken over at once; the public figures had stayed as they were for two hours, every pass
"deferred" to a dead runner. A claim dated further ahead than any lease (a clock that ran ahead, corrected since) is
taken over at once too.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import clock, jobs
from app.extensions import db
from app.public.cache import RefreshOutcome
from app.public.models import PublicRebuild
from app.user_input import is_ascii_digits

log = logging.getLogger(__name__)
ROW_ID = 1


def rebuild_public(full: bool = False) -> RefreshOutcome:
    """Rebuild the public caches (:func:`app.public.cache.refresh_public`, committed) unless a rebuild is running;
    then ask it for one more and return an outcome with ``deferred`` set. The outcome adds up the rounds run."""
    from app.public import cache

    me = jobs.worker_id()
    claimed, asked = _claim_or_ask_again(me, full)
    if not claimed:
        return asked
    total = RefreshOutcome(skipped=True)
    for rounds in (1, 2):  # this trigger's rebuild, and once more if another trigger came meanwhile
        try:
            outcome = cache.refresh_public(full=full)
            db.session.commit()
        except Exception:
            db.session.rollback()
            _finish(me, rounds_left=False)
            raise
        _add(total, outcome, rounds)
        again = _finish(me, rounds_left=rounds < 2)
        if again is None:
            break
        full = again == "full"
        log.info("public caches: rebuilding once more (%s), asked for while the rebuild ran", again)
    return total


def _claim_or_ask_again(me: str, full: bool) -> tuple[bool, RefreshOutcome]:
    for _attempt in range(3):  # a runner that finished between the claim and the mark: claim again
        _ensure_row()
        now = clock.now()
        alive_since = now - timedelta(seconds=jobs.time_limit_seconds())
        row = PublicRebuild.__table__.c
        free = or_(row.running_by.is_(None), row.running_since < alive_since,
                   row.running_since > jobs.latest_believable_lease(now))
        holder = db.session.scalar(select(row.running_by).where(row.id == ROW_ID))
        if holder is not None and holder != me and _gone(holder):
            log.warning("public caches: the rebuild by %s was left by a process that no longer runs; taken over",
                        holder)
            free = or_(free, row.running_by == holder)
        claimed = db.session.execute(
            update(PublicRebuild).where(row.id == ROW_ID, free)
            .values(running_by=me, running_since=now).execution_options(synchronize_session=False)).rowcount
        if claimed == 1:
            # the row is this transaction's now (PostgreSQL's row lock, SQLite's write lock): what a trigger asked
            # for before this claim is part of this rebuild
            asked = db.session.scalar(select(row.again).where(row.id == ROW_ID))
            db.session.execute(update(PublicRebuild).where(row.id == ROW_ID).values(again=None)
                               .execution_options(synchronize_session=False))
            db.session.commit()
            if asked == "full":
                full = True
            return True, RefreshOutcome()
        marked = db.session.execute(
            update(PublicRebuild).where(row.id == ROW_ID, row.running_by.is_not(None),
                                        row.running_since >= alive_since)
            .values(again=case((row.again == "full", "full"), else_="full" if full else "changes"))
            .execution_options(synchronize_session=False)).rowcount
        if marked == 1:
            runner, since = db.session.execute(select(row.running_by, row.running_since).where(row.id == ROW_ID)).one()
            db.session.commit()
            log.info("public caches: a rebuild is running (%s, since %s); deferred — it rebuilds once more when done "
                     "(%s)", runner, since, "full" if full else "changes")
            return False, RefreshOutcome(skipped=True, deferred=True, running_by=runner, running_since=since)
        db.session.rollback()
    raise RuntimeError("public caches: the rebuild could be neither claimed nor asked again")


def _gone(holder: str) -> bool:
    """Whether the runner named ``host:pid:thread`` (app.jobs.worker_id) is known to be dead: its host is this one
    and no process has its pid, or it is this process and none of its threads has that id. Anything else — another
    host, a pid that exists (perhaps reused), a name not in that form — may be alive."""
    import os
    import socket
    import threading

    parts = holder.rsplit(":", 2)
    if len(holder) >= 100 or len(parts) != 3 or not (is_ascii_digits(parts[1]) and is_ascii_digits(parts[2])):
        return False  # not a whole worker_id (a cut one could name the wrong thread)
    host, pid, thread = parts[0], int(parts[1]), int(parts[2])
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return thread not in {t.ident for t in threading.enumerate()}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by someone else
        return False
    return False


def _ensure_row() -> None:
    if db.session.scalar(select(PublicRebuild.id).where(PublicRebuild.id == ROW_ID)) is not None:
        return
    try:
        with db.session.begin_nested():  # two first triggers at once: the primary key decides
            db.session.add(PublicRebuild(id=ROW_ID))
    except IntegrityError:
        pass


def _finish(me: str, rounds_left: bool) -> str | None:
    """The rebuild ended: when a trigger asked for one more and a round is left, keep the row and return what it asked
    for (``changes`` or ``full``); else let the row go (a mark left on it is taken by the next claim). Committed."""
    row = PublicRebuild.__table__.c
    mine = update(PublicRebuild).where(row.id == ROW_ID, row.running_by == me).execution_options(
        synchronize_session=False)
    if db.session.execute(mine.values(running_by=me)).rowcount != 1:  # locks the row while it is read
        db.session.rollback()
        log.warning("public caches: the rebuild by %s was taken over (presumed dead after JOB_TIME_LIMIT_SECONDS)", me)
        return None
    again = db.session.scalar(select(row.again).where(row.id == ROW_ID)) if rounds_left else None
    if again is not None:
        db.session.execute(mine.values(again=None, running_since=clock.now()))
    else:
        db.session.execute(mine.values(running_by=None, running_since=None))
    db.session.commit()
    return again


def _add(total: RefreshOutcome, outcome: RefreshOutcome, rounds: int) -> None:
    total.skipped = total.skipped and outcome.skipped
    total.full = total.full or outcome.full
    total.figure_rows += outcome.figure_rows
    total.orders += outcome.orders
    total.downloads += outcome.downloads
    total.watermark = outcome.watermark
    total.rounds = rounds
