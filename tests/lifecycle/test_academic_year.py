"""A whole academic year for two schools: order, applications, contracts, nine months of acts, year-end.

Time travels with a frozen clock; acts are opened by the contract's timers when the ticker fires them,
never by a person. Every step is done by the role that owns it, through the pages or the engine API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.contracts.models import Contract, ContractAct
from app.engine.errors import DomainRefused
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task, fire_due_timers
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.registry.models import NedbEnrollment
from app.yearend.models import YearEndReport
from app.yearend.operations import year_end_instance
from tests.helpers import school, user
from tests.lifecycle.flow import allocate, apply, open_task_of, place_order, sign

SCHOOLS = {  # school name -> (accountant, director, licence registered by the demo seed)
    "Bilim Innovation School": ("accountant", "director", "KZ15LAA00001234"),
    "Nur Private School": ("accountant2", "director2", "KZ17LAA00004321"),
}
MONTHS = [date(2027, m, 1) for m in range(9, 13)] + [date(2028, m, 1) for m in range(1, 6)]


def _act(school_name: str, period: date) -> Act | None:
    db.session.expire_all()
    return db.session.scalars(select(Act).where(Act.school_id == school(school_name).id,
                                                Act.period == period)).first()


def _submit(act: Act, username: str) -> None:
    task = open_task_of(act.instance_id, "submit_act")
    complete_task(task.id, user(username), data={"lines": prefill_lines(act), "note": ""})
    db.session.commit()


def test_a_simulated_academic_year_ends_with_nine_paid_acts_each_and_an_approved_report(frozen, browser):
    official, head = browser("official"), browser("head")
    order = place_order(official)
    assert order.status == "open" and order.norm("secondary", "rural") == 5_532_000, "norms come from the DMN table"

    contracts: dict[str, Contract] = {}
    for name, (acc, director, licence) in SCHOOLS.items():
        application = apply(browser(acc), order, school(name), licence)
        assert application.status == "eligible", application.reasons
        contract = allocate(official, application)
        assert contract.status == "awaiting_director"
        assert contract.monthly_cap_tiyn == sum(
            contract.places(lv) * order.norm(lv, "urban") for lv in ("primary", "basic", "secondary"))
        assert contract.amount_cap_tiyn == 9 * contract.monthly_cap_tiyn
        assert sign(browser(director), contract).status_code == 303
        assert sign(head, contract).status_code == 303
        db.session.expire_all()
        contracts[name] = db.session.get(Contract, contract.id)
        assert contracts[name].status == "active" and len(contracts[name].signatures) == 2

    # Nothing opens before a month has ended.
    frozen.at = datetime(2027, 9, 30, 12, 0, tzinfo=UTC)
    fire_due_timers()
    assert _act("Bilim Innovation School", MONTHS[0]) is None

    operator = user("operator")
    for month_no, period in enumerate(MONTHS):
        nxt = date(period.year + period.month // 12, period.month % 12 + 1, 1)
        frozen.at = datetime(nxt.year, nxt.month, 1, 3, 0, tzinfo=UTC)  # 08:00 in Astana, the 1st
        fire_due_timers()
        for name, (acc, _director, _licence) in SCHOOLS.items():
            act = _act(name, period)
            assert act is not None, f"the timer opened {name}'s act for {period:%Y-%m}"
            link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).one()
            assert link.contract_id == contracts[name].id
            _submit(act, acc)
            if month_no == 1 and name == "Nur Private School":
                # A returned act loops back to the school, which corrects and resubmits it.
                decide = open_task_of(act.instance_id, "accept_act")
                complete_task(decide.id, user("official"), data={"decision": "return", "comment": "Check grades"})
                db.session.commit()
                assert _act(name, period).status == "returned"
                _submit(_act(name, period), acc)
                assert _act(name, period).revision == 2
            act = _act(name, period)
            assert act.status == "verified" and act.amount_tiyn > 0
            assert act.amount_tiyn <= contracts[name].monthly_cap_tiyn
            complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"),
                          data={"decision": "accept"})
            db.session.commit()
            pay = open_task_of(act.instance_id, "pay_act")
            if month_no == len(MONTHS) - 1 and name == "Bilim Innovation School":
                # The year-end report is open once the last act is, but cannot go in before every act is paid.
                report_task = open_task_of(year_end_instance(contracts[name]).id, "submit_report")
                refused = browser(acc).post(f"/tasks/{report_task.id}", {"comment": "early"})
                assert refused.status_code == 422 and "not yet paid: 2028-05" in refused.get_data(as_text=True)
            complete_task(pay.id, operator, data={"order_number": f"PP-{act.id}", "paid_on": nxt.isoformat()})
            db.session.commit()
            assert _act(name, period).status == "paid"

    # A second payment of an already paid act is refused, and the database holds one row per act.
    paid_act = _act("Bilim Innovation School", MONTHS[0])
    try:
        register_payment(paid_act, "PP-AGAIN", date(2028, 6, 2), operator)
    except DomainRefused as err:
        assert "already been paid" in str(err)
    else:
        raise AssertionError("a second payment was registered")
    db.session.rollback()

    for name, (acc, _director, _licence) in SCHOOLS.items():
        contract = contracts[name]
        paid = db.session.scalars(select(Payment).join(ContractAct, ContractAct.act_id == Payment.act_id)
                                  .where(ContractAct.contract_id == contract.id)).all()
        assert len(paid) == 9 and len({p.act_id for p in paid}) == 9
        assert sum(p.amount_tiyn for p in paid) <= contract.amount_cap_tiyn

        # Year-end: the school submits the prefilled report, the department head approves it.
        year_end = year_end_instance(contract)
        assert db.session.get(ProcessInstance, contract.instance_id).status == "completed", "every act opened"
        task = open_task_of(year_end.id, "submit_report")
        owed = 0
        if name == "Bilim Innovation School":
            # NEDB learns after May's payment that a pupil had left on 1 May: no act is to come to claw it back,
            # and the report shows it (it was settled nowhere and seen nowhere).
            may = _act(name, MONTHS[-1])
            line = sorted(may.lines, key=lambda ln: ln.line_no)[0]
            db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin, NedbEnrollment.school_bin
                                                            == school(name).bin)).one().withdrawn_on = MONTHS[-1]
            db.session.commit()
            owed = -line.amount_tiyn
        page = browser(acc).get(f"/tasks/{task.id}").get_data(as_text=True)
        assert "2027-09" in page and "2028-05" in page and 'id="report-total"' in page
        assert ('id="unsettled-alert"' in page) is bool(owed)
        assert browser(acc).post(f"/tasks/{task.id}", {"comment": "Год завершён"}).status_code == 302
        submitted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "yearend.submitted",
                                                                AuditEvent.chain == f"instance:{contract.instance_id}")
                                       .order_by(AuditEvent.id.desc())).first()
        assert submitted.details["unsettled_tiyn"] == owed and (owed < 0) is (name == "Bilim Innovation School")
        approve = open_task_of(year_end.id, "approve_report")
        if name == "Nur Private School":  # returned once: the report loops back to the school
            assert head.post(f"/tasks/{approve.id}", {"decision": "return", "comment": "Add a comment on May"}
                             ).status_code == 302
            task = open_task_of(year_end.id, "submit_report")
            assert "Add a comment on May" in browser(acc).get(f"/tasks/{task.id}").get_data(as_text=True)
            assert browser(acc).post(f"/tasks/{task.id}", {"comment": "May: all paid"}).status_code == 302
            approve = open_task_of(year_end.id, "approve_report")
        assert head.post(f"/tasks/{approve.id}", {"decision": "approve"}).status_code == 302
        db.session.expire_all()
        contract = db.session.get(Contract, contract.id)
        report = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).one()
        assert report.status == "approved" and len(report.months) == 9
        assert report.total_paid_tiyn == sum(p.amount_tiyn for p in paid)
        assert [m["period"] for m in report.months] == [f"{m:%Y-%m}" for m in MONTHS]
        assert contract.status == "closed"
        assert db.session.get(ProcessInstance, year_end.id).status == "completed"
        assert db.session.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == year_end.id,
                                                               HumanTask.status == "open")) == 0

        page = head.get(f"/contracts/{contract.id}").get_data(as_text=True)
        for text in ("Contract closed", "Year-end report approved", "Contract signed", "Monthly act opened",
                     "closed"):
            assert text in page, text

    signed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.signed")).all()
    assert all(len(ev.details["document_sha256"]) == 64 for ev in signed)
    chains, problems = verify_all_chains()
    assert problems == []
