"""E-mail outbox: stored without a mail server; sent over SMTP (here a stand-in) when one is configured."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.notifications import operations
from app.notifications.models import OutboxEmail


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, msg):
        FakeSMTP.sent.append((msg["To"], msg["Subject"]))


def test_mail_is_stored_without_a_server_and_sent_with_one(world, clean_acts, app_ctx, monkeypatch):
    mails = db.session.scalars(select(OutboxEmail)).all()
    assert mails and {m.status for m in mails} == {"stored"}
    assert operations.deliver_outbox() == {"sent": 0, "failed": 0}

    monkeypatch.setitem(app_ctx.config, "MAIL_SERVER", "mail.invalid")
    monkeypatch.setattr(operations.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    note_user = mails[0].user
    operations.notify(note_user, "task_created", clean_acts[0])
    db.session.commit()
    pending = db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == "pending")).all()
    assert len(pending) == 1
    assert operations.deliver_outbox() == {"sent": 1, "failed": 0}
    assert FakeSMTP.sent == [(note_user.email, pending[0].subject)]
    db.session.expire_all()
    assert db.session.get(OutboxEmail, pending[0].id).status == "sent"


def test_cli_commands(world, clean_acts, app_ctx):
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["notify-sla"])
    assert result.exit_code == 0 and "overdue: 1" in result.output, "the seeded Almaty act is past its due date"
    assert "overdue: 0" in runner.invoke(args=["notify-sla"]).output, "each notice only once"
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0 and "sent: 0" in result.output


def test_background_tick_scans_sla_and_commits(world, clean_acts, app_ctx):
    from app.notifications.operations import tick

    assert tick() == {"announced": 4, "due_soon": 0, "overdue": 1, "sent": 0, "failed": 0}, \
        "the four new Accept act tasks are announced by the pass"
    db.session.rollback()  # committed by tick: the notice survives a rollback
    assert tick() == {"announced": 0, "due_soon": 0, "overdue": 0, "sent": 0, "failed": 0}
