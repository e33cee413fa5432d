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
    @click.option("--lane-role", default=None,
                  help='Role that performs user tasks without a lane ("starter": whoever starts the instance)')
    @click.option("--identifier", default=None, help="Our identifier for a new model (default: from the process id)")
    def import_model(archive: Path, lane_role: str | None, identifier: str | None) -> None:
        """Import a model folder zip or a .bpmn diagram from any BPMN tool as a draft (publish it in the modeler)."""
        import logging

        from app.engine.publishing import ModelChangeRefused
        from app.modeler.operations import import_zip

        data = archive.read_bytes()
        if len(data) > 5 * 1024 * 1024:
            raise click.ClickException(f"{archive.name}: the file is too large (at most 5 MB)")
        try:
            draft, problems = import_zip(data, filename=archive.name, lane_role=lane_role, identifier=identifier)
            db.session.commit()
        except ModelChangeRefused as err:
            db.session.rollback()
            raise click.ClickException(str(err)) from err
        except Exception as err:  # noqa: BLE001 - a command ends in a sentence, never a traceback
            db.session.rollback()
            logging.getLogger(__name__).warning("import-model %s failed: %r", archive, err)
            raise click.ClickException(f"{archive.name}: the import failed ({type(err).__name__}: {err})") from err
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
        from app.files import write_whole

        write_whole(out, export_zip(version))  # whole or not at all: a cut zip would pass for the export
        click.echo(f"wrote {out}")
