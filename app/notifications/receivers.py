"""Engine signals → notifications, written in the engine's transaction (they commit or roll back with it).

New tasks are not announced here but by the background pass (:mod:`app.notifications.announce`)."""

from __future__ import annotations

from app.engine import signals

#: notices that only ask someone to do a task: once the task is done they ask nothing of anyone
TASK_CALLS = ("task_created", "due_soon", "overdue", "reassigned")


@signals.task_completed.connect
def on_task_completed(task, actor=None, on_behalf_of=None, **_kwargs) -> None:
    """The principal learns what their deputy did for them; the task's calls to act stop counting as unread."""
    from sqlalchemy import update

    from app import clock
    from app.extensions import db
    from app.notifications.models import Notification
    from app.notifications.operations import notify

    # Users probe: "New task: Accept act" stayed unread in the official's bell (and its count) after she — or a
    # colleague of her group — had accepted the act; the bell then counted work that no longer existed.
    if task.id is not None:
        db.session.execute(update(Notification).where(
            Notification.task_id == task.id, Notification.kind.in_(TASK_CALLS), Notification.read_at.is_(None))
            .values(read_at=clock.now()))
    if on_behalf_of is not None and actor is not None:
        notify(on_behalf_of, "on_behalf", task, deputy=actor.full_name)
