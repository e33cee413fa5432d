"""An import whose worker died after it had written NEDB's correction, but before it verified again the open acts
the correction concerns, is resumed by another worker: that run reads the file again and finds every row already
stored — nothing changed, so it named no act to verify again. The act verified on the registry's old word stayed
acceptable at the old amount (a withdrawn pupil paid, the claw-back only on a later act). The acts each committed
batch concerned are kept with the job, and the resumed run verifies them again."""

from __future__ import annotations

from datetime import timedelta

from app import clock, jobs
from app.acts.models import Act
from app.extensions import db
from app.registry.models import RegistryImport
from tests.money.test_adjustments import _enrolment
from tests.money.test_import_reverifies import BASIC, _nedb_row, _verified_bilim


def test_a_resumed_import_verifies_again_the_acts_its_first_run_changed(world, tmp_path, monkeypatch):
    import csv

    from app.registry import operations as registry_operations
    from app.reports import operations as report_operations

    act = _verified_bilim()
    before, seen = act.amount_tiyn, act.lock_version
    pupil = next(ln for ln in act.lines if ln.grade == 9)
    path = tmp_path / "withdrawn.csv"
    row = _nedb_row(_enrolment(pupil.iin), withdrawn_on=act.period)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    job = registry_operations.create_import("nedb", path.name, source=path)
    db.session.commit()
    job_id = job.id

    real = report_operations.reverify_after_import

    def worker_dies(*_args, **_kwargs):
        raise jobs.LeaseLost("the worker died")

    monkeypatch.setattr(report_operations, "reverify_after_import", worker_dies)
    try:
        registry_operations.run_import(job_id)
    except jobs.LeaseLost:
        pass
    monkeypatch.setattr(report_operations, "reverify_after_import", real)
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert (act.status, act.amount_tiyn, act.lock_version) == ("verified", before, seen), "the batch was written"

    job = db.session.get(RegistryImport, job_id)
    job.lease_expires_at = clock.now() - timedelta(seconds=1)  # its lease ran out: another worker resumes it
    db.session.commit()
    registry_operations.run_import(job_id)
    db.session.expire_all()
    assert db.session.get(RegistryImport, job_id).status == "done"
    act = db.session.get(Act, act.id)
    assert act.status == "verified" and act.lock_version != seen
    assert act.amount_tiyn == before - BASIC, "verified again on the corrected registry before its acceptance"
