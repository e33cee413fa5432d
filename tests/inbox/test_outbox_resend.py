"""An e-mail that was not sent can be sent again by an administrator. A failed mail stayed failed for good: a mail
server that refused mail for a day (or a bad address since corrected) lost that day's notifications, with no way back
but the database."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.notifications.models import OutboxEmail
from tests.inbox.test_outbox_bad_address import amended, status_of


def _fail(mail: OutboxEmail, why: str = "550 No such user") -> None:
    db.session.get(OutboxEmail, mail.id).status = "failed"
    db.session.get(OutboxEmail, mail.id).error = why
    db.session.commit()


def test_an_administrator_sends_a_failed_mail_again(world, browser):
    first, second = amended("accountant"), amended("director")
    _fail(first)
    _fail(second)
    admin = browser("admin")
    page = admin.get("/notifications/outbox?all=1").get_data(as_text=True)
    assert f'data-resend="{first.id}"' in page and "550 No such user" in page

    assert admin.post("/notifications/outbox/resend", {"mail_id": str(first.id)}).status_code == 302
    assert status_of(first) == ("pending", None), "the next pass sends it"
    assert status_of(second) == ("failed", "550 No such user"), "only the chosen one"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "email.resent")).one()
    assert event.details == {"count": 1, "mails": [first.id]}

    assert admin.post("/notifications/outbox/resend", {"all": "1"}).status_code == 302
    assert status_of(second) == ("pending", None)


def test_only_an_administrator_may_send_mails_again(world, browser):
    mail = amended("accountant")
    _fail(mail)
    for username in ("accountant", "operator", "official"):
        assert browser(username).post("/notifications/outbox/resend", {"all": "1"}).status_code == 403
    assert status_of(mail) == ("failed", "550 No such user")
    assert 'data-resend=' not in browser("accountant").get("/notifications/outbox").get_data(as_text=True)
