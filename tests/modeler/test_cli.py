"""flask export-model / import-model round trip."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.extensions import db
from tests.helpers import disk_fills_up


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


def test_an_export_cut_by_a_full_disk_leaves_no_file_that_passes_for_one(trial_v1, app, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "trial.zip"
    disk_fills_up(folder, monkeypatch)
    result = runner.invoke(args=["export-model", "trial", "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{out}: not written (No space left on device); no part of it was left" in result.output
    assert list(folder.iterdir()) == [], "no cut zip, no temporary file"

    out.write_bytes(b"last week's export")
    result = runner.invoke(args=["export-model", "trial", "--out", str(out)])
    assert result.exit_code == 1 and "the file there before is unchanged" in result.output
    assert out.read_bytes() == b"last week's export" and list(folder.iterdir()) == [out]
