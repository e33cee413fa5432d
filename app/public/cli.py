"""``flask refresh-public``: rebuild the public portal's caches now (the background pass rebuilds what changed)."""

from __future__ import annotations

import click
from flask import Flask


def register_public_cli(app: Flask) -> None:
    @app.cli.command("refresh-public")
    def refresh_public() -> None:
        """Rebuild the public portal's figures, country-wide downloads and OCDS releases and records (or, while a
        rebuild is running, have it rebuild everything once more when it ends)."""
        from app.public.rebuild import rebuild_public

        outcome = rebuild_public(full=True)
        if outcome.deferred:
            click.echo(f"A rebuild is already running (by {outcome.running_by}, since {outcome.running_since}): it "
                       "rebuilds everything once more when it ends.")
            return
        click.echo(f"Public figures rebuilt: {outcome.figure_rows} school-month row(s), {outcome.orders} "
                   f"contracting process(es), {outcome.downloads} download(s).")
