"""Audit operator commands: ``audit-anchor``, ``audit-export-anchor``, ``audit-key`` (``verify-audit`` is in
``app/cli.py``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from app.extensions import db


def register_audit_cli(app: Flask) -> None:
    @app.cli.command("audit-anchor")
    def audit_anchor() -> None:
        """Write a signed anchor of every chain head to AUDIT_ANCHOR_DIR now."""
        from app.audit.anchors import create_anchor, read_anchor
        from app.audit.keys import AuditKeyError

        try:
            path = create_anchor()
        except AuditKeyError as err:
            click.echo(str(err), err=True)
            raise SystemExit(2) from err
        if path is None:
            click.echo("Another process wrote this anchor at the same moment; nothing written.", err=True)
            raise SystemExit(1)
        anchor = read_anchor(path)
        click.echo(f"Anchor {anchor['number']}: {len(anchor['chains'])} chain(s), {anchor['events']} event(s), "
                   f"key {anchor['key_id']} → {path}")

    @app.cli.command("audit-export-anchor")
    @click.option("--number", type=int, help="Anchor number (default: the latest)")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file instead of standard output")
    def audit_export_anchor(number: int | None, output: Path | None) -> None:
        """Copy an anchor out (to keep it elsewhere); check it later with 'verify-audit --anchor FILE'."""
        from app.audit.anchors import anchor_bytes, anchor_files

        files = dict(anchor_files())
        if not files:
            click.echo("No anchor yet: run 'flask audit-anchor' first.", err=True)
            raise SystemExit(1)
        number = number or max(files)
        if number not in files:
            click.echo(f"No anchor {number}; there are {min(files)}–{max(files)}.", err=True)
            raise SystemExit(1)
        data = anchor_bytes(files[number])
        if output is None:
            click.echo(data.decode("utf-8"))
        else:
            from app.files import write_whole

            write_whole(output, data)  # whole or not at all: a cut copy would pass for the anchor
            click.echo(f"Anchor {number} → {output}")

    @app.cli.command("audit-key")
    @click.option("--rotate", is_flag=True, help="Append a new key to AUDIT_KEY_FILE; it signs new events")
    def audit_key(rotate: bool) -> None:
        """Which audit keys exist (ids only, never secrets) and how many events each signed."""
        from app.audit.keys import AuditKeyError, keyring, rotate_key_file
        from app.audit.models import AuditEvent

        if rotate:
            try:
                new_id = rotate_key_file(current_app.config)
            except AuditKeyError as err:
                click.echo(str(err), err=True)
                raise SystemExit(1) from err
            click.echo(f"New audit key {new_id} appended to {current_app.config['AUDIT_KEY_FILE']}; "
                       "keep the older lines: events they signed still verify with them.")
        try:
            ring = keyring()
        except AuditKeyError as err:
            click.echo(f"{err} ('flask audit-key --rotate' creates AUDIT_KEY_FILE with a first key.)", err=True)
            raise SystemExit(2) from err
        counts = dict(db.session.execute(select(AuditEvent.key_id, func.count()).group_by(AuditEvent.key_id)).all())
        click.echo(f"current key: {ring.current_id}")
        for key_id in sorted(set(ring.keys) | set(counts)):
            state = "available" if key_id in ring.keys else (
                "plain SHA-256, no key" if key_id == "sha256-legacy" else "MISSING — events cannot be verified")
            click.echo(f"  {key_id:<16} {counts.get(key_id, 0):>9} event(s)  {state}")
