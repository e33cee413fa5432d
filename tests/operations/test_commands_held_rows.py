"""The operator's commands meeting a row another transaction holds (the contract's timer opening the same act with its
transaction still open, an official's request stuck mid-decision, a psql session). On PostgreSQL ``flask open-acts`` —
and every command but verify-month and the imports — waited for as long as that transaction stayed open, saying
nothing. Now every command waits at most ``JOB_LOCK_TIMEOUT_SECONDS``, as the background jobs do: ``open-acts`` names
the school whose act could not open (nothing of that act written), opens the others and exits 1; run again once the
transaction has ended, it opens that act. On SQLite the file's write lock held past the busy timeout is said the same
way.

The holder is a real second connection; the command runs in a thread of its own, joined, never slept on."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select, text

from app import clock
from app.acts.models import Act
from app.engine.models import ProcessInstance
from app.extensions import db
from tests.helpers import school
from tests.operations import test_lock_held_elsewhere as held_elsewhere
from tests.operations.test_lock_held_elsewhere import _while_held

#: a real second connection holding a row (PostgreSQL), the SQLite file's write lock held: that module's fixtures
holder, file_held = held_elsewhere.holder, held_elsewhere.file_held

SEPTEMBER = date(2027, 9, 1)
#: 11:00 in Astana on 1 October 2027: September has ended, its acts may open
AFTER_SEPTEMBER = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)


def _opened() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(Act.school_id).where(Act.period == SEPTEMBER)))


def _open_acts(app):
    return app.test_cli_runner().invoke(args=["open-acts", "--period", "2027-09"])


def test_open_acts_does_not_wait_for_a_held_row_and_opens_the_other_schools(world, app_ctx, holder, monkeypatch):
    bilim = school("Bilim Innovation School").id
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)
    with clock.FrozenClock(AFTER_SEPTEMBER):
        opened = holder.begin()  # e.g. the school's record being changed in a transaction left open
        holder.execute(text("SELECT id FROM organisation WHERE id = :id FOR UPDATE"), {"id": bilim})
        instances = db.session.scalar(select(func.count(ProcessInstance.id)))

        jammed, ran = _while_held(app_ctx, opened, lambda: _open_acts(app_ctx))

        assert not jammed, "the command waited for the open transaction"
        assert ran.exit_code == 1, ran.output
        assert ("✗ Bilim Innovation School: a record its act needs was held by another transaction past the wait "
                "allowed (canceling statement due to lock timeout); nothing of its act was written") in ran.output
        assert "1 school(s) failed; run the command again for them." in ran.output
        got = _opened()
        assert bilim not in got and {school("Nur Private School").id, school("Alatau Lyceum").id} <= got
        assert db.session.scalar(select(func.count(ProcessInstance.id))) == instances + len(got), \
            "no instance started for the act that did not open"

        again = _open_acts(app_ctx)
    assert again.exit_code == 0, again.output
    assert bilim in _opened(), "run again once the transaction has ended, it opens the act"


def test_open_acts_meeting_the_database_file_held_says_so_and_writes_nothing_on_sqlite(world, app_ctx, file_held):
    with clock.FrozenClock(AFTER_SEPTEMBER):
        file_held.execute("BEGIN IMMEDIATE")
        try:
            ran = _open_acts(app_ctx)
        finally:
            file_held.execute("ROLLBACK")
        assert ran.exit_code == 1, ran.output
        assert ("✗ Bilim Innovation School: a record its act needs was held by another transaction past the wait "
                "allowed (database is locked); nothing of its act was written") in ran.output
        assert _opened() == set()

        again = _open_acts(app_ctx)
    assert again.exit_code == 0, again.output
    assert school("Bilim Innovation School").id in _opened()


def test_any_command_meeting_a_held_row_stops_waiting_and_says_what_to_do(app_ctx, holder, monkeypatch):
    """``flask load-regions`` creating a region another transaction is creating too (an administrator's form saved at
    that moment, its transaction not yet ended): it waited on the unique code for as long as that transaction lasted."""
    from app.demo.regions import REGIONS
    from app.people.models import Region

    present = set(db.session.scalars(select(Region.code)))
    code = next(code for code, *_names in REGIONS if code not in present)
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)
    opened = holder.begin()
    holder.execute(text("INSERT INTO region (code, name_kk, name_ru, name_en) VALUES (:code, 'x', 'x', 'x')"),
                   {"code": code})

    jammed, ran = _while_held(app_ctx, opened, lambda: app_ctx.test_cli_runner().invoke(args=["load-regions"]))

    assert not jammed, "the command waited for the open transaction"
    assert ran.exit_code == 1, ran.output
    assert ("another transaction held a record this command needed for more than 1 s — someone saving it, a job, a "
            "transaction left open (canceling statement due to lock timeout); run the command again once it has "
            "ended); nothing this command did was saved.") in ran.output
    db.session.expire_all()
    assert set(db.session.scalars(select(Region.code))) == present, "nothing half written"
    assert app_ctx.test_cli_runner().invoke(args=["load-regions"]).exit_code == 0, "run again, it goes through"
