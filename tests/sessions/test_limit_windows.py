"""A limit of N per window holds over every span of the window's length, not only within windows that start at
a first hit: a fixed window let N more in the moment it ended."""

import types

from app.limits import limiter, take_posting_allowance


class _Clock:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_limit_holds_across_the_end_of_a_window(throttled, monkeypatch):
    clock = _Clock(1_800_000_000.0)
    monkeypatch.setattr("limits.storage.memory.time", types.SimpleNamespace(time=clock.time))
    monkeypatch.setitem(throttled.config, "COMMENT_LIMIT", "2/minute")
    limiter.reset()

    assert take_posting_allowance("COMMENT_LIMIT", 7) is None
    clock.now += 59.5
    assert take_posting_allowance("COMMENT_LIMIT", 7) is None
    clock.now += 1.0  # the first post is now more than a minute old: one more may come...
    assert take_posting_allowance("COMMENT_LIMIT", 7) is None
    # ... but not a third within the same minute as the second
    assert take_posting_allowance("COMMENT_LIMIT", 7) is not None
    clock.now += 59.0  # a minute after the second post, there is room again
    assert take_posting_allowance("COMMENT_LIMIT", 7) is None

