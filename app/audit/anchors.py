"""Signed anchors: a checkpoint of every chain's head and event count, written outside the database.

A chain proves that nothing in it was changed, but not that its last events — or the whole chain — were not
deleted. An anchor does: each file names every chain with its event count, last seq and last hash, is signed
with the audit key (HMAC) and names the previous anchor's SHA-256, so anchors form a chain of their own.
``verify-audit`` compares the database with the latest anchor (or with anchors exported elsewhere).

Files go to ``AUDIT_ANCHOR_DIR`` (``instance/audit_anchors`` by default) as ``anchor-00000001.json``, created
exclusively and made read-only; point the setting at a write-once (WORM) mount in production. The
background pass writes one every ``AUDIT_ANCHOR_INTERVAL_SECONDS`` when events were added.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app import clock
from app.audit.keys import keyring
from app.audit.models import AuditEvent
from app.extensions import db

log = logging.getLogger(__name__)
FORMAT = "tapsyrys-audit-anchor/1"
_NAME = re.compile(r"^anchor-([0-9]{8})\.json$")


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def anchor_dir() -> Path:
    return Path(current_app.config["AUDIT_ANCHOR_DIR"])


class AnchorUnreadable(OSError):
    """An anchor file (or the anchors' folder) this process may not read — permission denied after a restore or a
    copy as another user, a mount gone. Unlike an empty or cut file it is not evidence of anything: what it holds is
    unknown, not damaged, and reading access brings it back as it was. So nothing goes on past it: the next anchor
    links to the newest file's exact bytes, and a link to bytes nobody could read would vouch for nothing — anchoring
    waits (every pass says why: one sentence naming the file, the process's user and what to do), and
    ``verify-audit`` names it and checks everything else. ``str()`` is that sentence."""

    def __init__(self, path: Path, err: OSError):
        import getpass

        try:
            user = f"user {getpass.getuser()}, uid {os.geteuid()}"
        except (KeyError, OSError):  # no name for this uid (a container's arbitrary user)
            user = f"uid {os.geteuid()}"
        what = "the audit anchor folder" if Path(path).is_dir() else "the audit anchor file"
        super().__init__(err.errno, f"{what} cannot be read by this process ({user}): {err.strerror or err}. Its "
                                    "content is not known to be damaged: give this user read access to it (chmod a+r, "
                                    "or chown it to the user the application runs as) and keep it as it is — each "
                                    "anchor links to the exact bytes of the one before it, so no anchor is written "
                                    "while the newest cannot be read; do not delete or replace it", str(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def anchor_bytes(path: Path) -> bytes:
    """An anchor file's bytes; :class:`AnchorUnreadable` when this process may not read them."""
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise AnchorUnreadable(path, err) from err


def anchor_files(directory: Path | None = None) -> list[tuple[int, Path]]:
    directory = directory or anchor_dir()
    if not directory.is_dir():
        return []
    try:
        names = os.listdir(directory)
    except OSError as err:
        raise AnchorUnreadable(directory, err) from err
    return sorted((int(m.group(1)), directory / name) for name in names if (m := _NAME.match(name)))


def chain_heads() -> tuple[dict[str, list], int]:
    """Every chain's [event count, last seq, last hash], and the highest event id — one statement."""
    per_chain = (select(AuditEvent.chain, func.count().label("n"), func.max(AuditEvent.seq).label("seq"),
                        func.max(AuditEvent.id).label("max_id"))
                 .group_by(AuditEvent.chain).subquery())
    rows = db.session.execute(
        select(per_chain.c.chain, per_chain.c.n, per_chain.c.seq, per_chain.c.max_id, AuditEvent.hash)
        .join(AuditEvent, (AuditEvent.chain == per_chain.c.chain) & (AuditEvent.seq == per_chain.c.seq)))
    heads, max_id = {}, 0
    for row in rows:
        heads[row.chain] = [row.n, row.seq, row.hash]
        max_id = max(max_id, row.max_id)
    return heads, max_id


def sign(body: dict, key_id: str | None = None) -> str:
    return keyring().sign(_canonical(body), key_id)


def create_anchor() -> Path | None:
    """Write the next anchor file; ``None`` if another process wrote that number first."""
    directory = anchor_dir()
    directory.mkdir(parents=True, exist_ok=True)
    files = anchor_files(directory)
    number = files[-1][0] + 1 if files else 1
    previous = hashlib.sha256(anchor_bytes(files[-1][1])).hexdigest() if files else None
    heads, max_id = chain_heads()
    ring = keyring()
    body = {"format": FORMAT, "number": number, "created_at": clock.now().isoformat(), "key_id": ring.current_id,
            "previous_sha256": previous, "events": sum(h[0] for h in heads.values()), "max_event_id": max_id,
            "chains": heads}
    document = {**body, "signature": sign(body, ring.current_id)}
    data = json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")
    path = directory / f"anchor-{number:08d}.json"
    if not _write_whole(path, data):
        return None
    return path


def _write_whole(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data``, whole or not at all; False when the file exists already (another process wrote
    that number first). An anchor file is never overwritten, here or on a write-once mount.

    A full disk (or a process killed mid-write) had left an empty or cut ``anchor-N.json``: every later pass failed
    on reading it ("not a readable anchor") — no anchor was written again even once the disk had room — and
    ``verify-audit`` reported it as a problem. The file is written under a temporary name first and linked to its
    own name only once complete (a link is an exclusive create); where the file system has no hard links, it is
    created exclusively and removed again if it could not be written whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # not an anchor's name: never read as one
    try:
        with temporary.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.chmod(0o444)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            return _create_exclusively(path, data)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _create_exclusively(path: Path, data: bytes) -> bool:
    try:
        fh = path.open("xb")
    except FileExistsError:
        return False
    try:
        with fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    path.chmod(0o444)
    return True


def read_anchor(path: Path) -> dict:
    """Parse an anchor file; ValueError with a readable reason when it is not one (an empty file and a cut one are
    named as such: what a full disk or a killed writer leaves); :class:`AnchorUnreadable` when this process may not
    read it (not evidence of damage: see there)."""
    try:
        text = anchor_bytes(path).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a readable anchor ({err})") from err
    if not text:
        raise ValueError(f"{path}: empty (0 bytes)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a readable anchor (cut or not JSON: {len(text.encode())} bytes, {err})") \
            from err
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(
            document.get("chains"), dict):
        raise ValueError(f"{path}: not a {FORMAT} document")
    return document


def anchor_if_due() -> Path | None:
    """The background pass's call: anchor when the interval has passed and events were added since.

    A failure raises: the background pass logs it, records the part as failed (``tapsyrys_background_pass_failed_parts``
    in the metrics) and goes on, and the next pass tries again — it was caught here, so anchors that could not be
    written (a folder that is not writable, a full disk) were only a log line, the tamper evidence off unseen. An
    anchor file this process may not read raises :class:`AnchorUnreadable`: the pass says so, and anchors again once
    it can read it."""
    files = anchor_files()
    try:
        latest = read_anchor(files[-1][1]) if files else None
    except ValueError as err:
        # An anchor file left empty or cut (by a version that wrote in place, or by hand): anchoring goes on — a
        # pass that stopped here had left every later event without an anchor until someone deleted the file. The
        # new anchor names the broken file's SHA-256 as its previous one, so the file is vouched for as it is now
        # and any later change to it shows; verify-audit reports it (see anchors_to_check).
        log.warning("audit anchor %s; writing the next anchor after it", err)
        latest = None
    if latest is not None:
        age = (clock.now() - datetime.fromisoformat(latest["created_at"])).total_seconds()
        # An anchor dated ahead (written while the clock ran ahead, put right since) is no reason to wait: its
        # negative age had kept anchoring off until that date came round, with nothing failing.
        if 0 <= age < current_app.config["AUDIT_ANCHOR_INTERVAL_SECONDS"]:
            return None
        if db.session.scalar(select(func.max(AuditEvent.id))) == latest.get("max_event_id"):
            return None
    return create_anchor()


def anchors_to_check(documents: list[dict] | None) -> tuple[list[dict], list, list[str]]:
    """The anchors ``verify-audit`` compares with — the given ones, or the newest readable one in
    ``AUDIT_ANCHOR_DIR`` (whose signature and link to the previous file are checked here) — with the problems and
    warnings found in the files.

    An empty or cut anchor file is never removed, renamed or repaired here (nor by the background pass): the file
    cannot tell a write cut by a full disk from a file emptied to hide what it vouched for, the anchor after it
    links to its exact bytes, and a file that disappears reads as "missing" — the evidence stays where it is, and
    the operator decides. As the newest file it is a problem (nothing vouches for what it held): the database is
    compared with the newest anchor that can be read, and the message says what to do. Once an anchor written after
    it links to it as it is, it was broken before that anchor was written: a warning, no longer a problem."""
    from app.audit.operations import ChainProblem

    problems: list[ChainProblem] = []
    warnings: list[str] = []
    if documents is None:
        try:
            files = anchor_files()
        except AnchorUnreadable as err:  # the chains are still checked; the anchors are not
            return [], [ChainProblem("", 0, f"anchor: {err}; no anchor was checked")], []
        if not files:
            return [], [], []
        index = len(files) - 1
        while index >= 0:
            try:
                documents = [read_anchor(files[index][1])]
                break
            except AnchorUnreadable as err:  # not evidence of a cut: the database is compared with an older anchor
                problems.append(ChainProblem("", 0, f"anchor: {err}. The database is compared with the newest anchor "
                                                    "that can be read."))
                index -= 1
            except ValueError as err:
                problems.append(ChainProblem("", 0, f"anchor: {err} — it vouches for nothing, and no anchor after "
                                                    "it vouches for it: it was cut while being written (a full disk, "
                                                    "a killed process) or changed since. Keep the file as it is; "
                                                    "once you know which, run 'flask audit-anchor' (the background "
                                                    "pass also does when due): the new anchor links to it as it is, "
                                                    "and this becomes a warning."))
                index -= 1
        if documents is None:
            return [], problems, warnings
        previous = documents[0].get("previous_sha256")
        numbers = [n for n, _ in files]
        if numbers != list(range(1, numbers[-1] + 1)):
            missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
            problems.append(ChainProblem("", 0, f"anchor file(s) missing: {missing}"))
        if index > 0:
            before = files[index - 1][1]
            try:
                before_sha256 = hashlib.sha256(anchor_bytes(before)).hexdigest()
            except AnchorUnreadable as err:
                problems.append(ChainProblem("", 0, f"anchor {files[index][0]}: its link to the anchor before it is "
                                                    f"not checked: {err}"))
            else:
                _check_link(files[index][0], previous, before, before_sha256, problems, warnings)
    valid = []
    for document in documents:
        body = {k: v for k, v in document.items() if k != "signature"}
        keys = keyring().keys
        key_id = document.get("key_id")
        if not isinstance(key_id, str) or key_id not in keys:
            problems.append(ChainProblem("", 0, f"anchor {document.get('number')}: unknown audit key id {key_id!r}"))
        elif not hmac.compare_digest(str(document.get("signature")), sign(body, key_id)):
            problems.append(ChainProblem("", 0, f"anchor {document.get('number')}: signature does not verify"))
        else:
            valid.append(document)
    return valid, problems, warnings


def _check_link(number: int, previous: str | None, before: Path, before_sha256: str, problems: list,
                warnings: list[str]) -> None:
    """Anchor ``number`` names the SHA-256 of the file before it (``previous``); that file is ``before``."""
    from app.audit.operations import ChainProblem

    if previous != before_sha256:
        problems.append(ChainProblem("", 0, f"anchor {number}: the previous anchor file was changed"))
        return
    try:
        read_anchor(before)
    except ValueError as err:
        warnings.append(f"anchor: {err}; anchor {number}, written after it, links to it as it is: it was already "
                        "broken then (a full disk or a killed process while it was written). It checks nothing; keep "
                        "it (removing it breaks the link).")


def compare_with_anchor(anchor: dict, last_seq: dict[str, int], seen_hashes: dict[tuple[str, int], str]) -> list:
    """What the database lost or changed since ``anchor``: deleted chains, deleted last events, rewritten heads."""
    from app.audit.operations import ChainProblem

    number = anchor.get("number")
    problems = []
    for chain, (count, seq, head) in sorted(anchor["chains"].items()):
        if chain not in last_seq:
            problems.append(ChainProblem(chain, seq, f"chain deleted: anchor {number} vouched for {count} event(s)"))
        elif last_seq[chain] < seq:
            problems.append(ChainProblem(chain, seq, f"truncated: anchor {number} vouched for events up to "
                                                     f"#{seq}, the database ends at #{last_seq[chain]}"))
        elif seen_hashes.get((chain, seq)) != head:
            problems.append(ChainProblem(chain, seq, f"event differs from anchor {number} (rewritten)"))
    return problems
