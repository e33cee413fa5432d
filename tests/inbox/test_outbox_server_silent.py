"""A mail server that takes the connection and never answers (hung, or a firewall that swallows the traffic): each
background pass waited the whole timeout for its greeting — 20 s of every pass, every 30 s — and logged a traceback,
for as long as the server stayed silent. Now the pass gives up at the timeout with one line, the mails stay pending
(nothing was taken), and the process rests from that server — one minute, doubling to fifteen — before it tries
again; the pass's other parts go on. The server is a real listening socket that never answers; the clock is frozen
and moved, never slept on."""

from __future__ import annotations

import logging
import socket

import pytest

from app import clock
from app.notifications import operations
from tests.inbox.test_outbox_bad_address import amended, status_of
from tests.inbox.test_outbox_server_restart import SMTPServer


@pytest.fixture()
def silent_server(app_ctx, monkeypatch):
    """Connections are taken (the listen backlog) and never answered; the constructor calls are counted."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app_ctx.config, "MAIL_PORT", sock.getsockname()[1])
    monkeypatch.setitem(app_ctx.config, "MAIL_TIMEOUT_SECONDS", 0.3)
    tries = []

    class CountingSMTP(operations.smtplib.SMTP):
        def __init__(self, *args, **kwargs):
            tries.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(operations.smtplib, "SMTP", CountingSMTP)
    yield tries
    sock.close()
    getattr(operations, "_AWAY", {}).clear()


def test_a_silent_mail_server_is_given_up_at_the_timeout_and_rested_from(world, app_ctx, silent_server, caplog,
                                                                         monkeypatch):
    mail = amended("director")
    with clock.FrozenClock(clock.now()) as frozen, caplog.at_level(logging.WARNING):
        counts = operations.tick()  # the whole notification part: announcements, SLA notices, the outbox
        assert status_of(mail)[0] == "pending" and counts.get("sent") == 0
        assert len(silent_server) == 1
        outbox_lines = [r for r in caplog.records if r.name == operations.log.name]
        assert len(outbox_lines) == 1 and outbox_lines[0].exc_info is None, "one line, no traceback"
        assert "cannot be used" in outbox_lines[0].getMessage()
        assert "tried again in 60 s" in outbox_lines[0].getMessage()

        frozen.advance(seconds=30)
        operations.tick()  # resting: the server is not waited for again
        assert len(silent_server) == 1 and status_of(mail)[0] == "pending"

        frozen.advance(seconds=31)
        operations.tick()  # the rest is over: tried again, silent again, the rest doubles
        assert len(silent_server) == 2
        assert "tried again in 120 s" in caplog.records[-1].getMessage()

        back = SMTPServer(accept=100)  # the mail server answers again (here: at another address)
        try:
            monkeypatch.setitem(app_ctx.config, "MAIL_PORT", back.port)
            assert operations.deliver_outbox()["sent"] >= 1
        finally:
            back.close()
    assert status_of(mail)[0] == "sent"
    assert operations._AWAY == {}, "a server that answered ends the rest"
