"""Every contingent rule on hand-made cases, with the edge dates of a month."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

from app.acts.rules import RULES
from app.acts.terms import ActTerms, register_terms_provider
from app.acts.verification import enrolled_days, prorated, verify_act, verify_acts
from app.extensions import db
from tests.registry.conftest import NORMS, OCTOBER, bad_iin, iin

EXPECTED_CODES = {"iin_checksum", "duplicate_line", "not_in_nedb", "other_school", "withdrawn", "not_registered",
                  "double_claim", "double_enrolment", "grade_mismatch", "level_not_covered", "over_capacity",
                  "over_contracted_places",
                  "licence_expired", "non_education_org", "no_business_record", "no_licence", "review_excluded",
                  "liquidated"}


def outcomes(act) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(ln.outcome, ln.rule_code) for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


@pytest.fixture()
def terms():
    """Hand-made contract terms for one act id (what the lifecycle's provider would return)."""
    table: dict[int, ActTerms] = {}
    from app.acts import terms as terms_module

    provider = register_terms_provider(lambda act: table.get(act.id))
    yield table
    terms_module._providers.remove(provider)


def test_every_rule_has_a_title_and_reason_in_each_language(app_ctx):
    assert set(RULES) == EXPECTED_CODES
    for locale in ("en", "ru", "kk"):
        with force_locale(locale):
            for rule in RULES.values():
                assert str(rule.title) and str(rule.reason)


def test_clean_act_is_accepted_with_the_norm_of_each_grade(country):
    school = country.school()
    for n, grade in ((1, 2), (2, 7), (3, 11)):
        country.enrol(iin(n), school.bin, grade=grade)
    act = country.act(school, [(iin(1), 2), (iin(2), 7), (iin(3), 11)])
    summary = verify_act(act)
    assert outcomes(act) == [("accepted", None)] * 3
    assert summary.amount_tiyn == act.amount_tiyn == NORMS["primary"] + NORMS["basic"] + NORMS["secondary"]
    assert act.withheld_tiyn == 0 and (act.total_lines, act.accepted_lines) == (3, 3)


def test_passes_in_one_transaction_share_the_working_tables_but_not_their_rows(country):
    """The working tables stay with the connection between passes (no DDL per act) and are empty after each."""
    from sqlalchemy import text

    school, other = country.school("Here"), country.school("There")
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), other.bin)
    first = country.act(school, [(iin(1), 5), (iin(2), 5)])
    second = country.act(other, [(iin(2), 5), (iin(1), 5)])

    verify_act(first)
    conn = db.session.connection()
    assert conn.execute(text("SELECT COUNT(*) FROM tmp_vact")).scalar() == 0
    verify_act(second)

    assert [r for _, r in outcomes(first)] == [None, "other_school"]
    assert [r for _, r in outcomes(second)] == [None, "other_school"]
    assert conn.execute(text("SELECT COUNT(*) FROM tmp_vact")).scalar() == 0


def test_registry_rules_on_hand_made_lines(country):
    school, other = country.school("Here"), country.school("There")
    state = country.state_bin()
    country.enrol(iin(1), school.bin)  # fine
    country.enrol(iin(2), other.bin)  # studies at another school
    country.enrol(iin(3), school.bin, withdrawn=date(2026, 9, 20))  # dropped out in September
    country.enrol(iin(4), school.bin, enrolled=date(2026, 11, 2))  # starts next month
    country.enrol(iin(5), school.bin)  # also at a state school the same days
    country.enrol(iin(5), state, kind="state", enrolled=date(2026, 10, 10))
    country.enrol(iin(6), school.bin, grade=4)  # the act claims grade 10
    act = country.act(school, [
        (iin(1), 5), (bad_iin(9), 5), (iin(1), 5), (iin(7), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5),
        (iin(5), 5), (iin(6), 10), ("ABC", 5),
    ])
    summary = verify_act(act)
    assert [r for _, r in outcomes(act)] == [
        None, "iin_checksum", "duplicate_line", "not_in_nedb", "other_school", "withdrawn", "not_registered",
        "double_enrolment", "grade_mismatch", "iin_checksum",
    ]
    assert summary.accepted == 1 and summary.by_rule["iin_checksum"] == 2
    # Money withheld is the claimed grade's norm of every excluded line.
    assert act.withheld_tiyn == 8 * NORMS["basic"] + NORMS["secondary"]
    assert act.amount_tiyn == NORMS["basic"]


def test_edge_dates_enrolled_on_last_day_counts_withdrawn_on_first_day_does_not(country):
    school = country.school()
    country.enrol(iin(1), school.bin, enrolled=date(2026, 10, 31))  # one day of October
    country.enrol(iin(2), school.bin, withdrawn=date(2026, 10, 1))  # zero days of October
    country.enrol(iin(3), school.bin, withdrawn=date(2026, 10, 2))  # one day of October
    country.enrol(iin(4), school.bin, enrolled=date(2026, 11, 1))  # none
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5)])
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, "withdrawn", None, "not_registered"]


def test_transfer_on_the_same_day_is_not_a_double_enrolment(country):
    school = country.school()
    state = country.state_bin()
    country.enrol(iin(1), state, kind="state", withdrawn=date(2026, 10, 15))
    country.enrol(iin(1), school.bin, enrolled=date(2026, 10, 15))
    # one shared day, the last at the state school and the first here: a transfer recorded on one day at both — the
    # 15th is the school the child entered (app.acts.verification._handed_over_sql; it was a double_enrolment)
    country.enrol(iin(2), state, kind="state", withdrawn=date(2026, 10, 16))
    country.enrol(iin(2), school.bin, enrolled=date(2026, 10, 15))
    country.enrol(iin(3), state, kind="state", withdrawn=date(2026, 10, 17))  # two shared days: the 15th and 16th
    country.enrol(iin(3), school.bin, enrolled=date(2026, 10, 15))
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5)])
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, None, "double_enrolment"]
    assert [ln.paid_days for ln in sorted(act.lines, key=lambda ln: ln.line_no)][:2] == [17, 17]


def test_a_transfer_claimed_by_both_schools_pays_each_its_own_days_in_any_order(country):
    """Order-independent: NEDB decides who has the student on each day, not which act was verified first."""
    first, second = country.school("First"), country.school("Second")
    country.enrol(iin(1), first.bin, withdrawn=date(2026, 10, 10))  # 9 days at the first school
    country.enrol(iin(1), second.bin, enrolled=date(2026, 10, 10))  # 22 days at the second
    act1 = country.act(first, [(iin(1), 5, 9)])
    act2 = country.act(second, [(iin(1), 5, 22)])
    norm = NORMS["basic"]
    expected = ([("accepted", None)], [("accepted", None)], norm * 9 // 31, norm * 22 // 31)

    def result():
        return outcomes(act1), outcomes(act2), act1.amount_tiyn, act2.amount_tiyn

    verify_act(act1)
    act1.status = "verified"
    verify_act(act2)
    assert result() == expected
    verify_act(act2)
    act2.status = "verified"
    verify_act(act1)  # the other order
    assert result() == expected
    verify_acts([act1, act2])  # month-wide
    assert result() == expected
    assert act1.amount_tiyn + act2.amount_tiyn < norm  # never both in full


def test_a_student_at_two_schools_on_the_same_days_is_excluded_on_both_acts_in_any_order(country):
    first, second = country.school("First"), country.school("Second")
    country.enrol(iin(1), first.bin)
    country.enrol(iin(1), second.bin, enrolled=date(2026, 10, 5))
    act1, act2 = country.act(first, [(iin(1), 5)]), country.act(second, [(iin(1), 5)])
    for order in ((act1, act2), (act2, act1)):
        for act in order:
            verify_act(act)
            act.status = "verified"
        assert outcomes(act1) == outcomes(act2) == [("excluded", "double_enrolment")]
    verify_acts([act1, act2])
    assert outcomes(act1) == outcomes(act2) == [("excluded", "double_enrolment")]


def test_a_claim_of_another_schools_student_is_other_school_whichever_is_verified_first(country):
    first, second = country.school("First"), country.school("Second")
    country.enrol(iin(1), first.bin)
    act2 = country.act(second, [(iin(1), 5)])
    verify_act(act2)  # the wrong claimant first
    act2.status = "verified"
    act1 = country.act(first, [(iin(1), 5)])
    verify_act(act1)
    assert outcomes(act1) == [("accepted", None)] and outcomes(act2) == [("excluded", "other_school")]


def test_school_level_rules_exclude_every_line(country):
    liquidated, shop, expired, good = (country.school(n, registered=False)
                                       for n in ("Liquidated", "Shop", "Expired", "Good"))
    country.business(liquidated, status="liquidated")
    country.business(shop, oked="47.11")
    country.business(expired)
    country.business(good)
    country.licence(liquidated)
    country.licence(shop)
    country.licence(expired, valid_until=date(2026, 9, 30))  # ended before the month began
    country.licence(good, valid_until=date(2026, 10, 31))  # valid to the last day: fine
    acts = []
    for n, school in enumerate((liquidated, shop, expired, good), start=1):
        country.enrol(iin(n), school.bin)
        acts.append(country.act(school, [(iin(n), 5), (bad_iin(n + 10), 5)]))
    verify_acts(acts)
    assert [r for _, r in outcomes(acts[0])] == ["non_education_org"] * 2
    assert [r for _, r in outcomes(acts[1])] == ["non_education_org"] * 2
    assert [r for _, r in outcomes(acts[2])] == ["licence_expired"] * 2
    assert [r for _, r in outcomes(acts[3])] == [None, "iin_checksum"]
    assert acts[0].amount_tiyn == 0 and acts[0].withheld_tiyn == 2 * NORMS["basic"]


def test_licence_levels_and_contract_grades_limit_the_levels(country, terms):
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, levels="primary,basic")
    for n, grade in ((1, 3), (2, 9), (3, 10)):
        country.enrol(iin(n), school.bin, grade=grade)
    act = country.act(school, [(iin(1), 3), (iin(2), 9), (iin(3), 10)])
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, None, "level_not_covered"]
    terms[act.id] = ActTerms(allowed_grades=frozenset(range(1, 5)))  # the contract: primary only
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, "level_not_covered", "level_not_covered"]


@pytest.mark.parametrize(("first", "then", "basic_days"), [
    ("primary", "primary,basic", 16),  # basic added from the 16th: paid 16–31 October
    ("primary,basic", "primary", 15),  # basic dropped from the 16th: paid 1–15 October
], ids=["level added", "level dropped"])
def test_a_day_pays_a_line_only_if_a_licence_valid_that_day_covers_its_level(country, first, then, basic_days):
    """The school's licence changes its levels on 16 October: L1 until the 15th, L2 from the 16th. A basic-level
    pupil is paid only the days a licence covers basic — not every day some licence covers — with one NEDB row
    or several (re-enrolled on the 20th); primary pupils, covered by both, are paid the whole month; a pupil
    enrolled here only on days no licence covers basic is licence_expired; secondary, never covered, is not."""
    school = country.school(registered=False)
    country.business(school)
    country.licence(school, valid_until=date(2026, 10, 15), levels=first, number="L1")
    country.licence(school, valid_from=date(2026, 10, 16), levels=then, number="L2")
    # iin(4) is here only on the days no licence covers basic: 1–15 October if added, 16–31 if dropped.
    outside = (date(2026, 9, 1), date(2026, 10, 16)) if basic_days == 16 else (date(2026, 10, 16), None)
    country.enrol(iin(1), school.bin, grade=3)
    country.enrol(iin(2), school.bin, grade=5)
    country.enrol(iin(3), school.bin, grade=5, withdrawn=date(2026, 10, 20))  # re-enrolled the same day
    country.enrol(iin(3), school.bin, grade=5, enrolled=date(2026, 10, 20))
    country.enrol(iin(4), school.bin, grade=5, enrolled=outside[0], withdrawn=outside[1])
    country.enrol(iin(5), school.bin, grade=10)
    act = country.act(school, [(iin(1), 3), (iin(2), 5), (iin(3), 5), (iin(4), 5), (iin(5), 10)])
    verify_act(act)
    assert [r for _, r in outcomes(act)] == [None, None, None, "licence_expired", "level_not_covered"]
    paid = {ln.line_no: (ln.amount_tiyn, ln.paid_days) for ln in act.lines}
    basic = NORMS["basic"] * basic_days // 31
    assert basic == {16: 2_183_225, 15: 2_046_774}[basic_days]  # the auditor's figures
    assert paid[1] == (NORMS["primary"], 31)
    assert paid[2] == paid[3] == (basic, basic_days)
    assert act.amount_tiyn == NORMS["primary"] + 2 * basic


def test_over_capacity_excludes_lines_beyond_the_design_capacity(country, terms):
    school = country.school(capacity=2)
    for n in range(1, 5):
        country.enrol(iin(n), school.bin)
    act = country.act(school, [(iin(9), 5), (iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 5)])
    verify_act(act)
    # The phantom on line 1 does not take a place; lines beyond the first two valid ones do not count.
    assert [r for _, r in outcomes(act)] == ["not_in_nedb", None, None, "over_capacity", "over_capacity"]
    terms[act.id] = ActTerms(design_capacity=None)
    verify_act(act)
    assert [r for _, r in outcomes(act)] == ["not_in_nedb", None, None, None, None]


def test_contracted_places_per_level_go_to_the_students_here_longest(country, terms):
    """A contract's places bind per level: two primary places pay the two first-graders enrolled earliest in
    NEDB, whatever the line order; basic has room; then the design capacity counts what the contract pays."""
    school = country.school(capacity=500)
    enrolled = {1: date(2024, 9, 1), 2: date(2026, 9, 1), 3: date(2023, 9, 1), 4: date(2025, 9, 1)}
    for n, day in enrolled.items():
        country.enrol(iin(n), school.bin, grade=2, enrolled=day)
    country.enrol(iin(5), school.bin, grade=6)
    country.enrol(iin(6), school.bin, grade=2, withdrawn=date(2026, 9, 15))  # withdrawn: takes no place
    for order, month in (([1, 2, 3, 4, 6], OCTOBER), ([4, 3, 6, 2, 1], date(2026, 11, 1))):
        act = country.act(school, [(iin(n), 2) for n in order] + [(iin(5), 6)], period=month)
        terms[act.id] = ActTerms(places_by_level=(("primary", 2), ("basic", 1), ("secondary", 0)))
        summary = verify_act(act)
        by_iin = {ln.iin: ln.rule_code for ln in act.lines}
        assert by_iin == {iin(1): None, iin(2): "over_contracted_places", iin(3): None,
                          iin(4): "over_contracted_places", iin(5): None, iin(6): "withdrawn"}
        assert summary.by_rule["over_contracted_places"] == 2 and act.accepted_lines == 3
        assert act.amount_tiyn == 2 * NORMS["primary"] + NORMS["basic"]
    terms[act.id] = ActTerms(places_by_level=(("primary", 2), ("basic", 1)), design_capacity=1)
    verify_act(act)
    # The contract pays two first-graders and the fifth-grader; the building holds one: the one here longest.
    assert {ln.iin: ln.rule_code for ln in act.lines if ln.rule_code != "withdrawn"} == {
        iin(1): "over_capacity", iin(2): "over_contracted_places", iin(3): None, iin(4): "over_contracted_places",
        iin(5): "over_capacity"}
    terms[act.id] = ActTerms()  # no contract: no places per level
    verify_act(act)
    assert sorted(r or "" for _, r in outcomes(act)) == ["", "", "", "", "", "withdrawn"]


def test_amount_cap_and_prorating_by_days_enrolled(country, terms):
    school = country.school()
    country.enrol(iin(1), school.bin, grade=2)  # whole month
    country.enrol(iin(2), school.bin, grade=2, enrolled=date(2026, 10, 31))  # 1 day
    country.enrol(iin(3), school.bin, grade=2, withdrawn=date(2026, 10, 11))  # 10 days
    act = country.act(school, [(iin(1), 2), (iin(2), 2), (iin(3), 2)])
    terms[act.id] = ActTerms()
    summary = verify_act(act)
    norm = NORMS["primary"]
    expected = [norm, norm * 1 // 31, norm * 10 // 31]
    assert [ln.amount_tiyn for ln in sorted(act.lines, key=lambda ln: ln.line_no)] == expected
    assert summary.amount_tiyn == act.amount_tiyn == sum(expected)
    assert act.withheld_tiyn == 3 * norm - sum(expected)

    terms[act.id] = ActTerms(amount_cap_tiyn=5_000_000)  # every act is paid by days, under a contract or not
    summary = verify_act(act)
    assert act.amount_tiyn == 5_000_000 and summary.capped_tiyn == sum(expected) - 5_000_000
    assert act.withheld_tiyn == 3 * norm - 5_000_000


def test_day_arithmetic():
    assert enrolled_days(date(2026, 10, 31), None, date(2026, 10, 1), date(2026, 10, 31)) == 1
    assert enrolled_days(date(2026, 9, 1), date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 31)) == 0
    assert enrolled_days(date(2026, 9, 1), None, date(2027, 2, 1), date(2027, 2, 28)) == 28
    assert prorated(3_850_000, 31, 31) == 3_850_000 and prorated(100, 1, 3) == 33


def test_verification_issues_a_constant_number_of_statements(country, app_ctx):
    """Set-based: checking 60 lines takes no more SQL statements than checking 3."""
    from sqlalchemy import event

    school = country.school(capacity=None)
    for n in range(1, 61):
        country.enrol(iin(n), school.bin)
    small = country.act(school, [(iin(n), 5) for n in range(1, 4)])
    other = country.school(capacity=None)
    big = country.act(other, [(iin(n), 5) for n in range(1, 61)])
    counts = []
    for act in (small, big):
        seen: list[str] = []
        listener = lambda *args, seen=seen: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            verify_act(act)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(seen))
    assert counts[0] == counts[1]
