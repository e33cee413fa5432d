from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import clock
from app.engine import runtime
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task

T0 = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
TIMER = ('<bpmn:intermediateCatchEvent id="wait" name="Wait a day"><bpmn:timerEventDefinition>'
         '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def timer_model() -> dict[str, str]:
    """fill (school accountant) → wait a day → review (department official)."""
    return chain_model("waits", [("fill", "School accountant", user_task("fill", "Fill in")),
                                 ("wait", "School accountant", TIMER),
                                 ("review", "Department official", user_task("review", "Review"))])


@pytest.fixture()
def waits(world):
    """A published model with a user task, a timer and another user task; one instance at the first task,
    with a child's IIN and name in its data."""
    publish_version(timer_model())
    with clock.FrozenClock(T0):
        instance = runtime.start_instance(
            "waits", title="W-0001 · Bilim Innovation School", actor=user("official"),
            region_id=user("accountant").organisation.region_id, organisation_id=user("accountant").organisation_id,
            data={"student_iin": "791028302728", "student_name": "Aliya Serikova", "amount_tiyn": 125000})
    db.session.commit()
    return instance


def at_timer(instance):
    """Complete the first task so the instance waits at its timer."""
    from sqlalchemy import select

    from app.engine.models import HumanTask

    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open")).one()
    with clock.FrozenClock(T0):
        runtime.complete_task(task.id, user("accountant"), data={"comment": "ok"})
    db.session.commit()
    return instance


def confirmed(reason: str = "checked with the school", **extra) -> dict:
    return {"confirm": "yes", "reason": reason, **extra}


@pytest.fixture()
def trial_v1(world):
    """The modeler's published two-step test model (fill in → review), version 1."""
    from tests.modeler.factory import two_step

    version, _ = publish_version(two_step())
    db.session.commit()
    return version
