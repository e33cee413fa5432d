"""The official's decision on a flagged line (``decide_line``), rule by rule: when it is refused (word for word, nothing
written), what it records (the decision, the values it was made on, who and when) and the audit event it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.acts.models import ActLineReview
from app.acts.review import MAX_COMMENT, decide_line, ensure_reviews_resolved, values_basis
from app.audit.models import AuditEvent
from app.clock import FrozenClock
from app.engine.errors import ConflictError, DomainRefused
from app.extensions import db
from tests.registry.test_review_basis import world  # noqa: F401 - the fixture

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def _nothing_written() -> None:
    assert db.session.scalar(select(func.count()).select_from(ActLineReview)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "act.line_reviewed")) == 0


def _refused(act, line_id, decision, comment, official, message, **kw) -> None:
    with pytest.raises(DomainRefused) as refused:
        decide_line(act, line_id, decision, comment, official, **kw)
    assert str(refused.value) == message
    _nothing_written()


def test_a_line_is_decided_only_while_the_act_waits_for_the_department(world):  # noqa: F811 - the fixture
    act, lines, official = world
    for status in ("submitted", "accepted", "returned"):
        act.status = status
        _refused(act, lines[1].id, "confirm", None, official,
                 "Lines can be reviewed only while the act waits for the department's decision.")


def test_a_decision_from_a_page_of_an_older_version_is_refused_and_one_of_the_current_taken(world):  # noqa: F811
    act, lines, official = world
    with pytest.raises(ConflictError) as conflict:
        decide_line(act, lines[1].id, "confirm", None, official, seen=act.lock_version - 1)
    assert str(conflict.value) == ("The act has changed since you opened it (a colleague decided a line, or it was "
                                   "verified again): nothing was saved. Review its current state and decide again.")
    _nothing_written()
    assert decide_line(act, lines[1].id, "confirm", None, official, seen=act.lock_version).decision == "confirm"


def test_only_keep_or_exclude_is_a_decision(world):  # noqa: F811 - the fixture
    act, lines, official = world
    for decision in ("", "Confirm", "accept", None):
        _refused(act, lines[1].id, decision, "a reason", official, "Choose whether to keep or exclude the line.")


def test_the_comment_is_at_most_its_length_and_without_direction_controls(world):  # noqa: F811 - the fixture
    act, lines, official = world
    _refused(act, lines[1].id, "exclude", "x" * (MAX_COMMENT + 1), official,
             f"A comment can be at most {MAX_COMMENT} characters.")
    _refused(act, lines[1].id, "confirm", "same child \u202egnilleps", official,
             "Remove the invisible text-direction characters: they make the text read other than it is.")
    review = decide_line(act, lines[1].id, "exclude", " " + "x" * MAX_COMMENT + " ", official)
    assert review.comment == "x" * MAX_COMMENT


def test_an_exclusion_says_why(world):  # noqa: F811 - the fixture
    act, lines, official = world
    for comment in (None, "", "   \n"):
        _refused(act, lines[1].id, "exclude", comment, official, "Say why the line is excluded.")


def test_only_a_flagged_line_of_this_act_is_decided(world, country):  # noqa: F811 - the fixture
    act, lines, official = world
    other = country.act(country.school("Beta"), [(lines[1].iin, 5)])
    other_line = other.lines[0]
    other_line.review_codes = "name"
    db.session.flush()
    for line_id in (lines[3].id, other_line.id, 10**9):  # a clean line, another act's flagged line, none
        _refused(act, line_id, "confirm", None, official, "This line does not need review.")


def test_a_decision_records_the_values_it_was_made_on_who_and_when_and_audits_it(world):  # noqa: F811
    act, lines, official = world
    line = lines[1]
    expected_basis = values_basis(line, "name")
    with FrozenClock(AT):
        review = decide_line(act, line.id, "confirm", "  same child, NEDB's spelling  ", official,
                             seen=act.lock_version)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalars(select(ActLineReview)).one()
    assert stored.id == review.id
    assert (stored.act_id, stored.line_id, stored.codes, stored.basis, stored.decision, stored.comment,
            stored.decided_by_id) == (act.id, line.id, "name", expected_basis, "confirm", "same child, NEDB's spelling",
                                      official.id)
    assert stored.decided_at.replace(tzinfo=UTC) == AT
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.line_reviewed")).one()
    assert (event.chain, event.object_type, event.object_id, event.actor_id) == (f"act:{act.id}", "act", act.id,
                                                                                 official.id)
    assert event.details == {"line_no": 1, "codes": "name", "basis": expected_basis, "decision": "confirm",
                             "comment": "same child, NEDB's spelling"}


def test_a_blank_comment_is_no_comment(world):  # noqa: F811 - the fixture
    act, lines, official = world
    review = decide_line(act, lines[2].id, "confirm", "   ", official)
    db.session.commit()
    assert review.comment is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.line_reviewed")).one()
    assert event.details["comment"] == "" and event.details["codes"] == "days"


def test_a_decision_made_again_replaces_the_first_on_the_same_record(world):  # noqa: F811 - the fixture
    act, lines, official = world
    first = decide_line(act, lines[1].id, "exclude", "not this child", official)
    db.session.commit()
    assert lines[1].rule_code == "review_excluded"  # applied at once: the act verified again
    again = decide_line(db.session.merge(act), lines[1].id, "confirm", None, official)
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(ActLineReview)) == 1
    assert (again.decision, again.comment, again.codes) == ("confirm", None, "name")
    # kept after the exclusion: the values it holds for are the exclusion's, not the excluded line's (no days paid)
    assert again.basis == first.basis


def test_an_act_is_accepted_only_once_every_flagged_line_is_decided(world):  # noqa: F811 - the fixture
    act, lines, official = world
    with pytest.raises(DomainRefused) as refused:
        ensure_reviews_resolved(act)
    assert str(refused.value) == "Lines that need review: 2. Decide each before accepting the act."
    decide_line(act, lines[1].id, "confirm", None, official)
    with pytest.raises(DomainRefused, match="^Lines that need review: 1. Decide"):
        ensure_reviews_resolved(act)
    decide_line(act, lines[2].id, "confirm", None, official)
    ensure_reviews_resolved(act)  # nothing left to decide


def test_the_pass_finds_the_acts_with_an_exclusion_among_those_it_verifies_in_chunks(world, country,  # noqa: F811
                                                                                      monkeypatch):
    """Only an *exclude* makes an act's lines look their decision up; every chunk of the acts asked about is read, and
    no act outside them is named."""
    from app.acts import verification

    act, lines, official = world
    others = []
    for name in ("Beta", "Gamma", "Delta"):
        other = country.act(country.school(name), [(lines[1].iin, 5)])
        others.append(other)
    for other, decision in zip(others, ("exclude", "confirm", "exclude"), strict=True):
        db.session.add(ActLineReview(act_id=other.id, line_id=other.lines[0].id, codes="name", basis=None,
                                     decision=decision, comment="x", decided_by_id=official.id, decided_at=AT))
    db.session.add(ActLineReview(act_id=act.id, line_id=lines[1].id, codes="name", basis=None, decision="exclude",
                                 comment="x", decided_by_id=official.id, decided_at=AT))
    db.session.flush()
    monkeypatch.setattr(verification, "_CHUNK", 1)
    asked = [act.id, others[0].id, others[1].id]  # not the last act: it is not in this pass
    assert verification._acts_with_exclusions(asked) == {act.id, others[0].id}
    assert verification._acts_with_exclusions([]) == set()


def _instance() -> int:
    """A process instance row (an act started by its process): only its id is read here."""
    from app.engine.models import ProcessInstance, ProcessModel, ProcessModelVersion

    model = ProcessModel(identifier="act", name="Act", created_at=AT)
    version = ProcessModelVersion(process_model=model, number=1, status="published", files={}, content_hash="0" * 64,
                                  created_at=AT)
    instance = ProcessInstance(model_version=version, process_id="act", title="Act", status="running", state="{}",
                               started_at=AT, updated_at=AT)
    db.session.add_all([model, version, instance])
    db.session.flush()
    return instance.id


def test_the_decision_is_audited_on_the_acts_process_and_verifies_it_at_the_officials_request(world):  # noqa: F811
    act, lines, official = world
    act.instance_id = _instance()
    db.session.flush()
    decide_line(act, lines[1].id, "exclude", "not this child", official)
    db.session.commit()
    reviewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.line_reviewed")).one()
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified")
                                  .order_by(AuditEvent.id.desc())).first()
    assert reviewed.chain == verified.chain == f"instance:{act.instance_id}"
    assert verified.actor_id is None and verified.details["requested_by"] == official.id
