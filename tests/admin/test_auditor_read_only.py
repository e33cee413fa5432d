"""Auditors read everything and change nothing: every write route of the application refuses them."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.admin.views import AUDITOR_MAY_POST
from app.engine.models import HumanTask
from app.extensions import db
from app.inbox.models import TaskAttachment, TaskComment


def _fill(rule) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)


def test_every_write_route_refuses_an_auditor(world, browser, app_ctx):
    auditor = browser("auditor")
    checked = 0
    for rule in app_ctx.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or rule.endpoint in AUDITOR_MAY_POST:
            continue
        for method in methods:
            url = _fill(rule)
            if method == "POST":
                response = auditor.post(url, {"body": "x", "confirm": "yes", "reason": "x"})
            else:
                response = auditor._request(method.lower(), url, headers={"X-CSRFToken": auditor.csrf or ""})
            assert response.status_code == 403, (rule.endpoint, response.status_code)
            checked += 1
    assert checked > 30


def test_auditor_cannot_comment_or_attach_and_sees_no_forms(world, browser):
    task = db.session.scalars(select(HumanTask).where(HumanTask.status == "open")).first()
    auditor = browser("auditor")
    page = auditor.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert 'id="comment-form"' not in page.get_data(as_text=True)
    assert 'id="attach-form"' not in page.get_data(as_text=True)
    assert auditor.post(f"/tasks/{task.id}/comments", {"body": "I was here"}).status_code == 403
    assert db.session.scalars(select(TaskComment)).first() is None
    assert db.session.scalars(select(TaskAttachment)).first() is None


def test_the_operation_refuses_an_auditor_too(world):
    """Not only the route: the inbox's operation itself (used by any future caller) refuses."""
    import pytest

    from app.engine.errors import DomainRefused
    from app.inbox import operations
    from tests.helpers import user

    task = db.session.scalars(select(HumanTask).where(HumanTask.status == "open")).first()
    with pytest.raises(DomainRefused):
        operations.add_comment(task, user("auditor"), "I was here")
    with pytest.raises(DomainRefused):
        operations.add_attachment(task, user("auditor"), "a.txt", b"hello")
