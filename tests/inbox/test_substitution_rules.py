"""Substitution periods: a deputy acts from the first to the LAST day inclusive, never outside it.

Issue 17: a deputy losing the last day of the substitution (``ends_on > on``) passed every test. Each
rule of ``app/people/substitutions.py`` is checked here on both sides of its boundary.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine.errors import DomainRefused
from app.extensions import db
from app.notifications.models import Notification
from app.people.models import User
from app.people.substitutions import (
    Substitution,
    active_principals,
    create_substitution,
    deputy_candidates,
    revoke_substitution,
    substitutions_of,
)
from tests.helpers import user

TODAY = date(2026, 11, 5)
START, END = date(2026, 11, 10), date(2026, 11, 20)


@pytest.fixture()
def today(world):
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)):
        yield TODAY


def _forget_cached_principals():
    g.pop("_active_principals", None)


def _names(users) -> list[str]:
    return [u.username for u in users]


def test_the_deputy_acts_from_the_first_to_the_last_day_inclusive(today, official2):
    official = user("official")
    create_substitution(official, official2.id, START, END, official)
    db.session.commit()

    assert _names(active_principals(official2, START - timedelta(days=1))) == []
    assert _names(active_principals(official2, START)) == ["official"]
    assert _names(active_principals(official2, START + timedelta(days=5))) == ["official"]
    assert _names(active_principals(official2, END)) == ["official"], "the last day belongs to the deputy"
    assert _names(active_principals(official2, END + timedelta(days=1))) == []
    # the principal does not stand in for the deputy
    assert active_principals(official, START) == []


def test_a_one_day_substitution_covers_exactly_that_day(today, official2):
    official = user("official")
    create_substitution(official, official2.id, TODAY, TODAY, official)
    db.session.commit()
    assert _names(active_principals(official2)) == ["official"], "today, by the clock"
    assert active_principals(official2, TODAY + timedelta(days=1)) == []
    assert active_principals(official2, TODAY - timedelta(days=1)) == []


def test_revoked_or_deactivated_principals_are_not_stood_in_for(today, official2):
    official = user("official")
    sub = create_substitution(official, official2.id, TODAY, END, official)
    db.session.commit()
    assert _names(active_principals(official2, TODAY)) == ["official"]

    official.active = False
    db.session.commit()
    _forget_cached_principals()
    assert active_principals(official2, TODAY) == []
    official.active = True

    revoke_substitution(sub, official)
    db.session.commit()
    _forget_cached_principals()
    assert active_principals(official2, TODAY) == []
    assert substitutions_of(official) == [] and substitutions_of(official2) == []


def test_anonymous_or_unsaved_users_have_no_principals(today, official2):
    from types import SimpleNamespace

    from flask_login import AnonymousUserMixin

    create_substitution(user("official"), official2.id, TODAY, END, user("official"))
    db.session.commit()
    assert active_principals(None) == []
    assert active_principals(AnonymousUserMixin()) == []
    # something that is not a logged-in user, even one carrying the deputy's id, stands in for no one
    assert active_principals(SimpleNamespace(id=official2.id)) == []
    assert active_principals(SimpleNamespace(id=None, is_authenticated=True)) == []


def test_substitutions_of_lists_current_and_future_periods_of_both_sides(today, official2):
    official = user("official")
    later = create_substitution(official, official2.id, START, END, official)  # named first, starts later
    ending_today = create_substitution(official, official2.id, TODAY - timedelta(days=3), TODAY, official)
    db.session.commit()
    assert [s.id for s in substitutions_of(official)] == [ending_today.id, later.id]
    assert [s.id for s in substitutions_of(official2)] == [ending_today.id, later.id]
    assert substitutions_of(user("accountant")) == []
    with clock.FrozenClock(datetime(2026, 11, 6, 9, 0, tzinfo=UTC)):  # the first one is over the next day
        assert [s.id for s in substitutions_of(official)] == [later.id]


def test_deputy_candidates_are_active_colleagues_of_the_same_organisation_and_role(today, official2):
    official = user("official")
    third = User(username="official3", full_name="Айгүл Бекова", role=official.role,
                 organisation_id=official.organisation_id, email="official3@demo.tapsyrys.kz")
    third.set_password("pw")
    db.session.add(third)
    db.session.commit()
    candidates = deputy_candidates(official)
    assert _names(candidates) == ["official3", "official2"], "by name: Айгүл before Дина"
    assert "head" not in _names(candidates), "another role of the department"
    assert "official" not in _names(deputy_candidates(official))
    assert "official_almaty" not in _names(deputy_candidates(official))
    official2.active = False
    db.session.commit()
    assert "official2" not in _names(deputy_candidates(official))
    assert deputy_candidates(user("admin")) == [], "a user without an organisation has no colleagues"


# ------------------------------------------------------------------------------------------------
# create_substitution: who, which deputy, which dates


def test_a_substitution_is_recorded_audited_and_announced(today, official2):
    official = user("official")
    sub = create_substitution(official, official2.id, START, END, official)
    db.session.commit()
    assert (sub.principal_id, sub.deputy_id, sub.starts_on, sub.ends_on, sub.created_by_id, sub.revoked_at) == (
        official.id, official2.id, START, END, official.id, None)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "substitution.created")).one()
    assert (event.chain, event.object_type, event.object_id, event.actor_id) == (
        f"user:{official.id}", "substitution", sub.id, official.id)
    assert event.details == {"deputy_id": official2.id, "deputy": official2.full_name, "from": "2026-11-10",
                             "to": "2026-11-20"}
    note = db.session.scalars(select(Notification).where(Notification.user_id == official2.id)).one()
    assert (note.kind, note.params) == ("deputy_named", {"principal": official.full_name, "start": "2026-11-10",
                                                         "end": "2026-11-20"})


@pytest.mark.parametrize("starts, ends, message", [
    (START, None, "Enter both dates (YYYY-MM-DD)."),
    (None, END, "Enter both dates (YYYY-MM-DD)."),
    (END, START, "The end date is before the start date."),
    (TODAY - timedelta(days=5), TODAY - timedelta(days=1), "The period is already over."),
    (TODAY, TODAY + timedelta(days=366), "A substitution can last at most a year."),
])
def test_bad_periods_are_refused(today, official2, starts, ends, message):
    official = user("official")
    with pytest.raises(DomainRefused, match="^" + re.escape(message)):
        create_substitution(official, official2.id, starts, ends, official)
    db.session.rollback()
    assert db.session.scalars(select(Substitution)).all() == []


@pytest.mark.parametrize("starts, ends", [
    (TODAY - timedelta(days=5), TODAY),  # ends today: still current
    (TODAY, TODAY + timedelta(days=365)),  # 366 days inclusive: the longest allowed
    (START, START),
])
def test_periods_at_the_limits_are_accepted(today, official2, starts, ends):
    official = user("official")
    sub = create_substitution(official, official2.id, starts, ends, official)
    assert (sub.starts_on, sub.ends_on) == (starts, ends)


def test_only_the_principal_or_an_administrator_names_a_deputy(today, official2):
    official = user("official")
    with pytest.raises(DomainRefused, match=r"^Only the person themselves or an administrator can name a deputy\.$"):
        create_substitution(official, official2.id, START, END, official2)
    admin = user("admin")
    sub = create_substitution(official, official2.id, START, END, admin)
    assert sub.created_by_id == admin.id


@pytest.mark.parametrize("deputy", ["official_almaty", "official", "head", "nobody", "inactive"])
def test_the_deputy_is_an_active_colleague(today, official2, deputy):
    official = user("official")
    if deputy == "nobody":
        deputy_id = None
    elif deputy == "inactive":
        official2.active = False
        db.session.commit()
        deputy_id = official2.id
    else:
        deputy_id = user(deputy).id
    with pytest.raises(DomainRefused, match=r"^Choose an active colleague from your organisation with your role as "
                                            r"deputy\.$"):
        create_substitution(official, deputy_id, START, END, official)
    assert db.session.scalars(select(Substitution)).all() == []


def test_revoking_is_for_the_principal_the_creator_or_an_administrator_and_happens_once(today, official2):
    official = user("official")
    sub = create_substitution(official, official2.id, START, END, user("admin"))
    db.session.commit()
    with pytest.raises(DomainRefused, match=r"^Only the principal can end this substitution\.$"):
        revoke_substitution(sub, official2)
    at = datetime(2026, 11, 6, 8, 0, tzinfo=UTC)
    with clock.FrozenClock(at):
        revoke_substitution(sub, official)
    db.session.commit()
    assert sub.revoked_at.replace(tzinfo=UTC) == at
    revoke_substitution(sub, user("admin"))  # again: nothing more happens
    db.session.commit()
    assert sub.revoked_at.replace(tzinfo=UTC) == at
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "substitution.revoked")).all()
    assert [(e.chain, e.object_type, e.object_id, e.actor_id, e.details) for e in events] == [
        (f"user:{official.id}", "substitution", sub.id, official.id, {"deputy_id": official2.id})]


def test_an_administrator_may_end_a_substitution_named_by_the_principal(today, official2):
    official = user("official")
    sub = create_substitution(official, official2.id, START, END, official)
    db.session.commit()
    revoke_substitution(sub, user("admin"))
    assert sub.revoked_at is not None


def test_a_deputy_holds_the_principals_role_so_no_one_holds_two_duties_kept_apart(today, official2, browser):
    """Probe: the department's official was offered, and could be named, as the head's deputy — then allocated a
    school's places and signed its contract as the head; a school's accountant could sign as the director. A deputy
    does the principal's job: the candidates are colleagues of the principal's role, and a substitution named
    across roles before the rule (a row written as it was) no longer counts."""
    official, head = user("official"), user("head")
    assert _names(deputy_candidates(official)) == ["official2"]
    assert _names(deputy_candidates(head)) == []
    assert _names(deputy_candidates(user("director"))) == []
    with pytest.raises(DomainRefused, match="with your role"):
        create_substitution(head, official.id, START, END, head)
    db.session.add(Substitution(principal_id=head.id, deputy_id=official.id, starts_on=TODAY, ends_on=END,
                                created_by_id=head.id, created_at=clock.now()))
    db.session.commit()
    _forget_cached_principals()
    assert active_principals(official, TODAY) == []

    page = browser("head").get("/substitutions").get_data(as_text=True)
    assert 'id="substitution-form"' not in page and 'id="no-deputy"' in page
    assert "(Department head)" in page and "ask an administrator to add a colleague with your role" in page
    page = browser("official").get("/substitutions").get_data(as_text=True)
    assert re.findall(r'<option value="(\d+)"', page) == [str(official2.id)]
    refused = browser("official").post("/substitutions", data={
        "deputy_id": str(head.id), "starts_on": START.isoformat(), "ends_on": END.isoformat()})
    assert refused.status_code == 200  # the form again, with the refusal
    assert "Choose an active colleague from your organisation with your role as deputy." in \
        refused.get_data(as_text=True)
    assert db.session.scalars(select(Substitution).where(Substitution.principal_id == official.id)).all() == []


def test_moving_a_person_ends_each_of_their_substitutions_audited_and_counted(today, official2):
    """A person moved to another organisation or role: every current and future substitution where they are principal
    or deputy ends at once, each audited with who ended it and why, and their principals are forgotten at once."""
    from app.people.substitutions import end_substitutions_of

    official, admin = user("official"), user("admin")
    current = create_substitution(official, official2.id, TODAY, END, official)
    later = create_substitution(official, official2.id, END + timedelta(days=5), END + timedelta(days=9), official)
    db.session.commit()
    assert _names(active_principals(official2, TODAY)) == ["official"]  # read (and kept for the request)
    at = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    with clock.FrozenClock(at):
        assert end_substitutions_of(official2, admin, "user.moved") == 2
    assert [s.revoked_at.replace(tzinfo=UTC) for s in (current, later)] == [at, at]
    assert active_principals(official2, TODAY) == [], "forgotten within the same request"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "substitution.revoked")
                                .order_by(AuditEvent.id)).all()
    assert [(e.chain, e.object_type, e.object_id, e.actor_id, e.details) for e in events] == [
        (f"user:{official.id}", "substitution", sub.id, admin.id, {"deputy_id": official2.id, "reason": "user.moved"})
        for sub in sorted((current, later), key=lambda s: s.starts_on)]
    assert end_substitutions_of(official2, admin, "user.moved") == 0  # nothing left to end


def test_a_schools_deputy_acts_for_a_colleague_on_the_schools_tasks(today):
    """A deputy whose scope is their organisation (a school's accountant) stands in on their school's tasks."""
    from types import SimpleNamespace

    from app.people.substitutions import principal_for

    accountant = user("accountant")
    colleague = User(username="accountant_b", full_name="Асель Нурлан", role=accountant.role,
                     organisation_id=accountant.organisation_id, email="accountant_b@demo.tapsyrys.kz")
    colleague.set_password("pw")
    db.session.add(colleague)
    db.session.flush()
    create_substitution(accountant, colleague.id, TODAY, END, accountant)
    db.session.commit()
    school_id, region_id = accountant.organisation_id, accountant.organisation.region_id
    task = SimpleNamespace(role=accountant.role, region_id=region_id, organisation_id=school_id, assignee_id=None)
    assert principal_for(colleague, task) == accountant
    other_school = SimpleNamespace(role=accountant.role, region_id=region_id, organisation_id=user("accountant2")
                                   .organisation_id, assignee_id=None)
    assert principal_for(colleague, other_school) is None
