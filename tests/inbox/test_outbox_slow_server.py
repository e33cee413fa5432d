"""A slow mail server (25 s a mail, each command answered inside its 20 s timeout) holds one pass's outbox for at
most OUTBOX_PASS_SECONDS: the rest waits for the next pass. A hundred slow mails held the whole background pass — the
timers, announcements and SLA notices of the next passes — for half an hour."""

from __future__ import annotations

import time

from app.notifications import operations
from tests.inbox.test_outbox_bad_address import amended, mail_server, status_of  # noqa: F401 - the fixture


def test_a_slow_mail_server_holds_the_pass_for_a_bounded_time(world, mail_server, monkeypatch):  # noqa: F811
    mails = [amended(name) for name in ("director", "accountant", "official", "head")]
    now = {"t": 1000.0}
    monkeypatch.setattr(time, "monotonic", lambda: now["t"])
    real_send = mail_server.send_message

    def slow(self, msg):
        now["t"] += 25
        real_send(self, msg)

    monkeypatch.setattr(mail_server, "send_message", slow)
    counts = operations.deliver_outbox()

    assert counts == {"sent": 3, "failed": 0}, "75 s spent: the pass stops there"
    assert [status_of(m)[0] for m in mails] == ["sent", "sent", "sent", "pending"], "the rest waits for the next pass"
    assert operations.deliver_outbox() == {"sent": 1, "failed": 0}
