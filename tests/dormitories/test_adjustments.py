"""Adjustments of decided months for dormitories, through the generic settlement: after September's act of the clean
dormitory is accepted and paid, the student registry is corrected — one resident withdrew mid-September, another
was never enrolled then. October's act carries a claw-back line for each (rule, month, evidence), the official
accepts it with the act, the operator pays the net once; September's act and payment are never touched."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts.adjustments import ENROLLED_DAYS
from app.acts.models import Act, ActAdjustment, ActLine
from app.audit.models import AuditEvent
from app.contracts.operations import open_contract_act
from app.dormitories.demo import submit_month
from app.dormitories.models import DormitoryTerms, StudentEnrolment
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import user
from tests.lifecycle.flow import open_task_of

SEPTEMBER, OCTOBER = date(2027, 9, 1), date(2027, 10, 1)


def _month(seeded: dict, period: date, *, decide: bool = True) -> Act:
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    clock.set_clock(clock.FrozenClock(datetime(following.year, following.month, 3, 5, 0, tzinfo=UTC)))
    act = open_contract_act(seeded["contracts"]["dorm_a"], period)
    db.session.commit()
    submit_month(seeded["worlds"]["dorm_a"], act, "dorm_accountant")
    db.session.commit()
    if decide:
        _accept_and_pay(act)
    db.session.expire_all()
    return db.session.get(Act, act.id)


def _accept_and_pay(act: Act) -> None:
    complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    if act.amount_tiyn == 0:  # nothing to pay (claw-backs as large as the month): closed without a payment order
        assert act.status == "paid"
        return
    complete_task(open_task_of(act.instance_id, "pay_act").id, user("operator"),
                  data={"order_number": f"DP-{act.id:05d}", "paid_on": f"{clock.today()}"})
    db.session.commit()


def test_a_registry_correction_of_a_paid_month_is_clawed_back_on_the_next_act(dorm_year, browser):
    september = _month(dorm_year, SEPTEMBER)
    assert september.status == "paid"
    paid_september = db.session.scalars(select(Payment).where(Payment.act_id == september.id)).one().amount_tiyn
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id))
    full = [ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate]
    halfway, never = full[0], full[1]
    for line, withdrawn_on in ((halfway, date(2027, 9, 16)), (never, date(2027, 8, 1))):
        for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
            enrolment.withdrawn_on = withdrawn_on  # the registry, corrected after September was paid
    db.session.commit()

    october = _month(dorm_year, OCTOBER, decide=False)
    adjustments = {a.iin: a for a in db.session.scalars(select(ActAdjustment)
                                                        .where(ActAdjustment.act_id == october.id))}
    assert set(adjustments) == {halfway.iin, never.iin}
    half = adjustments[halfway.iin]
    assert (half.rule_code, half.period, half.original_act_id) == (ENROLLED_DAYS, SEPTEMBER, september.id)
    assert half.amount_tiyn == rate * 15 // 30 - rate and half.evidence["days"] == 15
    assert half.evidence["registry"][0]["withdrawn_on"] == "2027-09-16"
    gone = adjustments[never.iin]
    assert (gone.rule_code, gone.amount_tiyn, gone.corrected_amount_tiyn) == ("not_enrolled", -rate, 0)
    assert october.adjustment_tiyn == half.amount_tiyn + gone.amount_tiyn
    assert october.amount_tiyn == october.lines_amount_tiyn + october.adjustment_tiyn
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "act",
                                                           AuditEvent.object_id == october.id,
                                                           AuditEvent.action == "act.verified")).all()
    assert {a["rule"] for a in verified[-1].details["adjustments"]} == {ENROLLED_DAYS, "not_enrolled"}

    # The official sees the claw-backs with their rule, month and evidence on the act they accept.
    official = browser("official")
    page = official.get(f"/tasks/{open_task_of(october.instance_id, 'accept_act').id}").get_data(as_text=True)
    assert 'id="adjustments-table"' in page and 'data-rule="not_enrolled"' in page
    assert "Evidence (student registry)" in page and "16 Sep 2027" in page
    assert f'data-rule="{ENROLLED_DAYS}"' in page
    _accept_and_pay(october)

    db.session.expire_all()
    october = db.session.get(Act, october.id)
    assert october.status == "paid"
    payments = db.session.scalars(select(Payment).where(Payment.act_id == october.id)).all()
    assert [p.amount_tiyn for p in payments] == [october.amount_tiyn]
    # Decided is final: September's act, lines and payment are as they were.
    september = db.session.get(Act, september.id)
    assert september.status == "paid" and september.adjustment_tiyn == 0
    assert db.session.get(ActLine, halfway.id).amount_tiyn == rate
    assert db.session.scalars(select(Payment).where(Payment.act_id == september.id)).one().amount_tiyn == \
        paid_september


def test_a_registry_corrected_back_reverses_the_claw_back_and_never_twice(dorm_year):
    september = _month(dorm_year, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id))
    line = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)
    enrolments = list(db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)))
    for enrolment in enrolments:
        enrolment.withdrawn_on = date(2027, 8, 1)
    db.session.commit()
    october = _month(dorm_year, OCTOBER)
    assert october.adjustment_tiyn == -rate
    for enrolment in enrolments:  # the registry is corrected back: the student was there all along
        enrolment.withdrawn_on = None
    db.session.commit()
    november = _month(dorm_year, date(2027, 11, 1), decide=False)
    back = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == november.id)).all()
    assert [(a.iin, a.rule_code, a.amount_tiyn) for a in back] == [(line.iin, "nedb_corrected", rate)]


def _documents_from(seeded: dict, valid_from: date) -> None:
    """dorm_a's ownership document, as the registry has it before September is verified: valid from ``valid_from``."""
    from app.dormitories.models import DormitoryDocument

    dorm_bin = seeded["contracts"]["dorm_a"].school.bin
    ownership = db.session.scalars(select(DormitoryDocument).where(DormitoryDocument.dormitory_bin == dorm_bin,
                                                                   DormitoryDocument.kind == "ownership")).one()
    ownership.valid_from = valid_from
    db.session.commit()


def _withdraw_and_settle(seeded: dict, september: Act, line: ActLine, withdrawn_on: date) -> ActAdjustment | None:
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
        enrolment.withdrawn_on = withdrawn_on  # the registry, corrected after September was paid
    db.session.commit()
    october = _month(seeded, OCTOBER, decide=False)
    return db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id,
                                                          ActAdjustment.iin == line.iin)).one_or_none()


def _half_month_place(seeded: dict) -> tuple[Act, ActLine, int]:
    """September of dorm_a, whose ownership document is valid from the 16th: a place occupied all month is paid
    the 15 days the documents cover (1,900,000 tiyn a month: 950,000), and September is paid."""
    _documents_from(seeded, date(2027, 9, 16))
    september = _month(seeded, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == seeded["contracts"]["dorm_a"].id))
    line = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.paid_days == 15
                and ln.days_attended == 30)
    assert line.amount_tiyn == rate * 15 // 30
    return september, line, rate


def test_a_withdrawal_within_the_documents_days_claws_back_the_days_they_no_longer_cover(dorm_year):
    september, line, rate = _half_month_place(dorm_year)
    # withdrawn on the 20th (the first day not enrolled): of the documents' days 16–30, only 16–19 remain
    adjustment = _withdraw_and_settle(dorm_year, september, line, date(2027, 9, 20))
    assert adjustment is not None
    assert (adjustment.rule_code, adjustment.period, adjustment.evidence["days"]) == (ENROLLED_DAYS, SEPTEMBER, 4)
    assert adjustment.corrected_amount_tiyn == rate * 4 // 30
    assert adjustment.amount_tiyn == rate * 4 // 30 - rate * 15 // 30
    if rate == 1_900_000:  # the auditor's figures
        assert adjustment.amount_tiyn == -696_667


def test_a_withdrawal_before_the_documents_days_claws_back_the_whole_paid_amount(dorm_year):
    september, line, rate = _half_month_place(dorm_year)
    # withdrawn on the 10th: enrolled 1–9, none of them a day the documents cover — as the rule pass would say
    adjustment = _withdraw_and_settle(dorm_year, september, line, date(2027, 9, 10))
    assert adjustment is not None
    assert (adjustment.rule_code, adjustment.corrected_amount_tiyn) == ("dorm_documents_expired", 0)
    assert adjustment.amount_tiyn == -(rate * 15 // 30)
    if rate == 1_900_000:
        assert adjustment.amount_tiyn == -950_000


def test_a_student_the_registry_later_gives_a_local_address_keeps_the_paid_months(dorm_year):
    """The registry keeps a student's address of today, with no date: a student who registers at an address in the
    dormitory's region after September was paid was not a local resident in September. The paid place stays paid
    (it had been clawed back as local_resident, on evidence about no month); from now on the rule pass itself
    excludes the student's line."""
    from app.dormitories.verification import dormitory_contexts

    september = _month(dorm_year, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id))
    context = dormitory_contexts([september])[september.id]
    assert context.excludes_local_residents
    line = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
        enrolment.home_region = context.region_code  # registered in the region after September was paid
    db.session.commit()
    october = _month(dorm_year, OCTOBER, decide=False)
    assert db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id)).all() == []
    assert [(ln.outcome, ln.rule_code) for ln in october.lines if ln.iin == line.iin] == [
        ("excluded", "local_resident")], "this month's line is excluded by the rule pass itself"


def test_a_withdrawal_found_after_the_last_decided_month_is_shown_on_the_dormitory_contract(dorm_year, browser):
    """No act to come yet (or ever: the contract's last month decided): the claw-back a dormitory owes is seen on the
    contract's page, as a school's is — the contract asked the schools' repricing only, and showed nothing."""
    from app.contracts.operations import unsettled_under

    contract = dorm_year["contracts"]["dorm_a"]
    september = _month(dorm_year, SEPTEMBER)
    assert unsettled_under(contract) == []
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == contract.id))
    line = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
        enrolment.withdrawn_on = date(2027, 8, 1)
    db.session.commit()

    (owed,) = unsettled_under(db.session.get(type(contract), contract.id))
    assert (owed.line.id, owed.original.id, owed.correction.rule_code, owed.amount_tiyn) == (
        line.id, september.id, "not_enrolled", -rate)
    page = browser("official").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="unsettled-corrections"' in page and september.number in page
    assert db.session.scalars(select(ActAdjustment)).all() == [], "read only: nothing is settled by looking"

    october = _month(dorm_year, OCTOBER, decide=False)  # the next act settles it: no longer unsettled
    assert october.adjustment_tiyn == -rate
    assert unsettled_under(db.session.get(type(contract), contract.id)) == []


def test_a_study_form_changed_in_place_keeps_the_paid_months_a_dated_change_does_not(dorm_year):
    """The registry's study form is a column of the enrolment row, with no date of its own: a student whose row is
    changed to part-time after September was paid was not part-time in September (the place had been clawed back in
    full as not_full_time, on evidence about no month). From now on the rule pass itself excludes the line. A change
    the registry dates — the full-time enrolment ended on the 16th, a part-time one from then — is evidence: the
    days after it are clawed back."""
    september = _month(dorm_year, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn)
                             .where(DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id))
    in_place, dated, again = [ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate][:3]
    (row,) = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == in_place.iin)).all()
    row.study_form = "part_time"  # the same row, corrected in place
    (row,) = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == again.iin)).all()
    row.study_form = "part_time"  # in place too, on a re-enrolment: a full-time enrolment there had ended years ago
    db.session.add(StudentEnrolment(iin=row.iin, full_name=row.full_name, institution_bin=row.institution_bin,
                                    course=1, study_form="full_time", home_region=row.home_region,
                                    enrolled_on=date(2020, 9, 1), withdrawn_on=date(2021, 6, 30)))
    (old,) = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == dated.iin)).all()
    old.withdrawn_on = date(2027, 9, 16)
    db.session.add(StudentEnrolment(iin=old.iin, full_name=old.full_name, institution_bin=old.institution_bin,
                                    course=old.course, study_form="part_time", home_region=old.home_region,
                                    enrolled_on=date(2027, 9, 16)))
    db.session.commit()

    october = _month(dorm_year, OCTOBER, decide=False)
    settled = [(a.iin, a.rule_code, a.amount_tiyn)
               for a in db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))]
    assert settled == [(dated.iin, ENROLLED_DAYS, rate * 15 // 30 - rate)]
    assert [(ln.outcome, ln.rule_code) for ln in october.lines if ln.iin in (in_place.iin, dated.iin, again.iin)] \
        == [("excluded", "not_full_time")] * 3, "this month's lines are excluded by the rule pass itself"


def test_a_withdrawal_found_after_the_contracts_last_month_is_in_the_reconciliation(dorm_year):
    """The dormitory's September is paid; the registry then says a resident had never been enrolled. While the
    contract's term goes on, its next act settles it (nothing unsettled in September's reconciliation); with the
    term ending in September no act is to come: the claw-back is September's "adjusted, unsettled" in its region."""
    from app.people.access import scope_clause
    from app.reports.reconciliation import reconcile

    contract = dorm_year["contracts"]["dorm_a"]
    september = _month(dorm_year, SEPTEMBER)
    rate = db.session.scalar(select(DormitoryTerms.place_rate_tiyn).where(DormitoryTerms.contract_id == contract.id))
    line = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)
    for enrolment in db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == line.iin)):
        enrolment.withdrawn_on = date(2027, 8, 1)
    db.session.commit()
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)

    _rows, total = reconcile(SEPTEMBER, everything, instrument="dormitory")
    assert total.unsettled_tiyn == 0, "the term goes on: October's act will settle it"
    db.session.get(type(contract), contract.id).period_end = date(2027, 9, 30)
    db.session.commit()
    rows, total = reconcile(SEPTEMBER, everything, instrument="dormitory")
    assert [(r.region_id, r.unsettled_tiyn) for r in rows if r.unsettled_tiyn] == [(september.region_id, -rate)]
    assert total.unsettled_tiyn == -rate
