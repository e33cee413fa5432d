"""Operations tests: poisoned instances next to healthy ones, jobs whose worker dies."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import pytest

from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import chain_model, user_task

START = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)

#: one model, four behaviours chosen by the start data: what a careless or hostile process owner can write
SCRIPT = """if kind == "raise":
    ratio = 1 / 0
elif kind == "huge":
    big = 10 ** 5000
elif kind == "loop":
    n = 0
    while True:
        n = n + 1
else:
    ok = True
"""

SERVICE = {"fail": True, "calls": 0}


@operator("tests/registry_lookup", {}, "A registry call that fails while told to (tests only).",
          retry_attempts=3, retry_delays=(60, 600))
def _registry_lookup(ctx):
    SERVICE["calls"] += 1
    if SERVICE["fail"]:
        raise ConnectionError("registry unavailable")
    return {"found": True}


def timer(element_id: str = "wait", duration: str = "PT1H") -> str:
    return (f'<bpmn:intermediateCatchEvent id="{element_id}" name="Wait"><bpmn:timerEventDefinition>'
            f'<bpmn:timeDuration>"{duration}"</bpmn:timeDuration></bpmn:timerEventDefinition>'
            f'</bpmn:intermediateCatchEvent>')


def script_task(element_id: str, source: str) -> str:
    return (f'<bpmn:scriptTask id="{element_id}" name="Compute"><bpmn:script>{escape(source)}</bpmn:script>'
            f'</bpmn:scriptTask>')


def service_task(element_id: str, op_id: str) -> str:
    return (f'<bpmn:serviceTask id="{element_id}" name="Look up"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{op_id}" resultVariable="r"><spiffworkflow:parameters />'
            f'</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>')


@pytest.fixture()
def poison_model(world):
    """timer → script (behaviour by ``kind``) → *Check* (operator's user task)."""
    publish_version(chain_model("poison", [("wait", "Operator", timer()),
                                           ("compute", "Operator", script_task("compute", SCRIPT)),
                                           ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    return "poison"


@pytest.fixture()
def service_model(world):
    """timer → service task with a retry policy (3 attempts, 60 s then 600 s) → *Check*."""
    SERVICE.update(fail=True, calls=0)
    publish_version(chain_model("registry_check", [("wait", "Operator", timer()),
                                           ("lookup", "Operator", service_task("lookup", "tests/registry_lookup")),
                                           ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    return "registry_check"


@pytest.fixture()
def small_script_budget(monkeypatch):
    """A step budget small enough that the endless loop hits it at once (the default is 5 million steps)."""
    from app.engine.runtime import SCRIPT_ENGINE

    monkeypatch.setattr(SCRIPT_ENGINE.environment, "max_steps", 20_000)


@pytest.fixture()
def uploads(tmp_path, monkeypatch):
    """Stored uploads go to the test's folder, never into the repository's instance/."""
    folder = tmp_path / "imports"
    folder.mkdir()
    monkeypatch.setattr("app.registry.operations.upload_dir", lambda: folder)
    return folder
