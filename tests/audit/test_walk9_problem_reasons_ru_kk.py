"""Needs TRANSLATIONS.jsonl (walk9) merged: an auditor reading in Russian or Kazakh reads one act's trail problem in
her language, not the check's English sentence (tests/audit/test_walk9_problem_reasons_in_words.py proves the page
says it through the catalogue; this proves the catalogue says it)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.acts.models import Act
from app.acts.operations import act_chain
from app.audit.models import AuditEvent
from app.extensions import db
from tests.helpers import add_paid_history, school


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


@pytest.mark.parametrize(("language", "said"), [
    ("ru", "Содержимое события не совпадает с его хешем: оно изменено."),
    ("kk", "Оқиғаның мазмұны оның хешіне сәйкес келмейді: ол өзгертілген."),
])
def test_an_acts_trail_problem_reads_in_russian_and_kazakh(world, browser, language, said):
    act = db.session.scalars(select(Act).where(Act.status == "paid", Act.school_id ==
                                               school("Bilim Innovation School").id).order_by(Act.id)).first()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == act_chain(act))
                               .order_by(AuditEvent.seq)).all()[1]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(action="tampered"))
    db.session.commit()
    auditor = browser("auditor")
    auditor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = auditor.get(f"/acts/{act.id}?trail=check").get_data(as_text=True)
    listed = page.split('id="trail-problem-list"', 1)[1].split("</ul>", 1)[0]
    assert f"<li>#{event.seq}: {said}</li>" in listed
