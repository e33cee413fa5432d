"""The audit keys: HMAC secrets kept outside the database, each with an id stored on every event.

Where the keys come from (see ``app/config.py``):

* ``AUDIT_KEY_FILE`` — a text file, one key per line, ``<key id> <secret>`` (``#`` starts a comment). The last
  line is the current key; older lines stay so that events signed with them still verify (rotation = append a
  line, ``flask audit-key --rotate``). In the embedded mode the file is ``instance/audit_keys`` and is created
  with one random key on first use, like the secret key.
* ``AUDIT_KEY`` with ``AUDIT_KEY_ID`` — the current key from the environment (the file, if any, still supplies
  the older keys).
* ``AUDIT_KEY_CURRENT_ID`` pins which key signs new events (default: ``AUDIT_KEY_ID`` or the file's last line).

Someone who can write to the database but not read these keys can no longer rewrite an event and re-hash the
rest of its chain: they cannot compute the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

#: Events written before keyed hashes (migration 0011) keep this id: plain SHA-256 over the old body.
LEGACY_KEY_ID = "sha256-legacy"
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class AuditKeyError(RuntimeError):
    """The audit keys are missing or malformed: nothing can be recorded until an operator fixes it."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]

    def sign(self, body: bytes, key_id: str | None = None) -> str:
        return hmac.new(self.keys[key_id or self.current_id], body, hashlib.sha256).hexdigest()


def parse_key_file(text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not _KEY_ID_RE.match(parts[0]) or parts[0] == LEGACY_KEY_ID or len(parts[1]) < 32:
            raise AuditKeyError(f"audit key file, line {number}: expected '<key id> <secret of 32+ characters>'")
        keys[parts[0]] = parts[1].encode()
    return keys


def _new_key_line(key_id: str) -> str:
    return f"{key_id} {secrets.token_hex(32)}\n"


def _key_file(config) -> Path | None:
    path = config.get("AUDIT_KEY_FILE")
    return Path(path) if path else None


def _ensure_key_file(config) -> None:
    """Embedded mode: create the key file with one random key, readable by this user only."""
    path = _key_file(config)
    if path is None or path.exists() or config.get("AUDIT_KEY") or not config.get("AUDIT_KEY_CREATE"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Tapsyrys audit keys: '<key id> <secret>'; the last line signs new events. Keep old lines.\n")
        fh.write(_new_key_line("k1"))


def load_keyring(config) -> Keyring:
    _ensure_key_file(config)
    keys: dict[str, bytes] = {}
    current = None
    path = _key_file(config)
    if path is not None and path.exists():
        keys = parse_key_file(path.read_text())
        current = next(reversed(keys), None)
    if config.get("AUDIT_KEY"):
        env_id = config.get("AUDIT_KEY_ID") or "env"
        if not _KEY_ID_RE.match(env_id) or env_id == LEGACY_KEY_ID:
            raise AuditKeyError(f"AUDIT_KEY_ID {env_id!r} is not a valid key id")
        keys[env_id] = config["AUDIT_KEY"].encode()
        current = env_id
    current = config.get("AUDIT_KEY_CURRENT_ID") or current
    if current is None or current not in keys:
        if path is not None and not path.exists() and not config.get("AUDIT_KEY"):
            # a new installation's: the file is named, not made yet (only the embedded mode makes its own)
            raise AuditKeyError(f"No audit key: the key file {path} (AUDIT_KEY_FILE) does not exist; create it with "
                                "its first key with 'flask audit-key --rotate', or set AUDIT_KEY and AUDIT_KEY_ID.")
        raise AuditKeyError("No audit key: set AUDIT_KEY (and AUDIT_KEY_ID) or AUDIT_KEY_FILE.")
    return Keyring(current, keys)


def _stamp(config) -> tuple:
    path = _key_file(config)
    try:
        stat = path.stat() if path is not None else None
        mtime = (stat.st_mtime_ns, stat.st_size) if stat is not None else None
    except FileNotFoundError:
        mtime = None
    return (str(path), mtime, config.get("AUDIT_KEY"), config.get("AUDIT_KEY_ID"), config.get("AUDIT_KEY_CURRENT_ID"))


def keyring() -> Keyring:
    """The application's keyring, re-read when the settings or the key file change (a rotation by another
    process): one ``stat`` per call, no database statement."""
    config = current_app.config
    cached = current_app.extensions.get("audit_keyring")
    if cached is not None and cached[0] == _stamp(config):
        return cached[1]
    ring = load_keyring(config)
    current_app.extensions["audit_keyring"] = (_stamp(config), ring)
    return ring


def rotate_key_file(config) -> str:
    """Append a new key to the key file; it signs every event from now on. Returns its id."""
    path = _key_file(config)
    if path is None or config.get("AUDIT_KEY"):
        raise AuditKeyError("The current key comes from AUDIT_KEY: rotate it by moving the old key into "
                            "AUDIT_KEY_FILE and setting a new AUDIT_KEY and AUDIT_KEY_ID.")
    keys = parse_key_file(path.read_text()) if path.exists() else {}
    numbers = [int(k[1:]) for k in keys if re.fullmatch(r"k[0-9]+", k)]
    key_id = f"k{max(numbers, default=0) + 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    from app.files import write_whole

    # The file is written anew beside the old one and renamed over it: a line appended in place and cut by a full
    # disk left a half key the file's reader refuses, and with it every audit event and anchor. A missing file is
    # created readable by this user only (how a first key is provisioned); an existing one keeps its permissions.
    target = path.resolve()
    before = target.read_bytes() if target.exists() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    write_whole(target, before + _new_key_line(key_id).encode(),
                permissions=target.stat().st_mode & 0o777 if target.exists() else 0o600)
    return key_id
