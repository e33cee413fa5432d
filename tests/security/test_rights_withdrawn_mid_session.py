"""Rights taken away while work is under way: what a person started with the rights they had is not carried out with
rights they no longer hold.

A registry import writes the national registers every act is verified against (which pupil is enrolled where): the
operator who uploaded the file and was deactivated (or moved to another role) before the import ran — it waits in the
queue, or is resumed after its worker died — had it written all the same, in their name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.admin.operations import set_active, update_user
from app.audit.models import AuditEvent
from app.extensions import db
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import, run_import, stored_path
from tests.helpers import user


def _nedb_file(tmp_path, rows: int = 3):
    from tests.registry.conftest import iin

    lines = ["iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on"]
    lines += [f"{iin(n)},Student {n},950440001673,private,5,2026-09-01," for n in range(9001, 9001 + rows)]
    path = tmp_path / "nedb.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _enrolled() -> int:
    return db.session.scalar(select(func.count()).select_from(NedbEnrollment))


def _queued_by_operator(tmp_path) -> RegistryImport:
    path = _nedb_file(tmp_path)
    job = create_import("nedb", path.name, source=path, actor=user("operator"))
    db.session.commit()
    return job


def _deactivate(person):
    set_active(person, False, user("admin"))


def _make_auditor(person):
    update_user(person, {"full_name": person.full_name, "email": person.email or "", "role": "auditor",
                         "organisation_id": ""}, user("admin"))


@pytest.mark.parametrize("withdraw", [_deactivate, _make_auditor], ids=["deactivated", "role_changed"])
def test_an_import_queued_by_someone_who_lost_the_right_meanwhile_writes_nothing(world, tmp_path, withdraw):
    before = _enrolled()
    job = _queued_by_operator(tmp_path)
    withdraw(user("operator"))
    db.session.commit()

    assert run_import(job.id) is None
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status == "failed" and job.message.startswith("starter_withdrawn:"), job.message
    assert _enrolled() == before and not stored_path(job).exists() and job.lease_expires_at is None
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.import_failed",
                                                          AuditEvent.object_id == job.id))
    assert event.details["reason"].startswith("starter_withdrawn:")


def test_an_import_resumed_after_its_starter_lost_the_right_writes_no_more(world, tmp_path):
    """A run whose worker died is queued again by the reaper: the resumed run asks again."""
    job = _queued_by_operator(tmp_path)
    job.status, job.attempts = "running", 1  # as the reaper leaves a run whose worker died
    _deactivate(user("operator"))
    db.session.commit()
    before = _enrolled()
    assert run_import(job.id) is None
    db.session.expire_all()
    assert db.session.get(RegistryImport, job.id).status == "failed" and _enrolled() == before


def test_an_import_of_someone_who_still_may_runs(world, tmp_path):
    """Guard: the check stops only those who lost the right (an administrator may import too)."""
    before = _enrolled()
    job = _queued_by_operator(tmp_path)
    assert run_import(job.id) is not None
    db.session.expire_all()
    assert db.session.get(RegistryImport, job.id).status == "done" and _enrolled() == before + 3


def test_an_import_started_on_the_command_line_has_no_starter_to_ask_about(world, tmp_path):
    """Guard: ``flask import-…`` (no person) runs as before."""
    path = _nedb_file(tmp_path)
    job = create_import("nedb", path.name, source=path)
    db.session.commit()
    assert run_import(job.id) is not None


def test_an_import_under_way_stops_at_the_next_batch_when_its_starter_is_deactivated(world, tmp_path, monkeypatch):
    """Deactivated while the file is being read in: the batches committed before stay (and their acts are verified
    again, as for any stop), the next one is not written."""
    from app.registry import importers

    monkeypatch.setattr(importers, "BATCH", 1)
    before = _enrolled()
    job = _queued_by_operator(tmp_path)
    seen = []

    def progress(processed, total):
        seen.append(processed)
        if len(seen) == 1:  # the admin deactivates the operator while the first batch is on the page
            _deactivate(user("operator"))
            db.session.commit()

    assert run_import(job.id, progress=progress) is None
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert (job.status, job.loaded_rows) == ("failed", 1) and job.message.startswith("starter_withdrawn:")
    assert _enrolled() == before + 1 and seen == [1]


def test_a_bulk_acceptance_stops_accepting_once_its_official_is_deactivated(world, monkeypatch):
    """Guard: an official's bulk acceptance (up to 200 acts, each in its own transaction) runs for seconds;
    deactivated meanwhile by the administrator (another request), the official accepts — sends to payment — none
    of the acts after it: each commit reloads the person, and an inactive one is no one's authenticated user."""
    from sqlalchemy import update

    from app.inbox import operations as inbox
    from app.people.models import User
    from tests.helpers import seen
    from tests.inbox.conftest import make_clean_acts

    tasks = make_clean_acts()
    ids = [t.id for t in tasks]
    versions = {t.id: str(seen(t)) for t in tasks}
    official_id = user("official").id
    original = inbox.BulkResult

    def deactivated_by_the_admin_after_the_first(task_id, subject, ok, message):
        if ok:  # the first act was accepted and committed: the administrator's request comes in now
            with db.engine.begin() as other_request:
                other_request.execute(update(User).where(User.id == official_id)
                                      .values(active=False, session_version=User.session_version + 1))
        return original(task_id, subject, ok, message)

    monkeypatch.setattr(inbox, "BulkResult", deactivated_by_the_admin_after_the_first)
    results = inbox.bulk_accept(user("official"), ids, versions)
    assert [r.ok for r in results] == [True] + [False] * (len(ids) - 1), [r.message for r in results]
    db.session.expire_all()
    from app.acts.models import Act

    statuses = sorted(db.session.scalars(select(Act.status).where(Act.instance_id.in_(
        [t.instance_id for t in tasks]))).all())
    assert statuses == ["accepted"] + ["verified"] * (len(ids) - 1)


def test_an_acceptance_form_opened_before_the_official_was_moved_to_another_region_is_refused(world, browser):
    """Guard: the page read as an Astana official, sent after the administrator moved them to the Almaty department:
    nothing is decided (the person is read afresh on every request, the task is checked against their scope now)."""
    from tests.helpers import seen

    act_id, task_id = _submitted_bilim()
    official = browser("official")
    assert official.get(f"/tasks/{task_id}").status_code == 200
    person = user("official")
    update_user(person, {"full_name": person.full_name, "email": person.email or "", "role": person.role,
                         "organisation_id": str(user("official_almaty").organisation_id)}, user("admin"))
    db.session.commit()
    sent = official.post(f"/tasks/{task_id}", {"decision": "accept", "_seen": str(seen(_task(task_id)))})
    assert sent.status_code == 404, sent.status_code
    db.session.expire_all()
    from app.acts.models import Act

    assert db.session.get(Act, act_id).status == "verified"


def _task(task_id):
    from app.engine.models import HumanTask

    return db.session.get(HumanTask, task_id)


def _submitted_bilim() -> tuple[int, int]:
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    return act.id, open_task(act, "accept_act").id
