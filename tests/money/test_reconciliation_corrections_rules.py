"""The reconciliation's corrections, rule by rule (twelfth round of mutation testing, benchmarks/MUTATION.md), on
small hand-made worlds: what of a month's corrections is unsettled, time-barred or to be settled on a later act, per
region, every line of each counted; which adjustment lines a region's "adjusted" sums, and in what order."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.models import Act, ActAdjustment
from app.extensions import db
from app.reports.reconciliation import adjusted_lines, reconcile
from tests.money.test_clawback_lookback import _paid_month as _paid
from tests.registry.conftest import NORMS, iin

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
AMOUNT = NORMS["primary"]


def _adjust(settling: Act, original: Act, amount: int) -> ActAdjustment:
    (line,) = original.lines
    adjustment = ActAdjustment(act_id=settling.id, original_act_id=original.id, original_line_id=line.id,
                               period=original.period, iin=line.iin, full_name=line.full_name, rule_code="withdrawn",
                               original_amount_tiyn=AMOUNT, corrected_amount_tiyn=AMOUNT + amount,
                               amount_tiyn=amount, evidence={}, created_at=datetime(2026, 12, 1, tzinfo=UTC))
    db.session.add(adjustment)
    db.session.flush()
    return adjustment


def test_a_regions_adjustment_lines_come_by_act_then_month_corrected_whatever_order_they_were_written(country):
    """Two schools of one region settle corrections on their November acts; the later act's line was written first,
    and the first act's October line before its September line: the list is by act number, then month corrected."""
    first, second = country.school("First"), country.school("Second")
    students = {name: iin(n) for n, name in enumerate(("f-sep", "f-oct", "s-sep"), start=901)}
    f_sep = _paid(country, first, SEPTEMBER, students["f-sep"])
    f_oct = _paid(country, first, OCTOBER, students["f-oct"])
    s_sep = _paid(country, second, SEPTEMBER, students["s-sep"])
    f_nov, s_nov = (country.act(school, [], period=NOVEMBER, status="accepted") for school in (first, second))
    assert f_nov.number < s_nov.number
    _adjust(s_nov, s_sep, -300)
    _adjust(f_nov, f_oct, -200)
    _adjust(f_nov, f_sep, -100)
    db.session.commit()
    everything = Act.id.is_not(None)
    got = [(line.act_number, line.period, line.amount_tiyn)
           for line in adjusted_lines(NOVEMBER, everything, first.region_id)]
    assert got == [(f_nov.number, SEPTEMBER, -100), (f_nov.number, OCTOBER, -200), (s_nov.number, SEPTEMBER, -300)]


def test_a_regions_adjustment_lines_are_its_decided_acts_of_the_month_of_the_instrument_in_the_users_scope(country):
    """Beside the one line the region's "adjusted" sums (First's accepted November act): the same school's October
    act, another school's November act under review, a dormitory's November act, a November act of another region,
    and a school outside the user's scope — each settles a correction, none is listed."""
    first, pending, outside = (country.school(name) for name in ("First", "Pending", "Outside"))
    dormitory = country.school("Dormitory")
    elsewhere = country.school("Elsewhere", region=country.region2)
    originals = {school.id: _paid(country, school, SEPTEMBER, iin(920 + n))
                 for n, school in enumerate((first, pending, outside, dormitory, elsewhere))}
    listed = country.act(first, [], period=NOVEMBER, status="accepted")
    _adjust(listed, originals[first.id], -100)
    earlier = country.act(first, [(iin(930), 3)], period=OCTOBER, status="paid")
    earlier.amount_tiyn = 0
    _adjust(earlier, originals[first.id], -200)
    for school, status, amount in ((pending, "verified", -300), (outside, "accepted", -400),
                                   (dormitory, "accepted", -500), (elsewhere, "paid", -600)):
        act = country.act(school, [], period=NOVEMBER, status=status)
        if school is dormitory:
            act.instrument = "dormitory"
        _adjust(act, originals[school.id], amount)
    db.session.commit()
    scope = Act.school_id != outside.id
    got = [(line.act_number, line.amount_tiyn) for line in adjusted_lines(NOVEMBER, scope, first.region_id)]
    assert got == [(listed.number, -100)]
    assert [line.amount_tiyn for line in adjusted_lines(NOVEMBER, scope, first.region_id, "dormitory")] == [-500]
    assert [line.amount_tiyn for line in adjusted_lines(NOVEMBER, scope, elsewhere.region_id)] == [-600]


AUGUST_2027 = date(2027, 8, 1)


def _withdrawn_after_payment(country, school, students: list[str]) -> Act:
    """A paid August 2027 act of ``school`` whose pupils NEDB now says left on 1 August: each line clawed back."""
    for student in students:
        country.enrol(student, school.bin, grade=3, enrolled=date(2025, 9, 1), withdrawn=AUGUST_2027)
    act = country.act(school, [(student, 3) for student in students], period=AUGUST_2027, status="paid")
    for line in act.lines:
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", AMOUNT, 31
    act.amount_tiyn = AMOUNT * len(students)
    db.session.flush()
    return act


def test_every_correction_of_the_month_is_counted_in_its_regions_column_by_what_becomes_of_it(country):
    """August 2027, paid for two pupils each at three schools of Astana and two of Almaty, who had all left: Barred's
    next act is of October 2028 (both claw-backs before the look-back: time-barred), Ended has no act to come
    (unsettled), Waiting's September act is submitted, not verified (to be settled on it); Almaty's Far has no act to
    come, and Stuck's September act was returned (its next act, though October 2028's is open too: to be settled on
    it when verified again, not time-barred). Each column of each region is the sum of its lines — two lines each,
    not the last one."""
    barred, ended, waiting = (country.school(name) for name in ("Barred", "Ended", "Waiting"))
    far, stuck = (country.school(name, region=country.region2) for name in ("Far", "Stuck"))
    students = iter(iin(n) for n in range(940, 960))
    for school in (barred, ended, waiting, far, stuck):
        _withdrawn_after_payment(country, school, [next(students), next(students)])
    for school, period, status in ((barred, date(2028, 10, 1), "verified"), (waiting, date(2027, 9, 1), "submitted"),
                                   (stuck, date(2027, 9, 1), "returned"), (stuck, date(2028, 10, 1), "verified")):
        country.act(school, [(next(students), 3)], period=period, status=status).amount_tiyn = 0
    db.session.commit()
    everything = Act.id.is_not(None)
    with clock.FrozenClock(datetime(2028, 11, 2, 6, 0, tzinfo=UTC)):
        rows, total = reconcile(AUGUST_2027, everything)
    got = {r.region_id: (r.time_barred_tiyn, r.unsettled_tiyn, r.later_clawback_tiyn, r.later_top_up_tiyn)
           for r in rows}
    assert got == {country.region.id: (-2 * AMOUNT, -2 * AMOUNT, -2 * AMOUNT, 0),
                   country.region2.id: (0, -2 * AMOUNT, -2 * AMOUNT, 0)}
    assert (total.time_barred_tiyn, total.unsettled_tiyn, total.later_clawback_tiyn) == \
        (-2 * AMOUNT, -4 * AMOUNT, -4 * AMOUNT)


def test_the_total_withholds_by_rule_what_every_region_withholds_by_it(country):
    """An Astana and an Almaty school each have a line excluded by the same rule in October 2026: the total's
    "withheld by rule" is both lines' norms, not the last region's."""
    for n, region in enumerate((country.region, country.region2)):
        school = country.school("Excluding", region=region)
        act = country.act(school, [(iin(970 + n), 3), (iin(975 + n), 3)], period=OCTOBER, status="accepted")
        kept, excluded = sorted(act.lines, key=lambda line: line.line_no)
        kept.outcome, kept.amount_tiyn, kept.paid_days = "accepted", AMOUNT, 31
        excluded.outcome, excluded.rule_code, excluded.amount_tiyn = "excluded", "not_in_nedb", 0
        act.amount_tiyn = AMOUNT
    db.session.commit()
    rows, total = reconcile(OCTOBER, Act.id.is_not(None))
    assert [r.withheld_by_rule for r in rows] == [{"not_in_nedb": AMOUNT}, {"not_in_nedb": AMOUNT}]
    assert total.withheld_by_rule == {"not_in_nedb": 2 * AMOUNT}
    assert total.accepted_tiyn == 2 * AMOUNT


def _order(region_id: int):
    """The 2027/28 state order of a region (one per region and year)."""
    from app.orders.models import StateOrder

    order = StateOrder(number=f"SO-{region_id}", region_id=region_id, academic_year="2027/2028", budget_tiyn=10**12,
                       period_start=date(2027, 9, 1), period_end=date(2028, 5, 31), window_opens=date(2027, 6, 1),
                       window_closes=date(2027, 6, 30), status="open", placed_at=datetime(2027, 6, 1, tzinfo=UTC))
    db.session.add(order)
    db.session.flush()
    return order


def _contract(school, order, status: str, ends: date):
    """A contract of ``school`` under ``order`` (no act linked to it): only its status and term are read here."""
    from app.applications.models import Application
    from app.contracts.models import Contract

    at = datetime(2027, 7, 1, tzinfo=UTC)
    application = Application(number=f"AP-{school.bin}", order_id=order.id, school_id=school.id,
                              region_id=school.region_id, status="allocated", created_at=at)
    db.session.add(application)
    db.session.flush()
    db.session.add(Contract(number=f"C-{school.bin}", order_id=order.id, application_id=application.id,
                            school_id=school.id, region_id=school.region_id, period_start=date(2027, 9, 1),
                            period_end=ends, monthly_cap_tiyn=10**10, amount_cap_tiyn=10**11, status=status,
                            created_at=at))
    db.session.flush()


def test_each_organisation_whose_contract_runs_on_has_an_act_to_come_and_a_closed_contract_none(country):
    """Three schools paid for August 2027 for pupils who had left, none with an act open: two have a contract that
    runs on (ending in May and in June 2028) — their claw-backs wait for their next act —, the third's contract is
    closed: no act to come, unsettled."""
    first, second, closed = (country.school(name) for name in ("First", "Second", "Closed"))
    students = iter(iin(n) for n in range(980, 990))
    order = _order(country.region.id)
    for school, status, ends in ((first, "active", date(2028, 5, 31)), (second, "active", date(2028, 6, 30)),
                                 (closed, "closed", date(2028, 6, 30))):
        _withdrawn_after_payment(country, school, [next(students)])
        _contract(school, order, status, ends)
    db.session.commit()
    with clock.FrozenClock(datetime(2027, 9, 2, 6, 0, tzinfo=UTC)):
        (row,), _total = reconcile(AUGUST_2027, Act.id.is_not(None))
    assert (row.later_clawback_tiyn, row.unsettled_tiyn, row.time_barred_tiyn) == (-2 * AMOUNT, -AMOUNT, 0)


def test_every_top_up_waiting_for_the_next_act_is_counted_and_as_owed_to_the_school(country):
    """October 2026 paid two pupils for 10 days each (NEDB said then they came on the 22nd; now: enrolled since 2025):
    November's act is submitted, not verified — both top-ups wait for it, each counted, both positive."""
    school = country.school("Topped")
    students = [iin(991), iin(992)]
    for student in students:
        country.enrol(student, school.bin, grade=3, enrolled=date(2025, 9, 1))
    act = country.act(school, [(student, 3, 10) for student in students], period=OCTOBER, status="paid")
    paid = AMOUNT * 10 // 31
    for line in act.lines:
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", paid, 10
    act.amount_tiyn = 2 * paid
    country.act(school, [(students[0], 3)], period=NOVEMBER, status="submitted")
    db.session.commit()
    from app.acts.adjustments import unsettled_corrections

    owed = [u.amount_tiyn for u in unsettled_corrections(school)]
    assert len(owed) == 2 and all(amount > 0 for amount in owed)
    (row,), _total = reconcile(OCTOBER, Act.id.is_not(None))
    assert (row.later_top_up_tiyn, row.later_clawback_tiyn, row.unsettled_tiyn) == (sum(owed), 0, 0)
