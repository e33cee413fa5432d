"""flask export-model / import-model round trip."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.extensions import db


def test_export_then_import_from_the_shell(trial_v1, app, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "trial.zip"
    result = runner.invoke(args=["export-model", "trial", "--out", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0, result.output
    result = runner.invoke(args=["import-model", str(out)])
    assert result.exit_code == 0 and "draft v2, 0 problem(s)" in result.output, result.output
    db.session.expire_all()
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert draft.files == trial_v1.files
    assert runner.invoke(args=["export-model", "nope"]).exit_code != 0
