"""An audit anchor file the application may not read (permission denied: restored or copied as another user, a
WORM mount with other owners). Every background pass had failed on it with a traceback ending in PermissionError,
``verify-audit`` stopped on an older unreadable file without checking a single chain, and nothing said what to do.

Unlike an empty or cut anchor, an unreadable one is not evidence of anything: its content is unknown, not damaged,
and read access brings it back as it was. Anchoring cannot go on past it the way it goes on past a cut file: the
next anchor links to the newest file's exact bytes, and a link to bytes nobody could read would vouch for nothing.
So each pass and each command says, in one sentence, which file, as which user, and what to do (give read access,
keep the file); ``verify-audit`` checks every chain and compares the database with the newest anchor it can read;
once the file is readable again the next pass anchors, linked to it as it is.

The processes are real ``flask`` commands. The test suite may run as root, who reads any file: the commands then run
without the capabilities that let root past file permissions (``setpriv``), as the application's own user would."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from app.audit.anchors import create_anchor
from app.audit.keys import load_keyring
from app.audit.operations import record_event
from app.extensions import db

WORKTREE = Path(__file__).resolve().parents[2]
SAID = "the audit anchor file cannot be read by this process"


def test_an_unreadable_anchor_is_named_with_what_to_do_and_anchoring_resumes_linked_to_it(app_ctx, tmp_path):
    record_event("probe", "probe", "probe", 1, actor_id=None)
    db.session.commit()
    load_keyring(app_ctx.config)
    folder = Path(app_ctx.config["AUDIT_ANCHOR_DIR"])
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-anchor", "BACKGROUND_MODE": "none",
           "DATABASE_URL": app_ctx.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": app_ctx.config["AUDIT_KEY_FILE"], "AUDIT_ANCHOR_DIR": str(folder),
           "AUDIT_ANCHOR_INTERVAL_SECONDS": "0"}
    as_the_app = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_the_app, str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args],
                              cwd=WORKTREE, env=env, capture_output=True, text=True, timeout=120)

    older = create_anchor()
    record_event("probe", "probe", "probe", 2, actor_id=None)
    db.session.commit()
    newest = create_anchor()
    assert (older.name, newest.name) == ("anchor-00000001.json", "anchor-00000002.json")
    newest.chmod(0o000)
    record_event("probe", "probe", "probe", 3, actor_id=None)  # events an anchor is due for
    db.session.commit()

    passed = flask("ticker", "--once")
    assert passed.returncode == 1 and "Traceback" not in passed.stderr, passed.stderr
    assert f"audit anchor ({newest}: {SAID}" in passed.stderr
    assert "give this user read access to it" in passed.stderr and "do not delete or replace it" in passed.stderr
    assert sorted(p.name for p in folder.iterdir()) == [older.name, newest.name], \
        "no anchor written past a file whose bytes it would link to unread"

    for command in (("audit-anchor",), ("audit-export-anchor",)):
        refused = flask(*command)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert refused.stderr.startswith(f"Error: {newest}: {SAID}") and len(refused.stderr.splitlines()) == 1

    checked = flask("verify-audit")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr, checked.stderr
    assert f"anchor: {newest}: {SAID}" in checked.stderr
    assert "The database is compared with the newest anchor that can be read." in checked.stderr
    assert "3 event(s) checked" in checked.stdout and "anchor 1), 1 problem(s)." in checked.stdout, \
        "every chain checked, against anchor 1"

    # The operator gives the application's user read access again: the next pass anchors, linked to the file as is.
    newest.chmod(0o444)
    passed = flask("ticker", "--once")
    assert passed.returncode == 0, passed.stderr
    third = json.loads((folder / "anchor-00000003.json").read_text())
    assert third["previous_sha256"] == hashlib.sha256(newest.read_bytes()).hexdigest()

    # An older file unreadable: verify-audit had stopped on its PermissionError (it reads it to check the newest
    # anchor's link) and checked no chain. Now that link is named unchecked, and everything else is checked.
    newest.chmod(0o000)
    checked = flask("verify-audit")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr, checked.stderr
    assert f"anchor 3: its link to the anchor before it is not checked: {newest}: {SAID}" in checked.stderr
    assert "3 event(s) checked" in checked.stdout and "anchor 3), 1 problem(s)." in checked.stdout, checked.stdout
