"""``flask refresh-public``: rebuild the public portal's figures now (the background pass does it every tick)."""

from __future__ import annotations

import click
from flask import Flask

from app.extensions import db


def register_public_cli(app: Flask) -> None:
    @app.cli.command("refresh-public")
    def refresh_public() -> None:
        """Rebuild the public portal's per-school monthly figures from the decided acts and payments."""
        from app.public.figures import refresh_public_figures

        rows = refresh_public_figures()
        db.session.commit()
        click.echo(f"Public figures rebuilt: {rows} school-month row(s).")
