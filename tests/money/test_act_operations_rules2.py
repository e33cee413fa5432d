"""The acts' one door (``app.acts.operations``), continued: what the fourteenth mutation round's second pass
(benchmarks/MUTATION.md) found untested in ``submit_act``, ``verify``, ``decide`` and ``claim_for_verification`` —
a submission judged by the act's own instrument (a dormitory's places stored with their beds, a school's line of no
day refused on its own row), an instrument that carries the form's grade and days as they are, and the refusals
word for word. Amounts worked out by hand: a grade-5 line is paid the basic norm, 4,230,000 tiyn a month."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import select

from app.acts import operations
from app.acts.models import ActLine
from app.acts.operations import submit_act
from app.dormitories.models import DormPlaceLine
from app.engine.errors import DomainRefused, FormInvalid
from app.extensions import db
from tests.money.test_act_operations_rules import _actor, _events
from tests.registry.conftest import iin

BASIC = 4_230_000  # the grade-5 norm a month, in tiyn (tests/registry/conftest.py NORMS["basic"])


@pytest.fixture()
def school(country):
    return country.school("Alpha")


def _stored(act) -> list[tuple]:
    db.session.expire_all()
    return [(ln.line_no, ln.iin, ln.full_name, ln.grade, ln.days_attended)
            for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


# --- submit_act ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["submitted", "verified", "accepted", "paid"])
def test_a_second_submission_is_refused_word_for_word(country, school, status):
    act = country.act(school, [(iin(1), 5)], status=status)
    db.session.commit()
    with pytest.raises(DomainRefused) as refused:
        submit_act(act, [], None, _actor(country))
    assert str(refused.value) == "This act has already been submitted."


def test_a_line_of_no_day_is_refused_on_its_own_row_by_the_schools_rule(country, school):
    """A school's lines pass its own rule (``school_line_values``): a line claiming no day of the month is refused,
    marked on the days of its row — the second row here, index 1 — not stored as claimed."""
    act = country.act(school, [(iin(1), 5)], status="returned")
    db.session.commit()
    lines = [{"iin": iin(2), "full_name": "B", "grade": 5, "days_attended": 20},
             {"iin": iin(3), "full_name": "C", "grade": 5, "days_attended": 0}]
    with pytest.raises(FormInvalid) as refused:
        submit_act(act, lines, None, _actor(country))
    errors = refused.value.errors
    assert set(errors) == {"lines.1.days_attended", "_form"}
    assert errors["lines.1.days_attended"] == errors["_form"]
    assert errors["_form"].startswith(f"C ({iin(3)}): a student who attended no day of October 2026")
    assert act.status == "returned"


def test_an_instrument_without_line_values_stores_the_forms_grade_and_days_as_they_are(country, school,
                                                                                       monkeypatch):
    """``Instrument.line_values`` None: "the form line carries them as they are" — no rule of the schools' runs
    (0 days would be refused by it), the grade and the days are stored as given."""
    plain = dataclasses.replace(operations.instrument("schools"), line_values=None, store_lines=None)
    monkeypatch.setattr(operations, "instrument_of", lambda act: plain)
    act = country.act(school, [(iin(1), 5)], status="awaiting_submission")
    db.session.commit()
    submit_act(act, [{"iin": iin(2), "full_name": "B", "grade": 7, "days_attended": 0},
                     {"iin": iin(3), "full_name": "C", "grade": 11, "days_attended": 31}], None, _actor(country))
    assert _stored(act) == [(1, iin(2), "B", 7, 0), (2, iin(3), "C", 11, 31)]


def test_a_dormitorys_submission_is_judged_and_stored_by_the_dormitorys_instrument(country):
    """A dormitory's act: each line's level is its course and its days the days the place is occupied in the month
    (moved in on 10 October, still there: 10–31 October, 22 days; moved out on 20 October, the first free day:
    10–19, 10 days), and each line's place (institution, room, bed, dates) is stored beside it."""
    dormitory = country.school("Dorm")
    dormitory.kind = "dormitory"
    act = country.act(dormitory, [], status="awaiting_submission")
    act.instrument = "dormitory"
    db.session.commit()
    college = "950440001673"
    lines = [{"iin": iin(1), "full_name": "A", "institution_bin": college, "course": 2, "room": 12, "bed": "B",
              "moved_in": "2026-10-10"},
             {"iin": iin(2), "full_name": "B", "institution_bin": college, "course": 1, "room": "7a", "bed": "1",
              "moved_in": "2026-10-10", "moved_out": "2026-10-20"}]
    submit_act(act, lines, None, _actor(country))
    assert _stored(act) == [(1, iin(1), "A", 2, 22), (2, iin(2), "B", 1, 10)]
    places = db.session.execute(
        select(ActLine.line_no, DormPlaceLine.institution_bin, DormPlaceLine.room, DormPlaceLine.bed,
               DormPlaceLine.moved_in, DormPlaceLine.moved_out)
        .join(DormPlaceLine, DormPlaceLine.line_id == ActLine.id).where(ActLine.act_id == act.id)
        .order_by(ActLine.line_no)).all()
    assert [tuple(p) for p in places] == [(1, college, "12", "B", date(2026, 10, 10), None),
                                          (2, college, "7a", "1", date(2026, 10, 10), date(2026, 10, 20))]
    [event] = _events(act)
    assert event.details == {"revision": 1, "lines": 2}


# --- decide ----------------------------------------------------------------------------------------------------


def _verified(country, school, period):
    act = country.act(school, [(iin(1), 5), (iin(2), 5)], period=period)
    operations.verify(act)
    db.session.commit()
    return act


def test_an_acceptance_carries_the_acts_facts_and_a_return_none(country, school, monkeypatch):
    """The acceptance's event holds the act's money facts (what ``verify-audit`` compares with the row later): two
    grade-5 lines, 2 × 4,230,000 = 8,460,000 tiyn, to the account pinned. A return decides no money: no facts."""
    import json

    from app.audit.facts import act_facts

    monkeypatch.setattr(operations, "tell_school", lambda *a, **k: None)
    official = _actor(country)
    for n in (1, 2):
        country.enrol(iin(n), school.bin, grade=5)
    accepted = _verified(country, school, date(2026, 10, 1))
    returned = _verified(country, school, date(2026, 11, 1))
    operations.decide(accepted, "accept", None, official)
    operations.decide(returned, "return", "see line 2", official)
    db.session.commit()
    acceptance = _events(accepted)[-1]
    assert acceptance.action == "act.accepted"
    assert acceptance.facts == json.loads(json.dumps(act_facts(accepted), default=str))
    assert acceptance.facts["amount_tiyn"] == 2 * BASIC
    assert acceptance.facts["payee_iban"] == "KZ86125KZT5004100100"
    [_verification, the_return] = _events(returned)
    assert (the_return.action, the_return.facts) == ("act.returned", None)


# --- verify ----------------------------------------------------------------------------------------------------


def test_a_decided_act_is_refused_word_for_word(country, school):
    act = country.act(school, [(iin(1), 5)], status="accepted")
    db.session.commit()
    with pytest.raises(DomainRefused) as refused:
        operations.verify(act)
    assert str(refused.value) == "The act has already been decided; it is not verified again."


def _recording_instrument(act, calls: list, settles: bool):
    """An instrument that records what it is asked: the summary of the act's one line, and what it settled."""
    from types import SimpleNamespace

    summary = SimpleNamespace(accepted=1, excluded=0, amount_tiyn=BASIC, by_rule={}, review_changes=["changed"])

    def verify(acts, on_step=None):
        calls.append(("verify", [a.id for a in acts]))
        return {a.id: summary for a in acts}

    def settle(acts):
        calls.append(("settle", acts if acts is None else [a.id for a in acts]))
        return {act.id: [{"id": 7, "amount_tiyn": -BASIC}], act.id + 1: [{"id": 8}]}

    return SimpleNamespace(verify=verify, settle=settle if settles else None)


@pytest.mark.parametrize("settles", [True, False])
def test_verify_runs_the_acts_own_instrument_settles_where_it_settles_and_audits_the_review_changes(
        country, school, monkeypatch, settles):
    """The act's instrument (asked with the act itself) verifies it and, if it settles, settles it: the event lists
    what was settled for this act, none of another's; the exclusions' review changes are audited on the act's
    chain."""
    act = country.act(school, [(iin(1), 5)], status="submitted")
    db.session.commit()
    calls: list = []
    made = _recording_instrument(act, calls, settles)
    monkeypatch.setattr(operations, "instrument_of", lambda asked: made if asked is act else None)
    recorded: list = []
    monkeypatch.setattr(operations, "exclusion_events",
                        lambda chain, act_id, changes: [("exclusion", chain, act_id, changes)])
    monkeypatch.setattr(operations, "record_events", recorded.extend)
    operations.verify(act)
    assert calls == [("verify", [act.id])] + ([("settle", [act.id])] if settles else [])
    [event] = _events(act)
    assert event.details["adjustments"] == ([{"id": 7, "amount_tiyn": -BASIC}] if settles else [])
    assert recorded == [("exclusion", f"act:{act.id}", act.id, ["changed"])]
    assert act.status == "verified"


def test_the_form_is_prefilled_by_the_instrument_of_the_act_itself(monkeypatch):
    from types import SimpleNamespace

    act = SimpleNamespace(id=8, instrument="dormitory")
    made = SimpleNamespace(prefill=lambda asked: [{"act": asked.id}])
    monkeypatch.setattr(operations, "instrument_of", lambda asked: made if asked is act else None)
    assert operations.prefill_lines(act) == [{"act": 8}]
