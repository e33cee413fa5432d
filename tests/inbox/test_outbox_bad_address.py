"""An e-mail that can never be sent — a stored address with a line break (a header injection: "Bcc: …"), or more
than one recipient in it — is marked failed with the reason, and the mails queued after it still go out. It used to
raise in the middle of the pass: the row stayed pending and blocked every later mail, on every pass."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications import operations
from app.notifications.models import OutboxEmail
from tests.helpers import user
from tests.inbox.test_outbox import FakeSMTP


class RecordingSMTP(FakeSMTP):
    """The mail server stand-in of test_outbox, keeping whole messages; refuses ``refused`` recipients like a real
    one."""

    sent: list = []
    refused: set = set()

    def send_message(self, msg):
        import smtplib

        if msg["To"] in RecordingSMTP.refused:
            raise smtplib.SMTPRecipientsRefused({msg["To"]: (550, b"No such user")})
        RecordingSMTP.sent.append(msg)


@pytest.fixture()
def mail_server(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "mail.invalid")
    monkeypatch.setattr(operations.smtplib, "SMTP", RecordingSMTP)
    RecordingSMTP.sent, RecordingSMTP.refused = [], set()
    return RecordingSMTP


def amended(username: str, email: str | None = None) -> OutboxEmail:
    """Tell ``username`` that a contract was amended (one pending e-mail); with ``email`` stored for them first."""
    person = user(username)
    if email is not None:
        person.email = email
    note = operations.notify(person, "contract_amended", subject="C-ASTANA-2026-00001", start="2026-11-01")
    db.session.commit()
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.notification_id == note.id)).one()


def status_of(mail: OutboxEmail) -> tuple[str, str | None]:
    db.session.expire_all()
    row = db.session.get(OutboxEmail, mail.id)
    return row.status, row.error


@pytest.mark.parametrize("bad_address", [
    "accountant@demo.tapsyrys.kz\r\nBcc: evil@x.com",
    "accountant@demo.tapsyrys.kz\nBcc: evil@x.com",
    "accountant@demo.tapsyrys.kz, evil@x.com",
])
def test_a_bad_address_fails_alone_and_the_mails_after_it_are_sent(world, mail_server, bad_address):
    first = amended("director")
    bad = amended("accountant", email=bad_address)
    after = [amended("official"), amended("head")]

    assert operations.deliver_outbox() == {"sent": 3, "failed": 1}

    assert [m["To"] for m in mail_server.sent] == [first.to_address] + [m.to_address for m in after]
    assert all("evil@x.com" not in str(m) for m in mail_server.sent), "nobody else got a copy"
    status, error = status_of(bad)
    assert status == "failed" and "recipient address" in error, error
    assert [status_of(m)[0] for m in (first, *after)] == ["sent"] * 3
    assert operations.deliver_outbox() == {"sent": 0, "failed": 0}, "the failed mail is not tried on every pass"


def test_the_background_pass_goes_on_past_a_bad_address(world, mail_server):
    bad = amended("accountant", email="accountant@demo.tapsyrys.kz\r\nBcc: evil@x.com")
    good = amended("official")

    counts = operations.tick()  # its SLA scan queues the overdue Almaty act's notices too, sent in the same pass

    assert counts["failed"] == 1 and counts["sent"] >= 1
    assert status_of(bad)[0] == "failed" and status_of(good)[0] == "sent"
    assert db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == "pending")).all() == []


def test_a_refused_recipient_fails_alone_too(world, mail_server, caplog):
    refused = amended("accountant", email="nobody@demo.tapsyrys.kz")
    bad = amended("official", email="official@demo.tapsyrys.kz, evil@x.com")
    good = amended("head")
    mail_server.refused = {"nobody@demo.tapsyrys.kz"}

    with caplog.at_level(logging.WARNING):
        assert operations.deliver_outbox() == {"sent": 1, "failed": 2}
    status, error = status_of(refused)
    assert status == "failed" and "No such user" in error and "nobody@demo.tapsyrys.kz" in error
    assert "official@demo.tapsyrys.kz" in status_of(bad)[1], "the outbox page says which address"
    assert status_of(good)[0] == "sent"
    # the logs say which mail, to whom (the user's id) and the server's code — not the person's address
    logged = [r.getMessage() for r in caplog.records if r.name == operations.log.name]
    assert logged == [f"e-mail {refused.id} to user {refused.user_id} failed: recipient refused (550)",
                      f"e-mail {bad.id} to user {bad.user_id} failed: not a valid recipient address"], logged


def test_a_line_break_in_the_subject_is_folded_not_a_failure(world, mail_server):
    mail = amended("official")
    mail.subject = "Tapsyrys: New task: Accept\nact — AKT-1"
    db.session.commit()

    assert operations.deliver_outbox() == {"sent": 1, "failed": 0}
    assert mail_server.sent[0]["Subject"] == "Tapsyrys: New task: Accept act — AKT-1"
