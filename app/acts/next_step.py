"""What a submitted act waits for next, said on its page: a school's accountant who had submitted the act read its
verification and amount, and nothing told her who decides next, by when, or that the money follows acceptance."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import Act
from app.engine.models import HumanTask
from app.extensions import db


def waiting_step(act: Act) -> HumanTask | None:
    """The open step a decided-on-next act waits for — *Accept act* of a verified act (with the due date its process
    model sets), *Pay act* of an accepted one — or None for an act in another state or without an open step."""
    if act.status not in ("verified", "accepted") or act.instance_id is None:
        return None
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                     HumanTask.status == "open").order_by(HumanTask.id).limit(1))
