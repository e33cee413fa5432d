"""Users probe (walk8, the administrator's first day): an official goes on leave and cannot name their own deputy from
the inbox — the administrator must, and had no page for it (``create_substitution`` allowed an administrator; no route
or form did). The person's administration page now names, lists and ends deputies, and shows the account's own audit
trail, where "user.deactivated" was nowhere to read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from app.extensions import db
from app.people.substitutions import Substitution, active_principals
from tests.helpers import user
from tests.inbox.conftest import make_official2


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_the_administrator_names_a_deputy_for_an_official_on_leave(world, browser):
    official, colleague = user("official"), make_official2()
    admin = browser("admin")
    page = admin.get(f"/admin/users/{official.id}").get_data(as_text=True)
    assert 'id="deputy-form"' in page and colleague.full_name in page
    start, end = clock.today(), clock.today() + timedelta(days=13)
    response = admin.post(f"/admin/users/{official.id}/deputies",
                          {"deputy_id": str(colleague.id), "starts_on": start.isoformat(), "ends_on": end.isoformat()})
    assert response.status_code == 303
    sub = db.session.scalars(select(Substitution).where(Substitution.principal_id == official.id)).one()
    assert (sub.deputy_id, sub.starts_on, sub.ends_on, sub.created_by_id) == (colleague.id, start, end,
                                                                              user("admin").id)
    assert active_principals(user("official2")) == [official]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{official.id}",
                                                        AuditEvent.action == "substitution.created")).one()
    assert event.actor_id == user("admin").id
    page = admin.get(f"/admin/users/{official.id}").get_data(as_text=True)
    assert 'id="user-substitutions"' in page and "Deputy named" in page  # the list and the account's trail
    # ended from the same page
    response = admin.post(f"/admin/substitutions/{sub.id}/end", {"user_id": str(official.id)})
    assert response.status_code == 303
    db.session.refresh(sub)
    assert sub.revoked_at is not None
    assert 'id="no-substitutions"' in admin.get(f"/admin/users/{official.id}").get_data(as_text=True)


def test_a_deputy_of_another_role_is_refused_and_nothing_is_written(world, browser):
    official, head = user("official"), user("head")
    admin = browser("admin")
    admin.get(f"/admin/users/{official.id}")
    before = _events()
    response = admin.post(f"/admin/users/{official.id}/deputies",
                          {"deputy_id": str(head.id), "starts_on": clock.today().isoformat(),
                           "ends_on": (clock.today() + timedelta(days=5)).isoformat()})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="deputy-refused"' in page
    # the refusal names the person on leave (it said "your organisation", "your role" to the administrator)
    assert official.full_name in page and "your organisation" not in page and "Nothing was saved." in page
    assert db.session.scalar(select(func.count()).select_from(Substitution)) == 0
    assert _events() == before


def test_the_account_page_reads_the_accounts_own_audit_trail_in_words(world, browser):
    leaver = user("accountant2")
    admin = browser("admin")
    assert admin.post(f"/admin/users/{leaver.id}/active", {"active": "no"}).status_code == 302
    page = admin.get(f"/admin/users/{leaver.id}").get_data(as_text=True)
    assert 'id="user-history"' in page
    assert "Account deactivated" in page and "user.deactivated" not in page


def test_an_auditor_reads_the_deputies_and_the_trail_but_gets_no_form(world, browser):
    official, colleague = user("official"), make_official2()
    from app.people.substitutions import create_substitution

    create_substitution(official, colleague.id, clock.today(), clock.today() + timedelta(days=3), official)
    db.session.commit()
    auditor = browser("auditor")
    page = auditor.get(f"/admin/users/{official.id}").get_data(as_text=True)
    assert 'id="user-substitutions"' in page and 'id="user-history"' in page
    assert 'id="deputy-form"' not in page and ">End<" not in page
    sub = db.session.scalars(select(Substitution)).one()
    assert auditor.post(f"/admin/users/{official.id}/deputies",
                        {"deputy_id": str(colleague.id), "starts_on": clock.today().isoformat(),
                         "ends_on": clock.today().isoformat()}).status_code == 403
    assert auditor.post(f"/admin/substitutions/{sub.id}/end").status_code == 403
    db.session.refresh(sub)
    assert sub.revoked_at is None


def test_a_person_with_no_colleague_of_their_role_is_told_what_to_do_first(world, browser):
    head = user("head")
    page = browser("admin").get(f"/admin/users/{head.id}").get_data(as_text=True)
    assert 'id="no-deputy-candidates"' in page and 'id="deputy-form"' not in page
