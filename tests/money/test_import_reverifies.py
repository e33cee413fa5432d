"""A registry import re-verifies the open acts it concerns: an act verified before NEDB withdrew one of its pupils
was accepted at the version verified then and paid for the withdrawn pupil. Now the import verifies it again (its
version moves on): the official's accept of the page read before is refused with the new amount, and the accept
of the new version pays the new amount. A file that repeats the registry as it is re-verifies nothing."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.audit.models import AuditEvent
from app.engine.errors import DomainConflict
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.registry.models import RegistryImport
from tests.helpers import act_of_school, open_task, school, user
from tests.money.test_adjustments import BILIM, _enrolment

BASIC, SECONDARY, PRIMARY = 4_230_000, 4_610_000, 3_850_000


def _import(kind: str, path, rows: list[dict]) -> RegistryImport:
    from app.registry.operations import create_import, run_import

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    job = create_import(kind, path.name, source=path)
    db.session.commit()
    run_import(job.id)
    db.session.expire_all()
    return db.session.get(RegistryImport, job.id)


def _nedb_row(e, **changes) -> dict:
    row = {"iin": e.iin, "full_name": e.full_name, "school_bin": e.school_bin, "school_kind": e.school_kind,
           "grade": e.grade, "enrolled_on": e.enrolled_on.isoformat(),
           "withdrawn_on": e.withdrawn_on.isoformat() if e.withdrawn_on else ""}
    return row | {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in changes.items()}


def _verified_bilim() -> Act:
    """Bilim's October act, submitted with its prefilled lines and verified."""
    act = act_of_school(BILIM)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "verified"
    return act


def test_an_import_withdrawing_a_pupil_reverifies_the_verified_act_before_its_acceptance(world, tmp_path):
    act = _verified_bilim()
    seen, before = str(act.lock_version), act.amount_tiyn
    pupil = next(ln for ln in act.lines if ln.grade == 9)
    assert (pupil.outcome, pupil.amount_tiyn) == ("accepted", BASIC)

    # The same file again changes nothing: no act is verified again, its version stays.
    same = _import("nedb", tmp_path / "same.csv", [_nedb_row(_enrolment(pupil.iin))])
    assert same.status == "done" and same.loaded_rows == 1
    assert str(db.session.get(Act, act.id).lock_version) == seen

    # NEDB withdraws the pupil from the first day of the month (enrolled no day of it).
    job = _import("nedb", tmp_path / "withdrawn.csv",
                  [_nedb_row(_enrolment(pupil.iin), withdrawn_on=act.period)])
    assert job.status == "done"
    act = db.session.get(Act, act.id)
    assert act.status == "verified" and str(act.lock_version) != seen
    assert act.amount_tiyn == before - BASIC
    line = next(ln for ln in act.lines if ln.id == pupil.id)
    assert (line.outcome, line.rule_code, line.amount_tiyn) == ("excluded", "withdrawn", 0)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                        AuditEvent.object_id == act.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert event.details["registry_import"] == job.id and event.details["amount_tiyn"] == before - BASIC
    imported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.imported",
                                                           AuditEvent.object_id == job.id)).one()
    assert imported.details["reverified_acts"]["acts"] == 1

    # The official accepts what the page showed before: refused, with the new amount.
    task = open_task(act, "accept_act")
    with pytest.raises(DomainConflict):
        complete_task(task.id, user("official"), data={"decision": "accept"}, seen=seen)
    db.session.rollback()
    act = db.session.get(Act, act.id)
    assert act.status == "verified"
    complete_task(task.id, user("official"), data={"decision": "accept"}, seen=str(act.lock_version))
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": "PP-OCT-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert db.session.scalars(select(Payment.amount_tiyn).where(Payment.act_id == act.id)).one() == before - BASIC


def test_a_licence_import_reverifies_the_schools_open_act_at_the_licences_days(world, tmp_path):
    from app.registry.models import Licence

    act = _verified_bilim()
    seen = act.lock_version
    paid = [ln.amount_tiyn for ln in act.lines if ln.outcome == "accepted"]
    full = sum(paid)
    assert act.amount_tiyn == full
    # The school's licence is corrected: it ended on 15 October. Each line is paid 15 of 31 days.
    licence = db.session.scalars(select(Licence).where(Licence.bin == school(BILIM).bin)).first()
    job = _import("licences", tmp_path / "licence.csv", [{
        "number": licence.number, "bin": licence.bin, "valid_from": licence.valid_from.isoformat(),
        "valid_until": "2026-10-15", "levels": licence.levels}])
    assert job.status == "done"
    act = db.session.get(Act, act.id)
    assert act.lock_version > seen
    assert act.amount_tiyn == sum(amount * 15 // 31 for amount in paid) < full
