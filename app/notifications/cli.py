"""``flask notify-sla`` and ``flask send-mail``: operator commands (also safe to run from cron)."""

from __future__ import annotations

import click
from flask import Flask

from app.extensions import db


def register_notifications_cli(app: Flask) -> None:
    @app.cli.command("notify-sla")
    def notify_sla() -> None:
        """Notify about tasks due soon or overdue (each notice once)."""
        from app.notifications.operations import scan_sla

        counts = scan_sla()
        db.session.commit()
        click.echo(f"due soon: {counts['due_soon']}, overdue: {counts['overdue']}")

    @app.cli.command("send-mail")
    def send_mail() -> None:
        """Send pending e-mails over SMTP (needs MAIL_SERVER; otherwise they stay stored in the outbox)."""
        from app.notifications.operations import deliver_outbox

        counts = deliver_outbox()
        click.echo(f"sent: {counts['sent']}, failed: {counts['failed']}")
