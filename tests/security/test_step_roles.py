"""Steps that decide or move money are taken by the roles they were made for, whatever lane a model draws them in.

Who accepted or paid an act was only the lane's to say: a process owner's version with "Pay act"
(``taskHandler="payments/pay"``) in the school accountant's lane published without a problem, and the school's
accountant then recorded the payment of the school's own act (and accepted it, with ``acts/decide``). Now the
model check refuses such a lane, and completing the step refuses any other role (a version published before).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.engine.errors import DomainRefused
from app.engine.runtime import complete_task
from app.engine.specs import validate_files
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, open_task, user
from tests.modeler.factory import chain_model

SCHOOL = "Bilim Innovation School"
PHANTOM = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": 3, "days_attended": 20}


def _step(handler: str) -> str:
    return ('<bpmn:userTask id="money" name="Money step"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="taskHandler" value="{handler}" />'
            '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')


def _lane_problems(handler: str, lane: str) -> list[str]:
    found = validate_files(chain_model("money", [("money", lane, _step(handler))]))[1]
    return [p.message for p in found if p.element_id == "money" and "can be performed only by" in p.message]


@pytest.mark.parametrize(("handler", "wrong", "right"), [
    ("payments/pay", "School accountant", "Operator"),
    ("payments/pay", "Department official", "Operator"),
    ("acts/decide", "School accountant", "Department official"),
    ("acts/decide", "Operator", "Department head"),
    # the other steps that decide money: places allocated, reports approved by the department; acts, applications
    # and reports submitted by the organisation; a contract signed by its two signatories
    ("applications/allocate", "School accountant", "Department official"),
    ("dormitories/allocate", "Dormitory director", "Department head"),
    ("yearend/approve", "School director", "Department head"),
    ("acts/submit", "Department official", "School accountant"),
    ("acts/submit", "Operator", "Dormitory accountant"),
    ("applications/submit", "Department official", "School director"),
    ("dormitories/submit_application", "School accountant", "Dormitory accountant"),
    ("yearend/submit", "Department head", "School accountant"),
    ("contracts/sign", "School accountant", "School director"),
    ("contracts/sign", "Department official", "Department head")])
def test_a_money_step_in_another_roles_lane_is_a_model_problem(app_ctx, handler, wrong, right):
    problems = _lane_problems(handler, wrong)
    assert len(problems) == 1 and repr(handler) in problems[0], problems
    assert _lane_problems(handler, right) == []


def test_the_shipped_models_draw_their_money_steps_in_the_right_lanes(world):
    from app.engine.models import ProcessModelVersion

    versions = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")).all()
    for version in versions:
        found = validate_files(version.files, process_id=version.process_id, primary=version.primary_file,
                               lane_role=version.lane_role)[1]
        assert not [p for p in found if "can be performed only by" in p.message], version.process_model.identifier


def _verified_act(lines: list | None = None) -> Act:
    act = act_of_school(SCHOOL)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": lines or [PHANTOM], "note": ""})
    db.session.commit()
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "verified"
    return act


def _given_to_the_school(task) -> None:
    """The step as a version that drew it in the school accountant's lane had opened it."""
    task.role = "school_accountant"
    db.session.commit()


def test_the_school_cannot_accept_its_own_act_whatever_the_lane(world):
    act = _verified_act()
    accept = open_task(act, "accept_act")
    _given_to_the_school(accept)
    with pytest.raises(DomainRefused, match="only by: Department head, Department official"):
        complete_task(accept.id, user("accountant"), data={"decision": "accept"}, seen=str(act.lock_version))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"


def test_the_school_cannot_pay_its_own_act_whatever_the_lane(world):
    # the school's real students: an act of 0 ₸ (the phantom alone) is closed at acceptance, with no step to pay
    act = _verified_act(prefill_lines(act_of_school(SCHOOL)))
    assert act.amount_tiyn > 0
    accept = open_task(act, "accept_act")
    complete_task(accept.id, user("official"), data={"decision": "accept"}, seen=str(act.lock_version))
    db.session.commit()
    pay = open_task(act, "pay_act")
    _given_to_the_school(pay)
    with pytest.raises(DomainRefused, match="only by: Operator"):
        complete_task(pay.id, user("accountant"), data={"order_number": "PP-1", "paid_on": clock.today().isoformat()})
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "accepted"
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first() is None
