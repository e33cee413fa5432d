"""After a new NEDB import the operator re-verifies the month: the submitted act and its open inbox task
show the new outcome; accepted acts are left alone."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act
from app.engine.models import HumanTask
from app.extensions import db
from app.registry.models import NedbEnrollment
from app.reports.operations import run_month_verification, start_month_verification
from tests.helpers import act_of_school, school


def test_reverification_after_nedb_import_updates_act_and_inbox(world):
    act = act_of_school("Alatau Lyceum")
    assert act.status == "verified"
    phantoms = [ln for ln in act.lines if ln.rule_code == "not_in_nedb"]
    assert len(phantoms) == 2
    before = (act.accepted_lines, act.amount_tiyn)
    # The registry catches up: both children are now registered at the school.
    for ln in phantoms:
        db.session.add(NedbEnrollment(iin=ln.iin, full_name=ln.full_name, school_bin=school("Alatau Lyceum").bin,
                                      school_kind="private", grade=ln.grade, enrolled_on=date(2026, 9, 1)))
    db.session.commit()

    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()
    run = run_month_verification(run.id)
    assert run.status == "done" and run.total_acts == 1  # the other two acts await submission
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.accepted_lines == before[0] + 2 and act.amount_tiyn > before[1]
    assert not [ln for ln in act.lines if ln.rule_code == "not_in_nedb"]
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.status == "open")).one()
    assert (task.excluded_lines, task.amount_tiyn) == (act.total_lines - act.accepted_lines, act.amount_tiyn)

    act.status = "accepted"  # once accepted, lines are final
    db.session.commit()
    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).total_acts == 0
