"""Engine signals → notifications, written in the engine's transaction (they commit or roll back with it).

New tasks are not announced here but by the background pass (:mod:`app.notifications.announce`)."""

from __future__ import annotations

from app.engine import signals


@signals.task_completed.connect
def on_task_completed(task, actor=None, on_behalf_of=None, **_kwargs) -> None:
    """The principal learns what their deputy did for them."""
    from app.notifications.operations import notify

    if on_behalf_of is not None and actor is not None:
        notify(on_behalf_of, "on_behalf", task, deputy=actor.full_name)
