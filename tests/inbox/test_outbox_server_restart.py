"""The mail server going away in the middle of a pass (restarted: "421", then a closed connection) or asking to come
back later (a 4xx reply) is the server's failure, not the mails': they stay pending and go out with a later pass. Each
mail after the drop used to be marked failed for good ("please run connect() first") — a restarted mail server lost
every notification of the pass, silently."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest
from sqlalchemy import func, select

from app.notifications import operations
from app.notifications.models import OutboxEmail
from tests.inbox.test_outbox_bad_address import amended, status_of


class SMTPServer:
    """A real SMTP server on a local port (smtplib talks to it over a socket) that accepts ``accept`` mails on each
    connection, then answers the next DATA with ``then`` and, for a 421, closes the connection as a server shutting
    down does."""

    def __init__(self, accept: int, then: bytes = b"421 4.3.2 shutting down"):
        self.accept, self.then, self.received = accept, then, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._session(conn)

    def _session(self, conn) -> None:
        taken = 0
        with conn, conn.makefile("rb") as f:
            conn.sendall(b"220 mail.test ESMTP\r\n")
            for line in f:
                verb = line[:4].upper()
                if verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    if taken < self.accept:
                        taken += 1
                        self.received += 1
                        conn.sendall(b"250 2.0.0 queued\r\n")
                        continue
                    conn.sendall(self.then + b"\r\n")
                    if self.then.startswith(b"421"):
                        return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def server(app_ctx, monkeypatch):
    servers = []

    def start(accept: int, then: bytes = b"421 4.3.2 shutting down") -> SMTPServer:
        srv = SMTPServer(accept, then)
        servers.append(srv)
        monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app_ctx.config, "MAIL_PORT", srv.port)
        return srv

    yield start
    for srv in servers:
        srv.close()


def test_a_mail_server_restarting_mid_pass_leaves_the_rest_pending(world, server):
    first = server(accept=1)
    mails = [amended(name) for name in ("director", "accountant", "official", "head")]

    counts = operations.deliver_outbox()

    assert counts["sent"] == 1 and counts["failed"] == 0, counts
    assert [status_of(m)[0] for m in mails] == ["sent", "pending", "pending", "pending"], \
        "the mails after the drop are the server's failure, not theirs"
    first.close()

    back = server(accept=100)  # the server is back
    assert operations.deliver_outbox() == {"sent": 3, "failed": 0}
    assert back.received == 3 and [status_of(m)[0] for m in mails] == ["sent"] * 4


def test_try_again_later_defers_the_mail_and_a_refusal_fails_it(world, server):
    server(accept=0, then=b"451 4.7.1 greylisted, try again later")
    later = amended("director")

    counts = operations.deliver_outbox()

    assert counts["failed"] == 0 and counts.get("deferred") == 1, counts
    assert status_of(later)[0] == "pending"

    server(accept=0, then=b"554 5.7.1 rejected")
    assert operations.deliver_outbox()["failed"] == 1
    status, error = status_of(later)
    assert status == "failed" and "rejected" in error


def test_what_is_transient():
    assert operations.transient_smtp_failure(smtplib.SMTPServerDisconnected("please run connect() first"))
    assert operations.transient_smtp_failure(smtplib.SMTPRecipientsRefused({"a@b.kz": (450, b"busy")}))
    assert not operations.transient_smtp_failure(smtplib.SMTPRecipientsRefused({"a@b.kz": (550, b"no such user")}))
    assert not operations.transient_smtp_failure(smtplib.SMTPDataError(554, b"rejected"))
    assert not operations.transient_smtp_failure(operations.UnsendableMail("not one address"))


def test_a_mail_server_that_cannot_be_reached_shows_in_the_metrics(world, app_ctx, browser, monkeypatch):
    """Connection refused: the pass logs it and the mails wait — the metrics show how many and for how long, for an
    alert (before, nothing but a log line per pass said the outbox had stopped)."""
    from app import clock

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there
    monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app_ctx.config, "MAIL_PORT", port)
    monkeypatch.setitem(app_ctx.config, "METRICS_TOKEN", "t")
    start = clock.now()
    with clock.FrozenClock(start) as frozen:
        mail = amended("director")
        operations.tick()
        assert status_of(mail)[0] == "pending"
        frozen.advance(hours=1)
        text = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    pending = operations.db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.status == "pending"))
    assert pending >= 1  # with the SLA scan's notices of the seeded overdue act, queued by the same pass
    assert f'tapsyrys_outbox_emails{{state="pending"}} {pending}.0' in text
    assert "tapsyrys_outbox_oldest_pending_seconds 3600.0" in text
