"""``flask store-signed-contracts``, ``flask export-signed-contracts``: the signed documents' bytes (migration 0030)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask


def register_contracts_cli(app: Flask) -> None:
    @app.cli.command("store-signed-contracts")
    def store_signed_contracts() -> None:
        """Store the signed bytes of every contract signed before they were kept (run it right after
        ``flask db upgrade`` to 0030, before any template changes): the layout giving the signatures' SHA-256 is
        stored; a contract no layout matches is flagged for the operator (and tried again on the next run). Exit 1
        while any is flagged or failed."""
        from app.contracts.documents import backfill_all

        counts = backfill_all()
        click.echo(f"Signed documents stored: {counts['stored']}; flagged, no layout gives the signed SHA-256: "
                   f"{counts['unmatched']}; failed: {counts['failed']}.")
        if counts["unmatched"] or counts["failed"]:
            raise SystemExit(1)

    @app.cli.command("export-signed-contracts")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    def export_signed_contracts(directory: Path) -> None:
        """Write every stored signed document as it is stored (``<contract number>.html``) and a ``SHA256SUMS`` of
        the digests its signatures record (``sha256sum -c SHA256SUMS`` checks the copies). Each file is written whole
        or not at all (app.files), SHA256SUMS last."""
        import re

        from sqlalchemy import select

        from app.contracts.models import Contract, ContractDocument
        from app.extensions import db
        from app.files import write_whole

        directory.mkdir(parents=True, exist_ok=True)
        sums = []
        for number, content, digest in db.session.execute(
                select(Contract.number, ContractDocument.content, ContractDocument.sha256)
                .join(Contract, Contract.id == ContractDocument.contract_id)
                .where(ContractDocument.state == "stored").order_by(Contract.id)):
            name = (re.sub(r"[^A-Za-z0-9._-]", "_", number)[:100] or "contract") + ".html"
            # each file whole or not at all (a full disk had left a document cut short and an empty SHA256SUMS),
            # the sums last: a failure names the file and the command exits 1 (app.cli)
            write_whole(directory / name, bytes(content))
            sums.append(f"{digest}  {name}\n")
        write_whole(directory / "SHA256SUMS", "".join(sums).encode("ascii"))
        click.echo(f"{len(sums)} signed document(s) written to {directory}.")
