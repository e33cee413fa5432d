"""Two background passes at once — Celery beat started twice (every worker with ``-B``), or a pass still sending
when the next one is scheduled — send each e-mail once: a pass takes a mail (``sending``) before it sends it. Both
passes used to read the same pending mails and both sent them. A pass that dies after taking a mail leaves it
``sending``; a later pass puts it back in the queue, and a socket that fails mid-send leaves the mail pending."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from app import clock
from app.extensions import db
from app.notifications import operations
from app.notifications.models import OutboxEmail
from tests.inbox.test_outbox import FakeSMTP
from tests.inbox.test_outbox_bad_address import amended, status_of


class CountingSMTP(FakeSMTP):
    """Counts every message handed over; its first send runs, meanwhile, a whole second pass in another thread (the
    second beat's worker)."""

    sent: list = []
    during_first: object = None

    def send_message(self, msg):
        if CountingSMTP.during_first is not None:
            second, CountingSMTP.during_first = CountingSMTP.during_first, None
            second()
        CountingSMTP.sent.append(msg["To"])


@pytest.fixture()
def mail_server(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "mail.invalid")
    monkeypatch.setattr(operations.smtplib, "SMTP", CountingSMTP)
    CountingSMTP.sent, CountingSMTP.during_first = [], None
    return CountingSMTP


def test_two_passes_at_once_send_each_mail_once(world, app_ctx, mail_server):
    mails = [amended(name) for name in ("director", "accountant", "official", "head")]
    second_counts = {}

    def second_pass():
        def run():
            with app_ctx.app_context():
                second_counts.update(operations.deliver_outbox())

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=60)

    mail_server.during_first = second_pass
    first_counts = operations.deliver_outbox()

    assert sorted(mail_server.sent) == sorted(m.to_address for m in mails), "each mail handed over once"
    assert first_counts["sent"] + second_counts["sent"] == 4
    assert [status_of(m)[0] for m in mails] == ["sent"] * 4


def test_a_mail_taken_by_a_pass_that_died_is_sent_by_a_later_pass(world, mail_server):
    with clock.FrozenClock(clock.now()) as frozen:
        mail = amended("director")
        db.session.execute(update(OutboxEmail).where(OutboxEmail.id == mail.id)
                           .values(status="sending", sent_at=clock.now()))  # taken; then the worker was killed
        db.session.commit()
        assert operations.deliver_outbox() == {"sent": 0, "failed": 0}, "another pass may still be sending it"
        frozen.advance(seconds=operations.SENDING_TIMEOUT.total_seconds() + 1)
        assert operations.deliver_outbox() == {"sent": 1, "failed": 0}
    assert status_of(mail)[0] == "sent" and mail_server.sent == [mail.to_address]


def test_a_socket_failing_mid_send_leaves_the_mail_pending(world, mail_server, monkeypatch):
    mail = amended("director")

    def timeout(self, msg):
        raise TimeoutError("timed out")

    monkeypatch.setattr(CountingSMTP, "send_message", timeout)
    counts = operations.deliver_outbox()
    assert counts["failed"] == 0 and counts["deferred"] == 1
    assert status_of(mail)[0] == "pending"


def test_a_mail_taken_while_the_clock_ran_ahead_is_sent_once_the_clock_is_put_right(world, mail_server):
    """The pass that took the mail ran on a clock a year ahead and died; the clock was put right since. The mail's
    "taken at" lay a year ahead, never older than the timeout: it stayed ``sending``, unsent, for that year."""
    from datetime import timedelta

    now = clock.now()
    mail = amended("director")
    with clock.FrozenClock(now + timedelta(days=365)):
        db.session.execute(update(OutboxEmail).where(OutboxEmail.id == mail.id)
                           .values(status="sending", sent_at=clock.now()))  # taken; then the worker was killed
        db.session.commit()
    with clock.FrozenClock(now):
        assert operations.deliver_outbox() == {"sent": 1, "failed": 0}
    assert status_of(mail)[0] == "sent" and mail_server.sent == [mail.to_address]
