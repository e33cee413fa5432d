from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import clock


@pytest.fixture()
def frozen(world):
    """The clock stands at 1 June 2027 (after the demo world was seeded) and moves only when told."""
    at = clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC))
    clock.set_clock(at)
    yield at
    clock.reset_clock()
