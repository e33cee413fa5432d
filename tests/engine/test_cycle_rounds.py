"""A timer cycle's rounds already past when it is looked at fire once, as the latest of them (app.engine.timers.
_cycle_complete), counted in the engine alone — no database: a reminder whose start was written in the past, a cycle
of a few rounds, the rounds after it, and a cycle the library left to itself (no time between rounds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app import clock
from app.engine.runtime import SCRIPT_ENGINE, advance
from app.engine.specs import parse_files
from app.engine.timers import timer_dues
from tests.engine.test_clock_ran_ahead import _reminder_model

NOV_5 = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)  # 15:00 in Astana


class _Run:
    """*Sign* waiting, its non-interrupting boundary cycle opening *Chase* at each round; the background pass
    looked at every ``pass_every``."""

    def __init__(self, cycle: str, at: datetime):
        parsed = parse_files(_reminder_model(f'<bpmn:timeCycle>"{cycle}"</bpmn:timeCycle>'))
        self.clock = clock.FrozenClock(at)
        with self.clock:
            self.wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
            advance(self.wf)

    def passes(self, count: int, every: timedelta = timedelta(seconds=30)) -> None:
        with self.clock:
            for _ in range(count):
                self.wf.refresh_waiting_tasks()
                advance(self.wf)
                self.clock.advance(seconds=every.total_seconds())

    def chases(self) -> int:
        return len([t for t in self.wf.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == "chase"])

    def next_due(self) -> datetime | None:
        with self.clock:
            dues = timer_dues(self.wf)
        return min(dues) if dues else None


def test_the_rounds_of_an_endless_cycle_already_past_fire_once_and_the_next_is_tomorrow():
    run = _Run("R/2026-11-01T09:00:00+05:00/P1D", NOV_5)  # 1 to 5 November at 09:00 in Astana: five rounds past
    run.passes(3)
    assert run.chases() == 1
    assert run.next_due() == datetime(2026, 11, 6, 4, 0, tzinfo=UTC)
    run.passes(1, timedelta(days=1))  # to 6 November, 10:01 UTC: its round is past
    run.passes(1)
    assert run.chases() == 2
    assert run.next_due() == datetime(2026, 11, 7, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("rounds", "chased"), [(3, 1), (2, 1), (1, 1)])
def test_a_cycle_of_few_rounds_all_past_fires_once_and_ends(rounds, chased):
    """Three daily rounds from 1 November, looked at on the 5th: the last round (the 3rd) fires, once, and the cycle
    is over — the rounds skipped are lost, none fires later."""
    run = _Run(f"R{rounds}/2026-11-01T09:00:00+05:00/P1D", NOV_5)
    run.passes(3)
    assert run.chases() == chased
    assert run.next_due() is None
    run.passes(3, timedelta(days=1))
    assert run.chases() == chased


def test_a_cycle_with_rounds_left_fires_the_latest_past_and_keeps_the_rest():
    """Ten daily rounds from 1 November, looked at on the 5th after 09:00 in Astana: 1–5 November are past (one
    fires, as the 5th's), 6–10 November are still to come, one a day."""
    run = _Run("R10/2026-11-01T09:00:00+05:00/P1D", NOV_5)
    run.passes(2)
    assert run.chases() == 1
    assert run.next_due() == datetime(2026, 11, 6, 4, 0, tzinfo=UTC)
    for day in range(6, 11):
        run.passes(1, timedelta(days=1) - timedelta(seconds=30))
        run.passes(1)
        assert run.chases() == day - 4, day
    run.passes(1)  # the pass after the last round ends the cycle
    assert run.next_due() is None
    run.passes(2, timedelta(days=1))
    assert run.chases() == 6


def test_a_cycle_not_yet_started_waits_for_its_first_round():
    run = _Run("R/2026-11-10T09:00:00+05:00/P1D", NOV_5)
    run.passes(3)
    assert run.chases() == 0
    assert run.next_due() == datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def test_a_round_due_now_is_not_skipped():
    """Looked at less than a round after the first one: nothing is skipped, the first round fires."""
    run = _Run("R/2026-11-05T09:00:00+05:00/PT12H", NOV_5)  # due at 04:00 UTC, looked at 10:00
    run.passes(1)
    assert run.chases() == 1
    assert run.next_due() == datetime(2026, 11, 5, 16, 0, tzinfo=UTC)
