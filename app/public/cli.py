"""``flask refresh-public``: rebuild the public portal's caches now (the background pass rebuilds what changed)."""

from __future__ import annotations

import click
from flask import Flask

from app.extensions import db


def register_public_cli(app: Flask) -> None:
    @app.cli.command("refresh-public")
    def refresh_public() -> None:
        """Rebuild the public portal's figures, country-wide downloads and OCDS releases and records."""
        from app.public.cache import refresh_public

        outcome = refresh_public(full=True)
        db.session.commit()
        click.echo(f"Public figures rebuilt: {outcome.figure_rows} school-month row(s), {outcome.orders} "
                   f"contracting process(es), {outcome.downloads} download(s).")
