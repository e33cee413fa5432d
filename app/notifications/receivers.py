"""Engine signals → notifications, written in the engine's transaction (they commit or roll back with it)."""

from __future__ import annotations

from app.engine import signals
from app.extensions import db


@signals.task_created.connect
def on_task_created(task, **_kwargs) -> None:
    from app.notifications.operations import notify, recipients

    kind, extra = "task_created", {}
    instance = task.instance
    if task.spec_name == "submit_act" and instance.subject_type == "act":
        from app.acts.models import Act

        act = db.session.get(Act, instance.subject_id)
        if act is not None and act.status == "returned":
            kind, extra = "act_returned", {"comment": act.return_comment or ""}
    for user in recipients(task):
        notify(user, kind, task, **extra)


@signals.task_completed.connect
def on_task_completed(task, actor=None, on_behalf_of=None, **_kwargs) -> None:
    """The principal learns what their deputy did for them."""
    from app.notifications.operations import notify

    if on_behalf_of is not None and actor is not None:
        notify(on_behalf_of, "on_behalf", task, deputy=actor.full_name)
