from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app import clock


@pytest.fixture()
def dorm_year(world):
    """The demo world, and the three demo dormitories contracted for the academic year 2027/2028 (their rate
    from the rates decision table); the clock stands at 20 August 2027 and moves only when told."""
    from app.dormitories.demo import seed_dormitories
    from app.extensions import db

    at = clock.FrozenClock(datetime(2027, 8, 20, 5, 0, tzinfo=UTC))
    clock.set_clock(at)
    seeded = seed_dormitories("pw", date(2027, 9, 1))
    db.session.commit()
    yield seeded
    clock.reset_clock()


@pytest.fixture()
def dorm_world(app_ctx, _world_copies):
    """The demo world with the dormitories' demo (`make run`): last month's dormitory acts opened, two verified."""
    from app.demo.seed import seed_demo
    from tests.conftest import _demo_now, seeded

    def seed():
        with clock.FrozenClock(_demo_now()):
            return seed_demo(password="pw", dormitories=True)

    return seeded(_world_copies, "dorm_demo", seed)
