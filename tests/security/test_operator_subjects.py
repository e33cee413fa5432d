"""A service operator acts only on the record its process instance is about — the record's kind as well as its id.

A process owner may name any registered operator in any model. Five operators compared only the ids, so a step
added to, say, the state order's model (subject: order 2) with ``applications/expire`` and ``application_id`` 2
would have expired application 2 — a record of another kind that merely shared the id; likewise checked,
verified, escalated or given a contract."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.applications.models import Application
from app.engine.operators import call_operator
from app.extensions import db


def _ctx(subject_type: str, subject_id: int):
    instance = SimpleNamespace(id=None, subject_type=subject_type, subject_id=subject_id)
    return SimpleNamespace(instance=instance, actor=None)


@pytest.mark.parametrize(("operator", "param", "model", "other_kinds"), [
    ("applications/check_eligibility", "application_id", Application, ("act", "contract", "state_order")),
    ("applications/expire", "application_id", Application, ("act", "contract", "state_order")),
    ("contracts/generate", "application_id", Application, ("act", "contract", "state_order")),
    ("acts/verify", "act_id", Act, ("application", "contract", "state_order")),
    ("acts/escalate", "act_id", Act, ("application", "contract", "state_order")),
])
def test_an_operator_refuses_a_record_of_another_kind_with_the_subjects_id(world, operator, param, model,
                                                                          other_kinds):
    record = db.session.scalars(select(model).order_by(model.id)).first()
    for kind in other_kinds:
        with pytest.raises(LookupError, match="does not belong to this process instance"):
            call_operator(operator, _ctx(kind, record.id), {param: record.id})
