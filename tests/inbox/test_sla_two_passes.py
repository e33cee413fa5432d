"""Two background passes at once (Celery beat started on two workers, a pass overlapping the next) give each SLA
notice once: the notice is recorded on the task by an UPDATE guarded by the state the scan read, before anyone is
told. Both passes used to read the overdue task as not yet notified and both notified the officials and the head, with
two task.overdue events."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.notifications import operations
from app.notifications.models import Notification


def test_an_overdue_notice_is_given_once_by_two_passes_at_once(world, app_ctx, monkeypatch):
    real = operations._isolated_notice
    state = {"second": True}

    def first_notice_meanwhile_a_whole_second_pass(task, notice):
        if state.pop("second", False):
            def second_pass():
                with app_ctx.app_context():
                    operations.scan_sla()
                    db.session.commit()

            thread = threading.Thread(target=second_pass)
            thread.start()
            thread.join(timeout=60)
        return real(task, notice)

    monkeypatch.setattr(operations, "_isolated_notice", first_notice_meanwhile_a_whole_second_pass)
    operations.scan_sla()  # the seeded Almaty act waits past its due date
    db.session.commit()

    overdue = db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "overdue"))
    events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "task.overdue"))
    assert events == 1, "one pass gave the notice"
    people = db.session.scalar(select(func.count(func.distinct(Notification.user_id)))
                               .where(Notification.kind == "overdue"))
    assert overdue == people >= 1, "each person told once"
