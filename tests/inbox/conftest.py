"""Inbox fixtures: a second Astana official, and clean acts waiting for acceptance.

Acts are opened and submitted through the real operations (open_monthly_act, complete_task), as the
accountants would, so every task row is written by the engine and filled by the inbox hook.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import open_monthly_act, prefill_lines
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.people.models import User
from tests.helpers import school, user


def submit_clean(act: Act, accountant: User) -> HumanTask:
    """Submit the act with exactly the school's NEDB contingent; returns the new *Accept act* task."""
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.status == "open")).one()
    complete_task(task.id, accountant, data={"lines": prefill_lines(act), "note": ""})
    db.session.commit()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.status == "open")).one()


def make_clean_acts() -> list[HumanTask]:
    """Four clean acts in Astana (schools A and B, October and September) waiting for the official."""
    tasks = []
    for name, username in (("Bilim Innovation School", "accountant"), ("Nur Private School", "accountant2")):
        org = school(name)
        october = db.session.scalars(select(Act).where(Act.school_id == org.id)).one()
        september = open_monthly_act(org, date(2026, 9, 1))
        db.session.commit()
        for act in (october, september):
            tasks.append(submit_clean(act, user(username)))
    return tasks


def make_official2() -> User:
    """A second official of the Astana department (password pw), to share work with."""
    first = user("official")
    colleague = User(username="official2", full_name="Дина Серікова", role=first.role,
                     organisation_id=first.organisation_id, email="official2@demo.tapsyrys.kz")
    colleague.set_password("pw")
    db.session.add(colleague)
    db.session.commit()
    return colleague


@pytest.fixture()
def official2(world) -> User:
    return make_official2()


@pytest.fixture()
def clean_acts(world) -> list[HumanTask]:
    return make_clean_acts()
