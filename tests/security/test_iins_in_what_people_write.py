"""A child's IIN written into a sentence follows the rule of the IIN in its own column: in full for the roles whose
work needs it (the school, the department), masked for a process owner and an administrator.

The act's lines were masked for those two (tests/security/test_personal_data_masking.py), but what people write
about the lines was not: an official's case comment "7910 2830 2728 studies elsewhere", or the reason an act was
returned for correction, reached the process owner in full on the task page, the act's page, the cockpit's history and
the API's instance document. The sentence is kept; the IINs in it are masked as an IIN value is (its last four digits
kept, so two can still be told apart).
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.engine.runtime import complete_task
from app.extensions import db
from app.notifications.announce import announce_new_tasks
from app.notifications.models import OutboxEmail
from app.processes.masking import mask
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user

MASKED = ("owner", "admin")
#: the first line's child, written as people write it on paper
GROUPS = "{0} {1} {2}"


def _grouped(iin: str) -> str:
    return GROUPS.format(iin[:4], iin[4:8], iin[8:])


def _pages(act, task) -> tuple[str, ...]:
    return (f"/tasks/{task.id}", f"/acts/{act.id}", f"/instances/{act.instance_id}",
            f"/api/v1/instances/{act.instance_id}")


@pytest.mark.parametrize("username", MASKED)
def test_a_case_comment_naming_a_childs_iin_reaches_the_process_owner_masked(world, app, username):
    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    task = open_task(act, "accept_act")
    said = Browser(app, "official_almaty").post(f"/tasks/{task.id}/comments",
                                                 {"body": f"The pupil {iin} studies elsewhere since October."})
    assert said.status_code == 302
    for path in _pages(act, task):
        answer = Browser(app, username).get(path)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200, path
        assert iin not in text, f"{username} reads the child's IIN on {path}"
    assert f"The pupil ••••••••{iin[-4:]} studies elsewhere" in Browser(app, username).get(
        f"/tasks/{task.id}").get_data(as_text=True), "the comment is kept, the IIN masked"


def test_the_department_and_the_school_read_the_comment_in_full(world, app):
    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    task = open_task(act, "accept_act")
    Browser(app, "official_almaty").post(f"/tasks/{task.id}/comments", {"body": f"The pupil {iin} left."})
    for username in ("official_almaty", "accountant3"):
        assert f"The pupil {iin} left." in Browser(app, username).get(f"/tasks/{task.id}").get_data(as_text=True)


@pytest.mark.parametrize("username", MASKED)
def test_a_return_comment_naming_a_childs_iin_reaches_the_process_owner_masked(world, app, username):
    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    complete_task(open_task(act, "accept_act").id, user("official_almaty"),
                  data={"decision": "return", "comment": f"Line 1: {_grouped(iin)} is withdrawn; correct the act."})
    db.session.commit()
    task = open_task(act, "submit_act")
    assert _grouped(iin) in Browser(app, "accountant3").get(f"/acts/{act.id}").get_data(as_text=True)
    for path in _pages(act, task):
        text = Browser(app, username).get(path).get_data(as_text=True)
        assert iin not in text and _grouped(iin) not in text, f"{username} reads the child's IIN on {path}"


def test_masking_keeps_the_sentence_and_an_organisations_bin():
    data = {"comment": "Pupil 791028302728 moved to BIN 950440001673.", "note": ["7910-2830-2728"]}
    assert mask(data) == {"comment": "Pupil ••••••••2728 moved to BIN 950440001673.", "note": ["••••••••2728"]}


def test_the_administrators_list_of_every_e_mail_masks_it_and_the_schools_own_list_does_not(world, app):
    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    complete_task(open_task(act, "accept_act").id, user("official_almaty"),
                  data={"decision": "return", "comment": f"Line 1: {iin} is withdrawn; correct the act."})
    db.session.commit()
    announce_new_tasks()
    db.session.commit()
    mails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.user_id == user("accountant3").id)).all()
    assert any(iin in mail.body for mail in mails), "the school is told why, in full"
    assert iin in Browser(app, "accountant3").get("/notifications/outbox").get_data(as_text=True)
    every = Browser(app, "admin").get("/notifications/outbox?all=1").get_data(as_text=True)
    assert f"Line 1: ••••••••{iin[-4:]} is withdrawn" in every and iin not in every


@pytest.mark.parametrize("username", MASKED)
def test_a_case_files_name_holding_a_childs_iin_is_listed_masked_to_whom_may_not_download_it(world, app, username):
    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    task = open_task(act, "accept_act")
    pdf = b"%PDF-1.4\n" + b"0" * 100
    attached = Browser(app, "official_almaty").post(f"/tasks/{task.id}/attachments", {
        "file": (io.BytesIO(pdf), f"withdrawal {iin}.pdf")}, content_type="multipart/form-data")
    assert attached.status_code == 302
    assert f"withdrawal {iin}.pdf" in Browser(app, "accountant3").get(f"/tasks/{task.id}").get_data(as_text=True)
    page = Browser(app, username).get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"withdrawal ••••••••{iin[-4:]}.pdf" in page and iin not in page


@pytest.mark.parametrize("username", MASKED)
def test_an_acts_note_and_an_amendments_reason_of_before_reach_them_masked(world, app, username):
    from sqlalchemy import update

    from app.acts.models import Act
    from app.contracts.models import ContractAmendment
    from tests.lifecycle.test_contract_amendments import form, samruk

    act = act_of_school("Alatau Lyceum")
    iin = act.lines[0].iin
    db.session.execute(update(Act).where(Act.id == act.id).values(note=f"{iin} joined mid-month."))
    contract = samruk()
    assert Browser(app, "official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    # a reason stored before amendments refused one with an IIN (tests/security/test_published_free_text.py)
    db.session.execute(update(ContractAmendment).values(rationale=f"The pupil {iin} moved away."))
    db.session.commit()
    assert f"{iin} joined mid-month." in Browser(app, "accountant3").get(f"/acts/{act.id}").get_data(as_text=True)
    for path, said in ((f"/acts/{act.id}", f"••••••••{iin[-4:]} joined mid-month."),
                       (f"/contracts/{contract.id}", f"The pupil ••••••••{iin[-4:]} moved away.")):
        page = Browser(app, username).get(path).get_data(as_text=True)
        assert said in page and iin not in page, path
