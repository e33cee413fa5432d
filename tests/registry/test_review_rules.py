"""The review decisions' rules, function by function (no database): the fingerprint of the values a decision is made
on, when a decision or an exclusion still holds for a line, what a verification says changed about the exclusions,
and the audit events it writes for them."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from app.acts.review import decision_holds, exclusion_changes, exclusion_events, exclusion_holds, values_basis

BORN_2015 = "150315500123"  # an IIN of a child born on 2015-03-15


def _line(**values) -> SimpleNamespace:
    line = {"id": 7, "iin": BORN_2015, "grade": 5, "full_name": "Ivanov Ivan", "days_attended": 20,
            "registry_name": "Иванов Иван", "paid_days": 12, "review_codes": "name"}
    return SimpleNamespace(**(line | values))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- values_basis: the fingerprint is stored with every decision, so its form is part of the rule ------------------

def test_the_fingerprint_of_each_check_is_over_the_values_the_official_sees_and_the_line():
    line = _line(full_name="  ИВАНОВ   иван ", registry_name="Иванов Иван")
    assert values_basis(line, "name") == _sha('[7,{"name":["иванов иван","иванов иван"]}]')
    assert values_basis(line, "age") == _sha('[7,{"age":[5,"2015-03-15"]}]')
    assert values_basis(line, "days") == _sha('[7,{"days":[20,12]}]')
    assert values_basis(line, "name,days,age,name") == _sha(
        '[7,{"age":[5,"2015-03-15"],"days":[20,12],"name":["иванов иван","иванов иван"]}]')


def test_the_fingerprint_keeps_a_missing_birth_date_and_ignores_an_unknown_check():
    line = _line(iin="159915500123")  # no such day: the IIN carries no birth date
    assert values_basis(line, "age") == _sha('[7,{"age":[5,null]}]')
    assert values_basis(line, "other") == _sha("[7,{}]")


def test_the_same_values_on_another_line_or_other_values_give_another_fingerprint():
    line = _line()
    assert values_basis(line, "name") != values_basis(_line(id=8), "name")
    assert values_basis(line, "name") != values_basis(_line(registry_name="Петров Пётр"), "name")
    assert values_basis(line, "days") != values_basis(_line(paid_days=13), "days")
    assert values_basis(line, "days") != values_basis(_line(days_attended=21), "days")
    assert values_basis(line, "age") != values_basis(_line(grade=6), "age")
    assert values_basis(line, "name") == values_basis(_line(paid_days=13, grade=6), "name")  # not what it is about


# -- decision_holds / exclusion_holds --------------------------------------------------------------------------------

@pytest.mark.parametrize("holds", [decision_holds, exclusion_holds])
def test_a_decision_holds_for_the_same_checks_on_the_same_values_only(holds):
    line = _line(review_codes="days,name")
    basis = values_basis(line, "days,name")
    assert holds(line, "days,name", basis) is True
    assert holds(line, "days,name", None) is True  # recorded before the values were kept: on its codes alone
    assert holds(line, "name", values_basis(line, "name")) is False  # another set of checks
    assert holds(line, "days,name", values_basis(_line(paid_days=3), "days,name")) is False  # other values
    assert holds(line, None, None) is False  # no decision
    assert holds(_line(review_codes=None), "name", None) is False  # the line needs no review now
    assert holds(_line(review_codes=None), None, None) is False


# -- exclusion_changes -----------------------------------------------------------------------------------------------

def _row(**values) -> SimpleNamespace:
    """An excluded line as verified now (its review codes, NEDB's name and days) with the decision, and as it was
    last written (``was_…``)."""
    decided_on = _line(review_codes="days,name")
    row = {**vars(_line()), "act_id": 40, "line_no": 3, "decided_codes": "days,name",
           "basis": values_basis(decided_on, "days,name"), "was_rule": "review_excluded",
           "was_review_codes": None, "was_registry_name": "Иванов Иван", "was_paid_days": None}
    return SimpleNamespace(**(row | values))


def test_an_exclusion_that_holds_on_a_line_it_excluded_keeps_it_excluded_and_changes_nothing():
    holding, changes = exclusion_changes([_row(review_codes="days,name")])
    assert (holding, changes) == ([7], {})


def test_an_exclusion_on_values_nedb_no_longer_has_lapses_the_line_is_paid_or_asked_again():
    paid = _row(id=1, line_no=1, review_codes=None, registry_name=None)
    asked = _row(id=2, line_no=2, review_codes="days,name", registry_name="Петров Пётр")
    other_act = _row(id=3, line_no=1, act_id=41, review_codes="name")
    holding, changes = exclusion_changes([paid, asked, other_act])
    assert holding == []
    assert changes == {
        40: [{"line_no": 1, "change": "lapsed", "codes": "days,name", "basis": paid.basis, "now": "accepted"},
             {"line_no": 2, "change": "lapsed", "codes": "days,name", "basis": asked.basis, "now": "needs_review"}],
        41: [{"line_no": 1, "change": "lapsed", "codes": "days,name", "basis": other_act.basis, "now": "needs_review"}],
    }


def test_values_back_to_those_decided_on_restore_the_exclusion():
    row = _row(review_codes="days,name", was_rule=None, was_review_codes=None, was_registry_name=None,
               was_paid_days=12)  # paid last time: NEDB had corrected the name
    holding, changes = exclusion_changes([row])
    assert holding == [7]
    assert changes == {40: [{"line_no": 3, "change": "restored", "codes": "days,name", "basis": row.basis,
                             "now": "review_excluded"}]}


@pytest.mark.parametrize("codes", ["days,name", "age,days,name"])
def test_an_exclusion_applied_right_after_the_decision_is_not_a_change(codes):
    """Not excluded when last written, but on the very values decided on (the official just excluded it): their own
    ``act.line_reviewed`` says so. Every value of the line as last written counts (id, IIN, grade, names, days)."""
    decided_on = _line(review_codes=codes)
    row = _row(review_codes=codes, decided_codes=codes, basis=values_basis(decided_on, codes), was_rule=None,
               was_review_codes=codes, was_registry_name="Иванов Иван", was_paid_days=12)
    assert exclusion_changes([row]) == ([7], {})


def test_a_line_not_excluded_whose_exclusion_does_not_hold_is_no_change():
    row = _row(review_codes=None, registry_name=None, was_rule=None, was_review_codes=None, was_registry_name=None,
               was_paid_days=20)
    assert exclusion_changes([row]) == ([], {})


# -- exclusion_events ------------------------------------------------------------------------------------------------

def test_one_event_per_kind_of_change_naming_its_lines_by_the_system():
    changes = [{"line_no": 1, "change": "restored", "codes": "name", "basis": "b1", "now": "review_excluded"},
               {"line_no": 2, "change": "lapsed", "codes": "days", "basis": "b2", "now": "accepted"},
               {"line_no": 3, "change": "lapsed", "codes": "name", "basis": "b3", "now": "needs_review"}]
    assert exclusion_events("instance:9", 40, changes) == [
        {"chain": "instance:9", "action": "act.review_exclusion_lapsed", "object_type": "act", "object_id": 40,
         "actor_id": None, "details": {"lines": [{"line_no": 2, "codes": "days", "basis": "b2", "now": "accepted"},
                                                 {"line_no": 3, "codes": "name", "basis": "b3",
                                                  "now": "needs_review"}]}},
        {"chain": "instance:9", "action": "act.review_exclusion_restored", "object_type": "act", "object_id": 40,
         "actor_id": None, "details": {"lines": [{"line_no": 1, "codes": "name", "basis": "b1",
                                                  "now": "review_excluded"}]}}]
    assert [e["action"] for e in exclusion_events("act:40", 40, changes[:1])] == ["act.review_exclusion_restored"]
    assert exclusion_events("act:40", 40, []) == []


def test_values_back_after_the_line_was_asked_again_on_others_restore_the_exclusion():
    """Asked again (NEDB had another name: the line needed review on the same checks), then NEDB's name back to the one
    decided on: the exclusion holds again, and that is a change."""
    row = _row(review_codes="days,name", was_rule=None, was_review_codes="days,name", was_registry_name="Петров Пётр",
               was_paid_days=12)
    holding, changes = exclusion_changes([row])
    assert holding == [7]
    assert [c["change"] for c in changes[40]] == ["restored"]


def test_every_line_is_decided_whatever_the_lines_before_it():
    unchanged = _row(id=1, line_no=1, review_codes="days,name",  # holds, as before: no change
                     basis=values_basis(_line(id=1, review_codes="days,name"), "days,name"))
    lapsed = _row(id=2, line_no=2, review_codes=None)
    holding, changes = exclusion_changes([unchanged, lapsed, unchanged])
    assert holding == [1, 1]
    assert [(c["line_no"], c["change"]) for c in changes[40]] == [(2, "lapsed")]
