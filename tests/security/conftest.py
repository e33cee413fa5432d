from __future__ import annotations

import pytest

from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import two_step


@pytest.fixture()
def trial_v1(world):
    """A published two-step test model (fill in → review), version 1."""
    version, _ = publish_version(two_step())
    db.session.commit()
    return version
