"""The audit-chain check's problems read in the reader's language (walk9: an auditor reading in Russian).

The whole trail's check (Administration → Audit-chain check) and one act's trail check (the act's page) listed each
problem as the check's English sentence — "content does not match its hash (tampered)", "act 7: amount_tiyn differs
from event instance:3#5" — on ru and kk pages. Each problem is now said through the catalogue, with its numbers; the
English sentence stays folded as the technical detail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.acts.models import Act
from app.acts.operations import act_chain
from app.audit.models import AuditEvent
from app.audit.problem_words import problem_in_words
from app.extensions import db
from tests.helpers import add_paid_history, school

UNNAMED = "A problem this page cannot name in your language"


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


def test_the_whole_trails_problem_is_said_in_words_with_the_sentence_folded(world, browser):
    db.session.execute(update(AuditEvent).where(AuditEvent.id == db.session.scalar(select(func.min(AuditEvent.id))))
                       .values(action="tampered"))
    db.session.commit()
    auditor = browser("auditor")
    assert auditor.post("/admin/audit").status_code == 303
    page = auditor.get("/admin/audit").get_data(as_text=True)
    table = page.split('id="audit-problems"', 1)[1].split("</table>", 1)[0]
    assert "<td>The event&#39;s content does not match its hash: it was changed.<details" in table
    assert "<code>content does not match its hash (tampered)</code></details>" in table


def test_an_acts_trail_problem_is_said_in_words(world, browser):
    act = db.session.scalars(select(Act).where(Act.status == "paid", Act.school_id ==
                                               school("Bilim Innovation School").id).order_by(Act.id)).first()
    # a database writer rewrites the second event of the act's chain
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == act_chain(act))
                               .order_by(AuditEvent.seq)).all()[1]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(action="tampered"))
    db.session.commit()
    page = browser("auditor").get(f"/acts/{act.id}?trail=check").get_data(as_text=True)
    listed = page.split('id="trail-problem-list"', 1)[1].split("</ul>", 1)[0]
    assert f"<li>#{event.seq}: The event&#39;s content does not match its hash: it was changed.</li>" in listed
    assert "(tampered)" not in listed, "the English sentence is only in the technical detail"


@pytest.mark.parametrize("reason", [
    "gap: expected seq 4",
    "prev_hash does not match the previous event",
    "unknown audit key id 'k9'",
    "unkeyed (sha256-legacy) event after keyed events",
    "sha256-legacy event carries facts it cannot cover",
    "sha256-legacy event written after keyed hashes began (forged without the key?)",
    "sha256-legacy event that anchor 3 does not hold (keyed hashes were in use when it was written)",
    "payment 4: no audit event vouches for its facts",
    "contract 2: vouched for by the event but missing",
    "outside_settlement 1: vouched for by the event but missing",
    "act 5: vouched for by the event as accepted, but no longer accepted or paid",
    "act 5: a payment pays it, but its status is 'accepted', not paid",
    "act 5: its status is 'paid', but no payment pays it (none registered, or the bank returned it)",
    "payment 4: sent to KZ000000000000000001, but act 5 was accepted to be paid to KZ000000000000000002",
    "contract 2: its stored signed document's SHA-256 is ab12, its signatures record cd34",
    "contract 2: signed before the documents were stored, and no layout gives its signatures' SHA-256 (flagged for "
    "the operator)",
    "chain deleted: anchor 3 vouched for 12 event(s)",
    "truncated: anchor 3 vouched for events up to #12, the database ends at #9",
    "event differs from anchor 3 (rewritten)",
    "anchor 3: unknown audit key id 'k9'",
    "anchor 3: signature does not verify",
    "anchor 3: the previous anchor file was changed",
    "anchor 3: its link to the anchor before it is not checked: file unreadable",
    "anchor file(s) missing: 0004.json",
    "anchor: unreadable file 0005.json; no anchor was checked",
])
def test_every_sentence_the_check_writes_has_words(app, reason):
    """Guard of the table: each shape the check writes (app/audit/operations.py, anchors.py,
    app/contracts/documents.py) is named, not left to the fallback."""
    with app.test_request_context("/"):
        said = problem_in_words(reason)
    assert UNNAMED not in said and "%(" not in said, said
