"""One rebuild of the public caches at a time: a trigger that comes while a rebuild runs (a second ticker, `flask
refresh-public`) does not start another one; it asks the running one to rebuild once more, which it does — so a change
committed after the rebuild had read the audit events, or a full rebuild asked for meanwhile, is not lost. The second
trigger runs in a thread of its own (its own session and connection, as another process), joined at once."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock, jobs
from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.background import tick
from app.extensions import db
from app.people.models import Organisation
from app.public import cache, figures
from app.public.models import PublicRebuild, PublicRefresh
from app.public.rebuild import rebuild_public
from tests.conftest import Browser
from tests.helpers import add_paid_history


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    db.session.commit()
    return world


@pytest.fixture()
def passes(monkeypatch) -> dict:
    """Every pass over the caches, with what it was asked (``full``), and the most that ran at once."""
    real, seen = cache.refresh_public, {"full": [], "running": 0, "most": 0}

    def counted(full: bool = False):
        seen["full"].append(full)
        seen["running"] += 1
        seen["most"] = max(seen["most"], seen["running"])
        try:
            return real(full=full)
        finally:
            seen["running"] -= 1

    monkeypatch.setattr(cache, "refresh_public", counted)
    return seen


def _meanwhile(monkeypatch, module, name: str, other_trigger) -> None:
    """Run ``other_trigger`` in another thread the first time the rebuild reaches ``module.name`` (after it has read
    the audit events, before it writes), and wait for it."""
    real, started = getattr(module, name), []

    def hooked(*args, **kwargs):
        if not started:
            started.append(True)
            thread = threading.Thread(target=other_trigger)
            thread.start()
            thread.join(timeout=60)
            assert not thread.is_alive()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, hooked)


def test_refresh_public_during_the_background_pass_is_deferred_and_the_pass_rebuilds_everything_once_more(
        world, app, monkeypatch, passes, caplog):
    said = []
    _meanwhile(monkeypatch, figures, "refresh_public_figures",
               lambda: said.append(app.test_cli_runner().invoke(args=["refresh-public"]).output))
    with caplog.at_level(logging.INFO, logger="app.public.rebuild"):
        tick(app)  # the first pass ever: it builds everything

    assert passes["most"] == 1, "never two rebuilds at once"
    assert said and said[0].startswith("A rebuild is already running (by "), said
    assert "it rebuilds everything once more when it ends" in said[0]
    assert passes["full"] == [False, True], "the pass's own rebuild, then the full one asked for meanwhile"
    assert "deferred" in caplog.text and "rebuilding once more (full)" in caplog.text
    row = db.session.get(PublicRebuild, 1)
    assert (row.running_by, row.running_since, row.again) == (None, None, None)


def test_a_change_committed_after_the_rebuild_read_the_events_is_rebuilt_once_more(world, app, monkeypatch, passes):
    assert not rebuild_public().deferred  # the caches are built; later passes rebuild what changed
    record_event("probe", "probe", "probe", 1, actor_id=None)  # a new event, so the next pass reads the events
    db.session.commit()
    school = db.session.scalars(select(Organisation).where(Organisation.name == "Bilim Innovation School")).one()
    renamed = {}

    def rename_then_trigger() -> None:
        with app.app_context():
            db.session.get(Organisation, school.id).name = "Bilim Renamed School"
            record_event("org", "organisation.updated", "organisation", school.id, actor_id=None)
            db.session.commit()
            renamed["event"] = db.session.scalar(select(func.max(AuditEvent.id)))
            renamed["outcome"] = rebuild_public()

    _meanwhile(monkeypatch, cache, "_touched", rename_then_trigger)
    outcome = rebuild_public()

    assert renamed["outcome"].deferred and passes["most"] == 1
    assert outcome.rounds == 2 and not outcome.deferred
    assert db.session.get(PublicRefresh, 1).watermark == renamed["event"], "the rename's event is taken into account"
    assert "Bilim Renamed School" in Browser(app).get("/public/data/schools.csv").get_data(as_text=True)


def test_a_rebuild_whose_process_died_is_taken_over_after_the_time_limit(world, app, passes):
    with clock.FrozenClock(clock.now()) as frozen:
        db.session.add(PublicRebuild(id=1, running_by="killed-host:1:1", running_since=clock.now()))
        db.session.commit()
        assert rebuild_public().deferred and passes["full"] == []
        frozen.advance(seconds=jobs.time_limit_seconds() + 1)
        outcome = rebuild_public(full=True)
    assert not outcome.deferred and outcome.full and passes["full"] == [True], "the full rebuild asked for meanwhile"
    assert db.session.get(PublicRebuild, 1).running_by is None


def test_a_rebuild_that_fails_lets_the_next_trigger_run(world, app, monkeypatch):
    def broken(full: bool = False):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cache, "refresh_public", broken)
    with pytest.raises(RuntimeError):
        rebuild_public()
    assert db.session.get(PublicRebuild, 1).running_by is None
    monkeypatch.undo()
    with clock.FrozenClock(clock.now() + timedelta(seconds=1)):
        assert not rebuild_public().deferred
