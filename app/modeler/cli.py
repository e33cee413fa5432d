"""Modeler commands: import / export a model folder zip, and a migration dry run from the shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from app.extensions import db


def register_modeler_cli(app: Flask) -> None:
    @app.cli.command("import-model")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def import_model(archive: Path) -> None:
        """Import a SpiffArena-style model folder zip as a draft (publish it in the modeler)."""
        from app.modeler.operations import ImportRefused, import_zip

        try:
            draft, problems = import_zip(archive.read_bytes()[: 5 * 1024 * 1024 + 1])
        except ImportRefused as err:
            db.session.rollback()
            raise click.ClickException(str(err)) from err
        db.session.commit()
        click.echo(f"{draft.process_model.identifier}: draft v{draft.number}, {len(problems)} problem(s)")
        for problem in problems:
            click.echo(f"  ✗ {problem}", err=True)

    @app.cli.command("export-model")
    @click.argument("identifier")
    @click.option("--version", "number", type=int, help="Version number (default: latest published)")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Zip file to write")
    def export_model(identifier: str, number: int | None, out: Path | None) -> None:
        """Export a model version as a zip (BPMN, DMN, forms, process_model.json)."""
        from app.engine.models import ProcessModel, ProcessModelVersion
        from app.engine.runtime import latest_published_version
        from app.modeler.operations import export_zip

        try:
            version = latest_published_version(identifier) if number is None else db.session.scalars(
                select(ProcessModelVersion).join(ProcessModel).where(
                    ProcessModel.identifier == identifier, ProcessModelVersion.number == number)).one()
        except Exception as err:
            raise click.ClickException(f"No such model version: {identifier} {number or ''}") from err
        out = out or Path(f"{identifier}-v{version.number}.zip")
        out.write_bytes(export_zip(version))
        click.echo(f"wrote {out}")
