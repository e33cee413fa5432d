"""Fixtures for the audit trail: a paid act, an anchor folder and a key file of the test's own."""

from __future__ import annotations

import shutil

import pytest

from app import clock
from app.acts.models import Act
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, user

LYCEUM = "Alatau Lyceum"  # its act is verified in the seed, waiting for the department's decision


@pytest.fixture()
def paid_act(world) -> Act:
    """Alatau Lyceum's act accepted by the department and paid by the operator, through the workflow."""
    act = act_of_school(LYCEUM)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-2026-0007", "paid_on": clock.today().isoformat()})
    db.session.commit()
    return db.session.get(Act, act.id)


@pytest.fixture()
def anchor_dir(app, tmp_path, monkeypatch):
    path = tmp_path / "anchors"
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_DIR", str(path))
    return path


@pytest.fixture()
def key_file(app, world, tmp_path, monkeypatch):
    """A copy of the session's key file, so a test may rotate or lose keys without touching other tests."""
    path = tmp_path / "audit_keys"
    shutil.copy(app.config["AUDIT_KEY_FILE"], path)
    monkeypatch.setitem(app.config, "AUDIT_KEY_FILE", str(path))
    return path
