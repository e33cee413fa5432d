"""New tasks reach their people through the background pass (app.notifications.announce), once each."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, func, select, text

from app.acts.models import Act
from app.acts.operations import open_monthly_act
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.notifications.announce import announce_new_tasks
from app.notifications.models import Notification, OutboxEmail
from app.people.models import User
from tests.helpers import school, user
from tests.inbox.conftest import make_clean_acts


def _notes(task_id: int) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.task_id == task_id)
                              .order_by(Notification.user_id)).all()


def test_a_new_task_is_announced_once_to_everyone_who_may_do_it(world, official2):
    tasks = make_clean_acts()
    assert _notes(tasks[0].id) == [], "the step itself writes no notification"

    assert announce_new_tasks() == len(tasks)
    db.session.commit()

    officials = {user("official").id, official2.id}
    for task in tasks:
        notes = _notes(task.id)
        assert {n.user_id for n in notes} == officials and {n.kind for n in notes} == {"task_created"}
        assert notes[0].params["subject"] == task.subject_title
        mails = db.session.scalars(select(OutboxEmail).where(
            OutboxEmail.notification_id.in_([n.id for n in notes]))).all()
        assert {m.user_id for m in mails} == officials
        assert all(m.subject.startswith("Tapsyrys: ") and m.status == "stored" for m in mails)
    assert all(t.announced_at is not None for t in db.session.scalars(select(HumanTask)))

    assert announce_new_tasks() == 0, "a second pass announces nothing again"
    assert sum(len(_notes(t.id)) for t in tasks) == 2 * len(tasks)


def test_a_task_finished_before_the_pass_is_not_announced(world):
    tasks = make_clean_acts()
    complete_task(tasks[0].id, user("official"), data={"decision": "accept", "comment": ""})
    db.session.commit()
    pay = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == tasks[0].instance_id,
                                                     HumanTask.status == "open")).one()

    announced = announce_new_tasks()
    db.session.commit()

    assert _notes(tasks[0].id) == []
    assert [n.user_id for n in _notes(pay.id)] == [user("operator").id, user("operator2").id]  # the demo's two
    assert announced == len(tasks)  # three still open Accept act tasks and the new Pay act task
    assert db.session.scalar(select(func.count()).select_from(HumanTask)
                             .where(HumanTask.announced_at.is_(None))) == 0


def test_a_returned_act_tells_the_school_why(world):
    tasks = make_clean_acts()
    announce_new_tasks()
    complete_task(tasks[0].id, user("official"), data={"decision": "return", "comment": "Line 3: wrong grade"})
    db.session.commit()

    announce_new_tasks()
    db.session.commit()

    submit = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == tasks[0].instance_id,
                                                        HumanTask.status == "open")).one()
    [note] = _notes(submit.id)
    assert (note.kind, note.params["comment"], note.user_id) == ("act_returned", "Line 3: wrong grade",
                                                                 user("accountant").id)


def test_a_pass_costs_the_same_statements_for_few_and_many_tasks(world):
    """One batch is a fixed number of statements (per group of recipients), not several per task."""

    def statements_to_announce() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            announce_new_tasks()
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    org = school("Bilim Innovation School")
    # A first pass with a task to announce warms what a pass reads once per context (the models' words).
    open_monthly_act(org, date(2026, 9, 1))
    db.session.commit()
    announce_new_tasks()
    db.session.commit()
    open_monthly_act(org, date(2026, 8, 1))
    db.session.commit()
    one = statements_to_announce()
    for month in range(1, 8):
        open_monthly_act(org, date(2026, month, 1))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Act).where(Act.school_id == org.id)) == 10
    seven = statements_to_announce()
    assert one == seven, (one, seven)
    accountants = db.session.scalars(select(User).where(User.organisation_id == org.id,
                                                        User.role == "school_accountant")).all()
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == accountants[0].id,
                                    Notification.kind == "task_created")) >= 9


def test_two_passes_never_announce_a_task_twice(world):
    """Two background passes (two processes) that read the same new tasks: the second finds them claimed."""
    import app.notifications.announce as announce

    tasks = make_clean_acts()
    if db.engine.dialect.name == "postgresql":
        # The first pass holds its rows (FOR UPDATE SKIP LOCKED): a second one passes over them.
        first_task_id = min(t.id for t in tasks)
        with db.engine.connect() as other:
            with other.begin():
                other.execute(select(HumanTask.id).where(HumanTask.id == first_task_id).with_for_update())
                db.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # a pass that waited would fail
                assert announce_new_tasks() == len(tasks) - 1
                db.session.commit()
        assert announce_new_tasks() == 1
        db.session.commit()
    else:
        # SQLite has no row locks: the other pass commits its claim between this pass's read and its claim.
        real_update = announce.update

        def other_pass_first(table):
            with db.engine.begin() as other:
                other.execute(real_update(HumanTask).where(HumanTask.id == tasks[0].id)
                              .values(announced_at=func.now()))
            return real_update(table)

        announce.update = other_pass_first
        try:
            assert announce_new_tasks() == 0, "the pass that lost the race writes nothing"
        finally:
            announce.update = real_update
        assert _notes(tasks[1].id) == []
        assert announce_new_tasks() == len(tasks) - 1  # the rest, in the next pass
        db.session.commit()
    assert all(len(_notes(t.id)) == 1 for t in tasks[1:]), "one note each (the Astana official)"


def test_the_background_pass_drains_a_backlog_larger_than_one_batch(world, monkeypatch):
    import app.notifications.announce as announce

    tasks = make_clean_acts()
    monkeypatch.setattr(announce, "BATCH", 3)  # four new tasks: two batches

    assert announce.announce_backlog() == len(tasks)
    assert all(_notes(t.id) for t in tasks)
    assert announce.announce_backlog() == 0


def test_a_deputy_hears_of_the_principals_new_tasks(world, official2):
    from datetime import timedelta

    from app import clock
    from app.people.substitutions import create_substitution

    official = user("official")
    create_substitution(official, official2.id, clock.today(), clock.today() + timedelta(days=7), official)
    db.session.commit()
    tasks = make_clean_acts()

    announce_new_tasks()
    db.session.commit()

    for task in tasks:
        assert {n.user_id for n in _notes(task.id)} == {official.id, official2.id}


def test_a_new_task_notice_is_read_once_the_task_is_done_by_anyone_of_the_group(world, official2):
    """Users probe: "New task: Accept act" stayed unread in both officials' bells after one of them had accepted the
    act (and the operator's four "Pay act" notices after she had paid all four acts)."""
    from app.notifications.operations import unread_count

    tasks = make_clean_acts()
    announce_new_tasks()
    db.session.commit()
    before = unread_count(official2)

    complete_task(tasks[0].id, user("official"), data={"decision": "accept", "comment": ""})
    db.session.commit()

    assert all(n.read_at is not None for n in _notes(tasks[0].id))
    assert all(n.read_at is None for n in _notes(tasks[1].id)), "the other acts' notices still wait"
    assert unread_count(official2) == before - 1
