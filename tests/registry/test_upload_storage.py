"""A registry file the upload folder cannot take (the disk is full, the folder cannot be written) is refused with a
message: no job, no part of the file. It answered 500 and left the part written, named after a job id that a later
import could be given; a job that is not committed leaves no file either."""

from __future__ import annotations

import errno
import io
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.registry.models import RegistryImport
from tests.registry.conftest import iin
from tests.registry.test_pages import nedb_csv, people  # noqa: F401 - the fixture


def _upload(client, body: bytes):
    return client.post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(body), "nedb.csv")},
                       content_type="multipart/form-data", follow_redirects=True)


def test_a_full_upload_folder_refuses_the_file_with_a_message(people, browser, app_ctx, monkeypatch,  # noqa: F811
                                                              tmp_path):
    monkeypatch.setitem(app_ctx.config, "REGISTRY_UPLOAD_DIR", str(tmp_path))
    school = people["school"]
    body = nedb_csv([f"{iin(n)},Pupil {n},{school.bin},private,5,2026-09-01," for n in range(1, 200)])

    def disk_full(self, destination, *args, **kwargs):
        Path(destination).write_bytes(body[:4096])  # what fitted
        raise OSError(errno.ENOSPC, "No space left on device")

    from werkzeug.datastructures import FileStorage

    monkeypatch.setattr(FileStorage, "save", disk_full)
    response = _upload(browser("op"), body)

    assert response.status_code == 200 and "The file could not be stored" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(RegistryImport.id))) == 0
    assert list(tmp_path.iterdir()) == [], "no part of the file is left"


def test_a_job_that_is_not_committed_leaves_no_file(people, app_ctx, monkeypatch, tmp_path):  # noqa: F811
    from app.registry.operations import create_import

    monkeypatch.setitem(app_ctx.config, "REGISTRY_UPLOAD_DIR", str(tmp_path))
    source = tmp_path / "source.csv"
    source.write_bytes(nedb_csv([]))
    create_import("nedb", "nedb.csv", source=source)
    db.session.rollback()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.csv"]

    job = create_import("nedb", "nedb.csv", source=source)
    db.session.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{job.id}-nedb.data", "source.csv"]
