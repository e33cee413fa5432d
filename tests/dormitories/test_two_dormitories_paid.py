"""Two dormitories claim one student after the first dormitory's month was paid: the second's line is excluded as
``two_dormitories``, and the rule says neither place is paid until corrected — the first dormitory's paid place is
clawed back on its next act (rule, month, the other act as evidence); when the other dormitory drops its claim,
the claw-back is reversed."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import claim_for_verification, submit_act
from app.contracts.operations import open_contract_act
from app.dormitories.operations import settle_dormitory_acts
from app.dormitories.verification import verify_dormitory_acts
from app.extensions import db
from app.reports.operations import run_month_verification, start_month_verification
from tests.dormitories.test_adjustments import OCTOBER, SEPTEMBER, _month
from tests.dormitories.test_rule_edges import ACCOUNTANTS, _rate
from tests.helpers import user


def _verify(act: Act) -> None:
    claim_for_verification([act.id])
    verify_dormitory_acts([act])
    settle_dormitory_acts([act])
    db.session.commit()


def test_a_place_paid_before_another_dormitory_claimed_the_student_is_clawed_back_until_corrected(dorm_year,
                                                                                                 browser):
    september = _month(dorm_year, SEPTEMBER)  # Jastar's September: accepted and paid
    rate = _rate(dorm_year)
    paid = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)

    # Alatau submits September later, listing the same student for the whole month on one of its beds.
    alatau_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_c"].lines_for(SEPTEMBER)]
    jastar_line = next(dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(SEPTEMBER)
                       if line["iin"] == paid.iin)
    twin = dict(jastar_line, room=alatau_lines[-1]["room"], bed=alatau_lines[-1]["bed"])
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], SEPTEMBER)
    submit_act(alatau, [*alatau_lines[:-1], twin], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)
    assert db.session.execute(select(ActLine.rule_code, ActLine.amount_tiyn).where(
        ActLine.act_id == alatau.id, ActLine.iin == paid.iin)).one() == ("two_dormitories", 0)

    # Jastar's next act claws the paid place back: neither place is paid until corrected.
    october = _month(dorm_year, OCTOBER, decide=False)
    (adj,) = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))
    assert (adj.iin, adj.rule_code, adj.period, adj.original_line_id) == (paid.iin, "two_dormitories", SEPTEMBER,
                                                                          paid.id)
    assert (adj.original_amount_tiyn, adj.corrected_amount_tiyn, adj.amount_tiyn) == (rate, 0, -rate)
    assert adj.evidence["other_dormitory_acts"] == [alatau.number]
    assert october.adjustment_tiyn == -rate
    page = browser("official").get(f"/acts/{october.id}").get_data(as_text=True)
    assert f"Also placed by act {alatau.number}" in page

    # Verified again: the same claw-back, once.
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert db.session.scalars(select(ActAdjustment.amount_tiyn)
                              .where(ActAdjustment.act_id == october.id)).all() == [-rate]

    # Alatau's act is returned and resubmitted without the student: Jastar's place is paid again.
    alatau = db.session.get(Act, alatau.id)
    alatau.status = "returned"
    db.session.flush()
    submit_act(alatau, alatau_lines[:-1], None, user(ACCOUNTANTS["dorm_c"]))
    _verify(alatau)
    run = start_month_verification(OCTOBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    db.session.expire_all()
    assert db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id)).all() == []
    assert db.session.get(Act, october.id).adjustment_tiyn == 0
