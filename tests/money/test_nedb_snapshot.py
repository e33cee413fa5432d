"""NEDB deletes rows and merges IINs; an import that only adds or updates rows never saw either. A phantom pupil NEDB
deleted as an error stayed in nedb_enrollment for ever — paid every month, never clawed back — and after NEDB merged
two IINs of one child, the line under the retired IIN stayed paid beside the survivor's.

Now a file imported as the complete register of its schools (``--snapshot``) takes out their rows it does not list —
in one transaction at the end, each kept with the import as evidence — the open acts are verified again and a month
already paid is clawed back on the next act; a file cut short is refused before a row is written; a preview changes
nothing; a run stopped at any point takes out nothing. A merge list makes the retired IIN's lines the surviving
child's."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.audit.models import AuditEvent
from app.engine.runtime import complete_task
from app.extensions import db
from app.registry.models import NedbEnrollment, RegistryImport
from tests.helpers import act_of_school, open_task, school, user
from tests.money.test_adjustments import BILIM, NORMS, NOVEMBER, OCTOBER, _submit, _submit_accept_pay

NUR = "Nur Private School"


def _row(e: NedbEnrollment, **changes) -> dict:
    row = {"iin": e.iin, "full_name": e.full_name, "school_bin": e.school_bin, "school_kind": e.school_kind,
           "grade": e.grade, "enrolled_on": e.enrolled_on.isoformat(),
           "withdrawn_on": e.withdrawn_on.isoformat() if e.withdrawn_on else ""}
    return row | changes


def _write(path, rows: list[dict]):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _roll(name: str) -> list[NedbEnrollment]:
    return list(db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.school_bin == school(name).bin)
                                   .order_by(NedbEnrollment.id)))


def _last_import() -> RegistryImport:
    db.session.expire_all()
    return db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc())).first()


def _import(app, path, *options: str) -> RegistryImport:
    """``flask import-nedb FILE --snapshot``: the file is the complete register of the schools it lists."""
    result = app.test_cli_runner().invoke(args=["import-nedb", str(path), "--snapshot", *options])
    assert result.exit_code == 0, result.output
    return _last_import()


def _removals() -> list:
    from app.registry.models import NedbRemoval

    return list(db.session.scalars(select(NedbRemoval).order_by(NedbRemoval.id)))


def _nedb_count() -> int:
    return db.session.scalar(select(func.count(NedbEnrollment.id)))


def test_a_phantom_taken_out_by_a_complete_register_stops_being_paid_and_its_paid_month_is_clawed_back(world, app_ctx,
                                                                                                        tmp_path):
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-S")
    phantom_line = next(ln for ln in october.lines if ln.outcome == "accepted" and ln.grade == 9)
    november = _submit(NOVEMBER)
    assert november.status == "verified"
    assert next(ln for ln in november.lines if ln.iin == phantom_line.iin).outcome == "accepted"
    seen = november.lock_version

    # NEDB deleted the pupil's row as an error; its file of Bilim lists every other pupil.
    roll = _roll(BILIM)
    phantom = next(e for e in roll if e.iin == phantom_line.iin)
    was = (phantom.iin, phantom.school_bin, phantom.enrolled_on, phantom.id)
    job = _import(app_ctx, _write(tmp_path / "bilim.csv", [_row(e) for e in roll if e.id != phantom.id]))
    assert job.status == "done", job.message

    assert db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == phantom_line.iin)).all() == []
    (kept,) = _removals()
    assert kept.import_id == job.id
    assert (kept.reason, kept.iin, kept.school_bin, kept.enrolled_on, kept.enrollment_id) == ("snapshot", *was)
    assert job.checkpoint["snapshot_applied"]["removed"] == 1
    applied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.snapshot_applied",
                                                          AuditEvent.object_id == job.id)).one()
    assert applied.details["removed"] == 1 and applied.details["by_school"] == {school(BILIM).bin: 1}

    # The open November act was verified again: the phantom is not paid, and October's payment for it is clawed back.
    november = db.session.get(Act, november.id)
    assert november.lock_version != seen and november.status == "verified"
    line = next(ln for ln in november.lines if ln.iin == phantom_line.iin)
    assert (line.outcome, line.rule_code, line.amount_tiyn) == ("excluded", "not_in_nedb", 0)
    (claw_back,) = november.adjustments
    norm = NORMS["basic"]
    assert (claw_back.iin, claw_back.period, claw_back.original_act_id, claw_back.rule_code, claw_back.amount_tiyn) == (
        phantom_line.iin, OCTOBER, october.id, "not_in_nedb", -norm)
    assert november.amount_tiyn == sum(ln.amount_tiyn for ln in november.lines) - norm
    # the paid act is never edited
    paid = db.session.get(ActLine, phantom_line.id)
    assert (paid.outcome, paid.amount_tiyn) == ("accepted", norm)


def test_a_file_cut_short_is_refused_before_a_row_is_written_and_a_preview_changes_nothing(world, app_ctx, tmp_path,
                                                                                           browser):
    roll = _roll(BILIM)
    before = _nedb_count()
    # the first ten pupils only, one of them with a corrected name: nothing of it may land
    cut = [_row(e) for e in roll[:10]]
    cut[0]["full_name"] = "Corrected Name"
    path = _write(tmp_path / "cut.csv", cut)

    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["import-nedb", str(path), "--snapshot"])
    assert result.exit_code == 1
    assert "would take out more than the allowed share" in result.output and school(BILIM).bin in result.output
    db.session.expire_all()
    assert _nedb_count() == before and _removals() == []
    assert db.session.get(NedbEnrollment, roll[0].id).full_name != "Corrected Name", "nothing was written"
    job = _last_import()
    assert (job.status, job.message.partition(":")[0]) == ("failed", "snapshot_refused")
    assert job.checkpoint["snapshot"]["over_share"] == [school(BILIM).bin]

    # A preview lists, row by row, what would go — and changes nothing.
    preview = runner.invoke(args=["import-nedb", str(path), "--snapshot", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert f"{len(roll) - 10} row(s) of 1 school(s) would be taken out" in preview.output
    assert roll[20].full_name in preview.output
    db.session.expire_all()
    assert _nedb_count() == before and db.session.get(NedbEnrollment, roll[0].id).full_name != "Corrected Name"

    # The operator's page says so in their language (the preview's rows listed, the IINs as the role may see them).
    page = browser("operator").get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert 'id="snapshot-refused"' in page and school(BILIM).bin in page

    # Confirmed, the same file takes out what it does not list.
    confirmed = runner.invoke(args=["import-nedb", str(path), "--snapshot", "--confirm-removals"])
    assert confirmed.exit_code == 0, confirmed.output
    db.session.expire_all()
    assert _nedb_count() == before - (len(roll) - 10)
    assert db.session.get(NedbEnrollment, roll[0].id).full_name == "Corrected Name"


def test_a_school_with_a_rejected_row_keeps_its_rows(world, app_ctx, tmp_path):
    roll = _roll(BILIM)
    rows = [_row(e) for e in roll[1:]]
    rows[0]["enrolled_on"] = "not a date"  # the file's row of this pupil cannot be read
    job = _import(app_ctx, _write(tmp_path / "rejected.csv", rows))
    assert job.status == "done"
    assert db.session.get(NedbEnrollment, roll[0].id) is not None
    assert job.checkpoint["snapshot_applied"]["removed"] == 0 and job.checkpoint["snapshot"]["held_rows"] == 2


def _phantom_file(tmp_path, phantoms: int = 3) -> tuple[list[int], object]:
    """Bilim's register without its first ``phantoms`` rows; their ids."""
    roll = _roll(BILIM)
    return [e.id for e in roll[:phantoms]], _write(tmp_path / "phantoms.csv", [_row(e) for e in roll[phantoms:]])


def test_a_snapshot_stopped_before_its_end_takes_out_nothing(world, app_ctx, tmp_path, monkeypatch):
    from app.registry import importers
    from app.registry.operations import create_import, run_import

    phantoms, path = _phantom_file(tmp_path)
    monkeypatch.setattr(importers, "BATCH", 5)
    job = create_import("nedb", path.name, source=path, options={"snapshot": True})  # as --snapshot does
    db.session.commit()
    calls = {"n": 0}

    def stop() -> bool:  # Ctrl-C once the file's rows began to land
        calls["n"] += 1
        return calls["n"] > 2

    assert run_import(job.id, stop_requested=stop) is None
    db.session.expire_all()
    assert db.session.get(RegistryImport, job.id).status == "stopped"
    assert all(db.session.get(NedbEnrollment, i) is not None for i in phantoms)
    assert _removals() == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_a_snapshot_interrupted_inside_its_removals_takes_out_nothing_and_runs_whole_again(
        world, app_ctx, tmp_path, monkeypatch, interruption):
    """Ctrl-C twice (or a failure) while the rows are being taken out, chunk by chunk: the one transaction is rolled
    back whole — no row half taken out, none kept as removed — and the file imported again takes them all out."""
    from app.registry import snapshot

    phantoms, path = _phantom_file(tmp_path)
    monkeypatch.setattr(snapshot, "REMOVE_CHUNK", 1)
    real_delete, calls = snapshot.delete, {"n": 0}

    def delete_then_interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise interruption("interrupted in the middle of the removals")
        return real_delete(*args, **kwargs)

    monkeypatch.setattr(snapshot, "delete", delete_then_interrupted)
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["import-nedb", str(path), "--snapshot"])
    assert calls["n"] == 2 and result.exit_code in (1, 130), result.output
    assert "No row was taken out" in result.output
    db.session.expire_all()
    assert all(db.session.get(NedbEnrollment, i) is not None for i in phantoms)
    assert _removals() == []
    job = _last_import()
    assert job.status in ("stopped", "failed") and "snapshot_applied" not in (job.checkpoint or {})

    monkeypatch.setattr(snapshot, "delete", real_delete)
    again = runner.invoke(args=["import-nedb", str(path), "--snapshot"])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert all(db.session.get(NedbEnrollment, i) is None for i in phantoms)
    assert len(_removals()) == len(phantoms)


def _merge(app, tmp_path, retired: str, surviving: str) -> RegistryImport:
    """``flask import-nedb-merges FILE``: NEDB's merge list."""
    path = _write(tmp_path / "merges.csv", [{"retired_iin": retired, "surviving_iin": surviving}])
    result = app.test_cli_runner().invoke(args=["import-nedb-merges", str(path)])
    assert result.exit_code == 0, result.output
    return _last_import()


def _second_iin(taken: set[str]) -> str:
    from app.registry.identifiers import is_valid_iin

    for n in range(100000):
        candidate = f"1503156{n:05d}"
        if is_valid_iin(candidate) and candidate not in taken:
            return candidate
    raise AssertionError


def test_a_merge_makes_two_lines_of_one_child_a_duplicate_in_one_act_and_a_double_enrolment_across_schools(
        world, app_ctx, tmp_path):
    roll = _roll(BILIM)
    child = next(e for e in roll if e.grade == 3 and e.withdrawn_on is None)
    taken = set(db.session.scalars(select(NedbEnrollment.iin)))
    # NEDB gave the child a second IIN at Bilim (the same enrolment) and a third at Nur, on the same days
    twin, other = _second_iin(taken), _second_iin(taken | {_second_iin(taken)})
    db.session.add(NedbEnrollment(iin=twin, full_name=child.full_name, school_bin=child.school_bin,
                                  school_kind="private", grade=child.grade, enrolled_on=child.enrolled_on))
    db.session.add(NedbEnrollment(iin=other, full_name=child.full_name, school_bin=school(NUR).bin,
                                  school_kind="private", grade=child.grade, enrolled_on=child.enrolled_on))
    db.session.commit()
    bilim = act_of_school(BILIM)
    complete_task(open_task(bilim, "submit_act").id, user("accountant"), data={"lines": prefill_lines(bilim)})
    db.session.commit()
    nur = act_of_school(NUR)
    complete_task(open_task(nur, "submit_act").id, user("accountant2"), data={"lines": prefill_lines(nur)})
    db.session.commit()
    db.session.expire_all()

    def outcome(act_id: int, iin: str) -> list[tuple]:
        return [(ln.outcome, ln.rule_code) for ln in db.session.scalars(
            select(ActLine).where(ActLine.act_id == act_id, ActLine.iin == iin).order_by(ActLine.line_no))]

    # Three IINs, three children to the registry: each line paid.
    assert outcome(bilim.id, child.iin) == outcome(bilim.id, twin) == [("accepted", None)]
    assert outcome(nur.id, other) == [("accepted", None)]

    # NEDB's merge list: both extra IINs are the child's.
    first = _merge(app_ctx, tmp_path, twin, child.iin)
    assert first.status == "done", first.message
    second = _merge(app_ctx, tmp_path, other, child.iin)
    assert second.status == "done", second.message
    assert db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin.in_([twin, other]))).all() == []
    assert {(r.iin, r.surviving_iin) for r in _removals()} == {
        (twin, child.iin), (other, child.iin)}
    assert second.checkpoint["merges_applied"]["moved_rows"] == 1

    # The open acts were verified again: the child is one child, at two schools on the same days.
    lines = sorted(outcome(bilim.id, child.iin) + outcome(bilim.id, twin))
    assert lines == [("excluded", "double_enrolment"), ("excluded", "duplicate_line")]
    assert outcome(nur.id, other) == [("excluded", "double_enrolment")]
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.merges_applied")).all()
    from app.registry.models import NedbIinMerge

    assert dict(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)).all()) == {
        twin: child.iin, other: child.iin}


def test_the_operator_previews_a_complete_register_on_the_upload_page_and_bad_choices_change_nothing(
        world, tmp_path, browser):
    import io

    roll = _roll(BILIM)
    body = _write(tmp_path / "page.csv", [_row(e) for e in roll[2:]]).read_bytes()
    op = browser("operator")
    before = _nedb_count()

    def upload(**fields):
        return op.post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(body), "bilim.csv"), **fields},
                       content_type="multipart/form-data")

    # Not a BIN among the schools, or a complete register of another registry: said, nothing imported.
    assert upload(snapshot="1", schools="123456789012").status_code == 303
    assert "These are not BINs" in op.get("/registry").get_data(as_text=True)
    response = op.post("/registry/imports", {"kind": "licences", "snapshot": "1",
                                             "file": (io.BytesIO(b"number,bin\n"), "l.csv")},
                       content_type="multipart/form-data")
    assert response.status_code == 303
    assert "Only an NEDB students file" in op.get("/registry").get_data(as_text=True)
    assert db.session.scalar(select(func.count(RegistryImport.id))) == 0

    # The preview lists the two rows the file does not list, and changes nothing.
    response = upload(snapshot="1", dry_run="1")
    page = op.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="snapshot-preview"' in page and "2 rows would be taken out" in page
    assert roll[0].full_name in page and roll[1].full_name in page and roll[2].full_name not in page
    assert _nedb_count() == before and _removals() == []

    # Uploaded for real: they are taken out, and the page says so.
    response = upload(snapshot="1")
    page = op.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="snapshot-applied"' in page and "2 rows the file does not list were taken out" in page
    assert _nedb_count() == before - 2 and len(_removals()) == 2


def test_a_snapshot_resumed_after_its_removals_were_committed_takes_out_nothing_twice_and_verifies_the_act(
        world, tmp_path, monkeypatch):
    """The worker died right after the removals' transaction, before the open act was verified again: the resumed run
    reads the file again, takes out nothing more (a row NEDB added meanwhile at the school is not its business) and
    verifies the act the removals concerned."""
    from datetime import timedelta

    from app import clock, jobs
    from app.registry import operations as registry_operations
    from app.reports import operations as report_operations
    from tests.money.test_import_reverifies import _verified_bilim

    act = _verified_bilim()
    seen = act.lock_version
    phantom_line = next(ln for ln in act.lines if ln.outcome == "accepted")
    roll = _roll(BILIM)
    path = _write(tmp_path / "bilim.csv", [_row(e) for e in roll if e.iin != phantom_line.iin])
    job = registry_operations.create_import("nedb", path.name, source=path, options={"snapshot": True})
    db.session.commit()
    job_id = job.id
    real = report_operations.reverify_after_import

    def worker_dies(*_args, **_kwargs):
        raise jobs.LeaseLost("the worker died")

    monkeypatch.setattr(report_operations, "reverify_after_import", worker_dies)
    with pytest.raises(jobs.LeaseLost):
        registry_operations.run_import(job_id)
    monkeypatch.setattr(report_operations, "reverify_after_import", real)
    assert len(_removals()) == 1
    assert db.session.get(Act, act.id).lock_version == seen

    job = db.session.get(RegistryImport, job_id)
    job.lease_expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    registry_operations.run_import(job_id)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job_id)
    assert job.status == "done" and job.checkpoint["snapshot_applied"]["removed"] == 1
    assert len(_removals()) == 1
    act = db.session.get(Act, act.id)
    line = next(ln for ln in act.lines if ln.id == phantom_line.id)
    assert act.lock_version != seen and (line.outcome, line.rule_code) == ("excluded", "not_in_nedb")


def test_a_line_of_a_retired_iin_is_topped_up_as_the_surviving_child_once_and_never_beside_its_paid_line(
        world, app_ctx, tmp_path):
    from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR

    roll = [e for e in _roll(BILIM) if e.withdrawn_on is None and e.enrolled_on < OCTOBER]
    paid_child, lost_child = roll[0], roll[1]
    taken = set(db.session.scalars(select(NedbEnrollment.iin)))
    twin = _second_iin(taken)
    lost_twin = _second_iin(taken | {twin})
    october = act_of_school(BILIM)
    lines = prefill_lines(october)
    # The school listed one child twice (under an IIN NEDB did not know yet), and another only under such an IIN.
    copy = next(dict(ln) for ln in lines if ln["iin"] == paid_child.iin)
    lost = next(ln for ln in lines if ln["iin"] == lost_child.iin)
    lost["iin"] = lost_twin
    lines.append(copy | {"iin": twin})
    complete_task(open_task(october, "submit_act").id, user("accountant"), data={"lines": lines})
    db.session.commit()
    complete_task(open_task(october, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    from app import clock

    complete_task(open_task(october, "pay_act").id, user("operator"),
                  data={"order_number": "PP-OCT-M", "paid_on": clock.today().isoformat()})
    db.session.commit()
    db.session.expire_all()
    october = db.session.get(Act, october.id)
    by_iin = {ln.iin: ln for ln in october.lines}
    assert (by_iin[paid_child.iin].outcome, by_iin[twin].rule_code, by_iin[lost_twin].rule_code) == (
        "accepted", "not_in_nedb", "not_in_nedb")

    # NEDB's merge list: both unknown IINs were the children's second IINs.
    path = _write(tmp_path / "merges.csv", [{"retired_iin": twin, "surviving_iin": paid_child.iin},
                                            {"retired_iin": lost_twin, "surviving_iin": lost_child.iin}])
    result = app_ctx.test_cli_runner().invoke(args=["import-nedb-merges", str(path)])
    assert result.exit_code == 0, result.output
    assert _last_import().status == "done"

    november = _submit(NOVEMBER)
    top_ups = {(a.iin, a.period, a.rule_code) for a in november.adjustments if a.amount_tiyn > 0}
    # The child paid under the surviving IIN is paid once: the copy under the retired IIN gets nothing …
    assert not any(iin == twin for iin, _, _ in top_ups)
    # … and the child listed only under the retired IIN was at the school: the month is topped up.
    assert (lost_twin, OCTOBER, REGISTRY_CORRECTED_IN_FAVOUR) in top_ups


def test_the_lookup_shows_an_iins_merge_and_its_rows_a_complete_register_took_out_with_the_import_as_evidence(
        world, app_ctx, tmp_path, browser):
    roll = _roll(BILIM)
    gone, child = roll[0], next(e for e in roll[1:] if e.withdrawn_on is None)
    gone.full_name = "<b>Phantom</b>"
    taken = set(db.session.scalars(select(NedbEnrollment.iin)))
    twin = _second_iin(taken)
    db.session.add(NedbEnrollment(iin=twin, full_name=child.full_name, school_bin=school(NUR).bin,
                                  school_kind="private", grade=child.grade, enrolled_on=child.enrolled_on))
    db.session.commit()
    rows = [_row(e) for e in roll if e.id != gone.id]
    gone_iin, child_iin = gone.iin, child.iin
    snapshot = _import(app_ctx, _write(tmp_path / "bilim.csv", rows))
    merge = _merge(app_ctx, tmp_path, twin, child_iin)
    assert (snapshot.status, merge.status) == ("done", "done")
    op = browser("operator")

    page = op.get(f"/registry/lookup?q={gone_iin}").get_data(as_text=True)
    assert 'id="lookup-removed"' in page and f"not listed in the complete register of import #{snapshot.id}" in page
    assert "&lt;b&gt;Phantom&lt;/b&gt;" in page and "<b>Phantom" not in page
    assert f'href="/registry/imports/{snapshot.id}"' in page

    page = op.get(f"/registry/lookup?q={twin}").get_data(as_text=True)
    merged = page[page.index('id="lookup-merged-into"'):]
    assert f"NEDB merged this IIN into {child_iin} on " in merged and f"(import #{merge.id})" in merged
    assert f"merged into {child_iin} by import #{merge.id}" in page and school(NUR).bin in page
    assert twin in op.get(f"/registry/lookup?q={child_iin}").get_data(as_text=True).split('id="lookup-merged-from"')[1]
    for locale in ("ru", "kk"):
        op.post("/locale", {"locale": locale, "next": "/"})
        assert 'id="lookup-merged-into"' in op.get(f"/registry/lookup?q={twin}").get_data(as_text=True)
    # authorised as the lookup is: a school's accountant sees nothing of it
    assert browser("accountant").get(f"/registry/lookup?q={twin}").status_code == 403
