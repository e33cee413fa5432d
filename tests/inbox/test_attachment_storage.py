"""An attachment whose file cannot be written (the disk is full, the folder cannot be written) is refused with a
message and leaves nothing behind; an attach whose transaction does not commit removes the file it wrote. The
first answered 500 and left the part of the file written; the second left the whole file — a list of children,
perhaps — on disk with no row pointing at it."""

from __future__ import annotations

import errno
import io
from pathlib import Path

from sqlalchemy import func, select

from app.engine.errors import ConflictError
from app.extensions import db
from app.inbox import operations as ops
from app.inbox.models import TaskAttachment

PDF = b"%PDF-1.4\n" + b"0" * 20000


def _attach(client, task_id: int) -> str:
    return client.post(f"/tasks/{task_id}/attachments", {"file": (io.BytesIO(PDF), "evidence.pdf")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(TaskAttachment))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_full_disk_refuses_the_file_with_a_message_and_leaves_nothing(world, clean_acts, browser, monkeypatch,
                                                                         tmp_path):
    monkeypatch.setattr(ops, "attachments_dir", lambda: tmp_path)
    real_write = Path.write_bytes

    def disk_full(self, data):
        real_write(self, data[:4096])  # what fitted
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    page = _attach(browser("official"), clean_acts[0].id)

    assert "The file could not be stored" in page
    assert _rows() == 0 and _files(tmp_path) == [], "no row, and no part of the file"


def test_an_attach_that_does_not_commit_takes_its_file_with_it(world, clean_acts, browser, monkeypatch, tmp_path):
    monkeypatch.setattr(ops, "attachments_dir", lambda: tmp_path)

    def lost_race(*args, **kwargs):
        raise ConflictError("someone else wrote the case's history first")

    monkeypatch.setattr(ops, "record_event", lost_race)
    _attach(browser("official"), clean_acts[0].id)
    assert _rows() == 0 and _files(tmp_path) == [], "the file went with the rolled-back row"

    monkeypatch.undo()
    monkeypatch.setattr(ops, "attachments_dir", lambda: tmp_path)
    assert "File attached." in _attach(browser("official"), clean_acts[0].id)
    [row] = db.session.scalars(select(TaskAttachment)).all()
    assert _files(tmp_path) == [row.stored_name], "a committed attach keeps its file"
