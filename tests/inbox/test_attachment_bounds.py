"""A case holds a bounded number of files: each file was limited to 4 MB, but anyone working on a case (a school's
accountant on their act, the official accepting it) could post one again and again until the disk was full."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.inbox.models import TaskAttachment
from app.inbox.operations import MAX_CASE_ATTACHMENTS


def _attach(client, task_id: int, name: str):
    pdf = b"%PDF-1.4\n" + b"0" * 100
    return client.post(f"/tasks/{task_id}/attachments", {"file": (io.BytesIO(pdf), name)},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)


def _files(instance_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskAttachment)
                             .where(TaskAttachment.instance_id == instance_id))


def test_a_case_takes_files_up_to_its_bound_then_says_why_it_takes_no_more(world, clean_acts, browser):
    task = clean_acts[0]
    official = browser("official")
    for number in range(MAX_CASE_ATTACHMENTS):
        _attach(official, task.id, f"evidence-{number}.pdf")
    assert _files(task.instance_id) == MAX_CASE_ATTACHMENTS

    page = _attach(official, task.id, "one-more.pdf")
    assert f"This case already holds {MAX_CASE_ATTACHMENTS} files" in page
    assert _files(task.instance_id) == MAX_CASE_ATTACHMENTS, "nothing stored beyond the bound"

    other = clean_acts[1]
    assert other.instance_id != task.instance_id
    _attach(official, other.id, "another-case.pdf")
    assert _files(other.instance_id) == 1, "the bound is each case's own"
