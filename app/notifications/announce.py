"""New tasks announced to the people who will do them: a bell notification and an e-mail each.

The human-task row is its own outbox: the engine commits it with the step (``announced_at`` empty), and
the background pass (:func:`app.background.tick`, every ``TICKER_INTERVAL_SECONDS``) announces everything
new, in batches of a few statements each. So completing a step costs its user no notification work, a burst of new
tasks (a month's acts opening, a bulk accept) costs a handful of statements per batch rather than several
per task, and a crash between the two loses nothing: the rows stay unannounced until the next pass.
A task that was already completed or cancelled when the pass comes is not announced.

One failure stays one failure: a batch that raises is rolled back and its tasks are announced one by one; a
task that fails alone is taken out of the queue with an incident on its instance (kind ``announcement``, the
process itself goes on), which an operator's retry puts back in the queue. The database away (down, a connection
broken by a restart, a row held past the lock limit) is no task's failure: the pass stops announcing, says so in one
line, and the next pass announces the tasks.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import insert, select, update

from app import clock
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.notifications.models import Notification, OutboxEmail
from app.notifications.operations import email_fields, recipient_key, recipients_for, task_params

BATCH = 500
log = logging.getLogger(__name__)


def announce_backlog(max_batches: int = 40) -> int:
    """Announce every unannounced task, a batch per transaction (committed), at most ``max_batches``
    batches per pass so that a huge backlog cannot hold one pass forever; returns how many were announced."""
    total = 0
    for _ in range(max_batches):
        try:
            claimed, announced = _announce_batch(BATCH)
            db.session.commit()
        except Exception as err:
            db.session.rollback()
            if _database_away(err):
                raise  # nothing to isolate: every task would fail alike; the tasks wait for the next pass
            log.exception("announcing a batch of new tasks failed; announcing them one by one")
            claimed, announced = _announce_one_by_one(BATCH)
        total += announced
        if claimed < BATCH:
            break
    return total


def announce_new_tasks(limit: int = BATCH) -> int:
    """Announce up to ``limit`` unannounced tasks, oldest first; returns how many open tasks were announced.
    Meant to run in a transaction of its own, which the caller commits (the rows are claimed in the same
    transaction as the notifications they get); a pass that lost the race for its rows rolls it back."""
    return _announce_batch(limit)[1]


def _announce_one_by_one(limit: int) -> tuple[int, int]:
    """The fallback after a failed batch: each of the next ``limit`` tasks in a transaction of its own."""
    from app.engine.incidents import record_incident_safely

    ids = db.session.scalars(select(HumanTask.id).where(HumanTask.announced_at.is_(None))
                             .order_by(HumanTask.id).limit(limit)).all()
    announced = 0
    for task_id in ids:
        try:
            announced += _announce_batch(1, task_id=task_id)[1]
            db.session.commit()
        except Exception as err:
            db.session.rollback()
            if _database_away(err):
                # the database's moment, not the task's fault: it stays unannounced for the next pass. It had been
                # taken out of the queue with an "announcement" incident — its people never told unless an operator
                # retried it — for a connection that broke (a restart) or a row held past the lock limit
                raise
            task = db.session.get(HumanTask, task_id)
            # out of the queue, or it would fail again on every pass; the incident's retry puts it back
            task.announced_at = clock.now()
            instance_id, spec_name = task.instance_id, task.spec_name
            db.session.commit()
            record_incident_safely(instance_id, err, element_id=spec_name, kind="announcement", halt=False)
    return len(ids), announced


def _database_away(err: BaseException) -> bool:
    """The database could not be used (down, its connection broken, a row held past the lock limit, SQLite locked)."""
    from app.background import database_unavailable

    return database_unavailable(err) is not None


def _announce_batch(limit: int, task_id: int | None = None) -> tuple[int, int]:
    """(rows claimed, open tasks announced); ``task_id``: that task only."""
    now = clock.now()
    query = select(HumanTask).where(HumanTask.announced_at.is_(None))
    if task_id is not None:
        query = query.where(HumanTask.id == task_id)
    batch = db.session.scalars(
        query.order_by(HumanTask.id).limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: two workers never take the same rows
    ).all()
    if not batch:
        return 0, 0
    claimed = db.session.execute(
        update(HumanTask).where(HumanTask.id.in_([t.id for t in batch]), HumanTask.announced_at.is_(None))
        .values(announced_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(batch):
        # SQLite has no SKIP LOCKED: another pass committed some of these first; it has announced them.
        db.session.rollback()
        return 0, 0
    tasks = [t for t in batch if t.status == "open"]
    returned = _returned_acts(tasks)
    by_key: dict[tuple, list[HumanTask]] = defaultdict(list)
    for task in tasks:
        by_key[recipient_key(task)].append(task)
    notes, mails = [], {}
    for group in by_key.values():
        first = group[0]
        people = recipients_for(first.role, first.region_id, first.organisation_id, first.assignee_id)
        for task in group:
            kind, extra = ("act_returned", {"comment": returned[task.instance_id]}) \
                if task.instance_id in returned else ("task_created", {})
            params = task_params(task, **extra)
            for user in people:
                notes.append({"user_id": user.id, "kind": kind, "params": params, "task_id": task.id,
                              "created_at": now})
                if user.email:
                    mails[(user.id, task.id)] = email_fields(user, kind, params)
    if notes:
        # One note per (user, task) in a batch, so the returned pairs tell which id is whose; asking for
        # the ids in parameter order instead would make SQLite insert row by row.
        inserted = db.session.execute(
            insert(Notification).returning(Notification.id, Notification.user_id, Notification.task_id), notes)
        rows = [{**mails[(user_id, task_id)], "notification_id": note_id}
                for note_id, user_id, task_id in inserted if (user_id, task_id) in mails]
        if rows:
            db.session.execute(insert(OutboxEmail), rows)
    return len(batch), len(tasks)


def _returned_acts(tasks: list[HumanTask]) -> dict[int, str]:
    """instance id → the department's comment, for *Submit act* tasks whose act was returned for correction."""
    from app.acts.models import Act

    instance_ids = {t.instance_id for t in tasks if t.spec_name == "submit_act"}
    if not instance_ids:
        return {}
    rows = db.session.execute(
        select(ProcessInstance.id, Act.return_comment)
        .join(Act, (ProcessInstance.subject_type == "act") & (ProcessInstance.subject_id == Act.id))
        .where(ProcessInstance.id.in_(instance_ids), Act.status == "returned")
    ).all()
    return {instance_id: comment or "" for instance_id, comment in rows}
