"""A process owner's model whose step names or ids do not fit where a running step is written (``human_task``'s
``spec_name`` 100, ``title`` 255, ``lane`` 100 characters) is refused when it is validated, with the element and
the limit. It was published, and on PostgreSQL every instance then failed as it reached the step ("value too long
for type character varying(255)") — a citizen met the model's mistake, not its owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine.errors import ModelInvalid
from app.engine.models import HumanTask
from app.engine.publishing import publish_version
from app.engine.runtime import start_instance
from app.engine.specs import validate_files
from app.extensions import db
from tests.helpers import school, user
from tests.modeler.factory import chain_model, user_task


def _model(task_id: str = "fill", name: str = "Fill in", lane: str = "School accountant") -> dict[str, str]:
    return chain_model("lengths", [(task_id, lane, user_task(task_id, name)),
                                   ("review", "Department official", user_task("review", "Review"))])


def _problems_on(files: dict[str, str], element_id: str, **options) -> list[str]:
    _parsed, problems = validate_files(files, **options)
    return [p.message for p in problems if p.element_id == element_id]


def test_a_task_name_longer_than_a_step_keeps_is_refused_with_the_limit(app_ctx):
    messages = _problems_on(_model(name="N" * 256), "fill")
    assert any("255" in m for m in messages), messages


def test_an_element_id_longer_than_a_step_keeps_is_refused_with_the_limit(app_ctx):
    long_id = "f" * 101
    messages = _problems_on(_model(task_id=long_id), long_id)
    assert any("100" in m for m in messages), messages


def test_a_lane_name_longer_than_a_step_keeps_is_refused(app_ctx):
    # A lane that names no role is allowed when the model says who performs such steps; its name is still stored.
    _parsed, problems = validate_files(_model(lane="L" * 101), lane_role="starter")
    assert any("100" in p.message and "lane" in p.message.lower() for p in problems), [p.message for p in problems]


@pytest.mark.parametrize("variant", [{"name": "N" * 300}, {"task_id": "f" * 120}])
def test_such_a_model_is_not_published(world, variant):
    with pytest.raises(ModelInvalid):
        publish_version(_model(**variant))
    db.session.rollback()


def test_names_and_ids_at_the_limit_are_published_and_run(world):
    publish_version(_model(task_id="f" * 100, name="N" * 255))
    db.session.commit()
    bilim = school("Bilim Innovation School")
    instance = start_instance("lengths", title="At the limit", actor=user("accountant"), region_id=bilim.region_id,
                              organisation_id=bilim.id)
    db.session.commit()
    opened = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).all()
    assert [(t.spec_name, t.title) for t in opened] == [("f" * 100, "N" * 255)]


def test_a_process_id_longer_than_a_version_keeps_is_refused(app_ctx):
    long_id = "p" * 201
    files = {("lengths.bpmn" if name.endswith(".bpmn") else name): (text.replace('id="lengths"', f'id="{long_id}"')
                                                                    if name.endswith(".bpmn") else text)
             for name, text in _model().items()}
    assert any("200" in m for m in _problems_on(files, long_id)), files
