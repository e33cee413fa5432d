"""An audit anchor that cannot be written whole (the disk is full) leaves no file behind: it had left an empty
``anchor-N.json``, and from then on every background pass failed on reading it — no anchor was written again, even
once the disk had room — and ``verify-audit`` reported it. A command that cannot write its file says so in one
sentence (exit 1), not a traceback.

The full disk is real: the ``flask`` process runs with a file size limit (RLIMIT_FSIZE, what a quota does to a
writer), so its write fails as on a full disk; and in-process, the write fails with ENOSPC."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.audit import anchors
from app.audit.anchors import anchor_files, anchor_if_due
from app.audit.operations import record_event
from app.extensions import db

WORKTREE = Path(__file__).resolve().parents[2]


def _small_files_only():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


def test_audit_anchor_on_a_full_disk_leaves_no_file_and_the_next_one_is_written(app_ctx, tmp_path):
    if app_ctx.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the size limit would stop SQLite's own files too: PostgreSQL (DATABASE_URL)")
    record_event("probe", "probe", "probe", 1, actor_id=None)
    db.session.commit()
    from app.audit.keys import load_keyring

    load_keyring(app_ctx.config)
    folder = tmp_path / "anchors"
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-anchor",
           "DATABASE_URL": app_ctx.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"], "AUDIT_ANCHOR_DIR": str(folder)}

    def flask(*args: str, limit=None) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=WORKTREE,
                              env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit)  # noqa: PLW1509

    full = flask("audit-anchor", limit=_small_files_only)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "File too large" in full.stderr
    assert list(folder.iterdir()) == [], "no empty or cut anchor file, no temporary file"

    room = flask("audit-anchor")
    assert room.returncode == 0 and "Anchor 1:" in room.stdout, room.stderr
    checked = flask("verify-audit")
    assert checked.returncode == 0 and "0 problem(s)" in checked.stdout, checked.stderr + checked.stdout


def test_the_background_pass_anchors_again_once_the_disk_has_room(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "AUDIT_ANCHOR_DIR", str(tmp_path / "anchors"))
    record_event("probe", "probe", "probe", 1, actor_id=None)
    db.session.commit()
    real_fsync = os.fsync

    def disk_full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(anchors.os, "fsync", disk_full)
    with pytest.raises(OSError):
        anchor_if_due()
    assert list((tmp_path / "anchors").iterdir()) == []
    monkeypatch.setattr(anchors.os, "fsync", real_fsync)
    written = anchor_if_due()
    assert [path for _n, path in anchor_files()] == [written] and written.name == "anchor-00000001.json"
