"""The reconciliation's rules that decide a figure (twelfth round of mutation testing, benchmarks/MUTATION.md): a
region chosen in the filter gets that region's figures and no other's — its total is its own row, not the country's."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy import select

from app.acts.models import Act
from app.people.access import scope_clause
from app.registry.models import NedbEnrollment
from app.reports.reconciliation import reconcile
from tests.helpers import user
from tests.money.test_reconciliation import OCTOBER, _month_of_every_kind, october_act


def test_a_region_chosen_gets_its_own_figures_and_its_total_is_its_row(world, browser):
    _month_of_every_kind()
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, _total = reconcile(OCTOBER, everything)
    assert len(rows) == 3
    for row in rows:
        chosen, total = reconcile(OCTOBER, everything, region_id=row.region_id)
        assert [asdict(r) for r in chosen] == [asdict(row)]
        assert asdict(total) == asdict(row) | {"region_id": None}
    # the operator's API, filtered by a region, shows that region's money only
    region = rows[1]
    api = browser("operator").get(f"/api/v1/reconciliation?period=2026-10&region={region.region_id}").get_json()
    assert [r["region_id"] for r in api["regions"]] == [region.region_id]
    assert (api["total"]["claimed_tiyn"], api["total"]["paid_tiyn"]) == (region.claimed_tiyn, region.paid_tiyn)


def test_a_region_with_an_accepted_act_and_one_under_review_counts_each_in_its_own_column(world, browser):
    """Bilim's act paid, Nur's (same region) verified and not decided: the region's accepted is Bilim's lines only,
    its under review Nur's — not one act's status for both."""
    from app import clock
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, open_task
    from tests.money.test_reconciliation import _assert_equal, _expected

    bilim, nur = act_of_school("Bilim Innovation School"), act_of_school("Nur Private School")
    assert bilim.region_id == nur.region_id
    complete_task(open_task(bilim, "submit_act").id, user("accountant"), data={"lines": prefill_lines(bilim)})
    complete_task(open_task(bilim, "accept_act").id, user("official"), data={"decision": "accept"})
    complete_task(open_task(bilim, "pay_act").id, user("operator"),
                  data={"order_number": "PP-R-9", "paid_on": clock.today().isoformat()})
    complete_task(open_task(nur, "submit_act").id, user("accountant2"), data={"lines": prefill_lines(nur)})
    db.session.commit()
    db.session.expire_all()
    bilim, nur = db.session.get(Act, bilim.id), db.session.get(Act, nur.id)
    assert (bilim.status, nur.status) == ("paid", "verified")

    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, _total = reconcile(OCTOBER, everything)
    _assert_equal(rows, _expected(OCTOBER))
    [row] = [r for r in rows if r.region_id == bilim.region_id]
    assert (row.acts, row.accepted_tiyn, row.under_review_tiyn, row.paid_tiyn) == (
        2, bilim.lines_amount_tiyn, nur.lines_amount_tiyn, bilim.amount_tiyn)
    assert row.accepted_tiyn > 0 and row.under_review_tiyn > 0


def test_a_returned_acts_claw_back_is_not_counted_under_review_and_stays_owed_to_the_month_it_corrects(world, browser):
    """November's act claws back a paid October line; the department returns it: its claw-back is settled by
    nobody until it is verified again — not in November's adjustments under review, still owed in October."""
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import open_task
    from tests.money.test_adjustments import _submit
    from tests.money.test_reconciliation import NOVEMBER, _norm

    _month_of_every_kind()
    october = db.session.scalars(select(Act).where(Act.number.like("%202610"), Act.status == "paid")).one()
    gone = october.lines[3]
    claw_back = -_norm(gone)
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == gone.iin)).one().withdrawn_on = \
        date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    assert (november.status, november.adjustment_tiyn) == ("verified", claw_back)
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    [row] = [r for r in reconcile(NOVEMBER, everything)[0] if r.region_id == november.region_id]
    assert (row.adjusted_tiyn, row.adjusted_under_review_tiyn) == (0, claw_back)

    complete_task(open_task(november, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "line 2 is wrong"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Act, november.id).status == "returned"
    [row] = [r for r in reconcile(NOVEMBER, everything)[0] if r.region_id == november.region_id]
    assert (row.adjusted_tiyn, row.adjusted_under_review_tiyn) == (0, 0)
    assert row.under_review_tiyn == db.session.get(Act, november.id).lines_amount_tiyn > 0
    _rows, october_total = reconcile(OCTOBER, everything)
    assert october_total.later_clawback_tiyn == claw_back


def test_an_accepted_act_that_earns_nothing_adds_nothing_to_accepted_or_adjusted(world):
    """Every line of Samruk's accepted October act excluded: the act earns 0 tiyn — its region's accepted, adjusted,
    payable and paid are 0, what it withholds is its lines' norms."""
    from app.acts.models import ActLine
    from app.extensions import db
    from tests.money.test_reconciliation import _assert_equal, _expected, _norm, samruk_october_act

    act = samruk_october_act()
    assert not act.lines
    db.session.flush()
    lines = [ActLine(act_id=act.id, period=OCTOBER, school_id=act.school_id, line_no=no, iin=f"0101015000{no:02d}",
                     full_name=f"Withdrawn {no}", grade=grade, days_attended=20, outcome="excluded",
                     rule_code="withdrawn", amount_tiyn=0) for no, grade in enumerate((2, 6), start=1)]
    db.session.add_all(lines)
    act.status, act.amount_tiyn, act.adjustment_tiyn = "accepted", 0, 0
    act.withheld_tiyn = sum(_norm(line) for line in lines)
    db.session.commit()

    rows, _total = reconcile(OCTOBER, scope_clause(user("operator"), Act.region_id, Act.school_id))
    _assert_equal(rows, _expected(OCTOBER))
    [row] = [r for r in rows if r.region_id == act.region_id]
    assert (row.accepted_tiyn, row.adjusted_tiyn, row.payable_tiyn, row.paid_tiyn, row.under_review_tiyn) == (
        0, 0, 0, 0, 0)
    assert row.withheld_by_rule == {"withdrawn": act.withheld_tiyn} and row.withheld_other_tiyn == 0


def test_lines_pending_verification_beside_accepted_lines_of_the_region_are_under_review(world):
    """Bilim's act paid; Nur's (same region) submitted and not verified yet, its lines pending: the region's under
    review is the pending lines' norms — whichever lines the region's acts hold beside them."""

    from app import clock
    from app.acts.models import ActLine
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, open_task, school
    from tests.money.test_reconciliation import _assert_equal, _expected, _norm

    bilim = act_of_school("Bilim Innovation School")
    complete_task(open_task(bilim, "submit_act").id, user("accountant"), data={"lines": prefill_lines(bilim)})
    complete_task(open_task(bilim, "accept_act").id, user("official"), data={"decision": "accept"})
    complete_task(open_task(bilim, "pay_act").id, user("operator"),
                  data={"order_number": "PP-R-8", "paid_on": clock.today().isoformat()})
    nur = school("Nur Private School")
    act = october_act("Nur Private School", "ACT-NUR-202610")
    act.status = "submitted"
    db.session.flush()
    pending = [ActLine(act_id=act.id, period=OCTOBER, school_id=nur.id, line_no=no, iin=f"0101015001{no:02d}",
                       full_name=f"Pending {no}", grade=grade, days_attended=20)
               for no, grade in enumerate((2, 6, 10), 1)]
    db.session.add_all(pending)
    db.session.commit()
    assert act.region_id == db.session.get(Act, bilim.id).region_id

    rows, _total = reconcile(OCTOBER, scope_clause(user("operator"), Act.region_id, Act.school_id))
    _assert_equal(rows, _expected(OCTOBER))
    [row] = [r for r in rows if r.region_id == act.region_id]
    assert row.pending_tiyn == row.under_review_tiyn == sum(_norm(line) for line in pending) > 0


def test_what_an_act_under_review_withholds_is_added_to_what_the_regions_decided_acts_withhold(world):
    """Bilim's act paid; Nur's (same region) verified with an excluded line: the region withholds both acts' sums."""
    from datetime import UTC, datetime

    from app import clock
    from app.acts.models import ActLine
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, open_task, school
    from tests.money.test_reconciliation import _assert_equal, _expected, _norm

    bilim = act_of_school("Bilim Innovation School")
    complete_task(open_task(bilim, "submit_act").id, user("accountant"), data={"lines": prefill_lines(bilim)})
    complete_task(open_task(bilim, "accept_act").id, user("official"), data={"decision": "accept"})
    complete_task(open_task(bilim, "pay_act").id, user("operator"),
                  data={"order_number": "PP-R-7", "paid_on": clock.today().isoformat()})
    nur = school("Nur Private School")
    act = db.session.scalars(select(Act).where(Act.school_id == nur.id, Act.period == OCTOBER)).first()
    if act is None:
        act = Act(number="ACT-NUR-202610", school_id=nur.id, region_id=nur.region_id, period=OCTOBER,
                  status="verified", created_at=datetime(2026, 11, 2, tzinfo=UTC))
        db.session.add(act)
    db.session.flush()
    line = ActLine(act_id=act.id, period=OCTOBER, school_id=nur.id, line_no=1, iin="010101500201",
                   full_name="Withdrawn", grade=6, days_attended=20, outcome="excluded", rule_code="withdrawn",
                   amount_tiyn=0)
    db.session.add(line)
    act.status, act.amount_tiyn, act.adjustment_tiyn, act.withheld_tiyn = "verified", 0, 0, _norm(line)
    db.session.commit()
    paid = db.session.get(Act, bilim.id)

    rows, _total = reconcile(OCTOBER, scope_clause(user("operator"), Act.region_id, Act.school_id))
    _assert_equal(rows, _expected(OCTOBER))
    [row] = [r for r in rows if r.region_id == act.region_id]
    assert row.withheld_total_tiyn == paid.withheld_tiyn + _norm(line)
    assert row.withheld_by_rule["withdrawn"] >= _norm(line) > 0
