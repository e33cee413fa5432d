"""The inbox as officials and accountants use it: views, counts, filters, search, claims, saved filters."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine.models import HumanTask
from app.extensions import db
from app.inbox.models import SavedFilter
from tests.helpers import act_of_school, open_task, school, user


def _rows(html: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'<tr data-task-id="(\d+)"', html)]


def test_search_columns_are_filled_when_the_engine_creates_a_task(world, clean_acts):
    act = act_of_school("Alatau Lyceum")
    accept = open_task(act, "accept_act")
    assert accept.subject_number == act.number
    assert accept.school_bin == school("Alatau Lyceum").bin and accept.school_name == "Alatau Lyceum"
    assert accept.process_id == "monthly_act"
    assert accept.excluded_lines > 0, "the seeded act has anomalous lines"
    clean = clean_acts[0]
    assert clean.excluded_lines == 0 and clean.amount_tiyn > 0


def test_views_and_counts_for_official_and_accountant(world, clean_acts, browser):
    official = browser("official")
    page = official.get("/inbox").get_data(as_text=True)
    assert sorted(_rows(page)) == sorted(t.id for t in clean_acts)
    assert 'id="count-mine">4<' in page and 'id="inbox-count">4<' in page

    accountant = browser("accountant")
    page = accountant.get("/inbox?view=waiting").get_data(as_text=True)
    waiting = [t.id for t in clean_acts if t.organisation_id == school("Bilim Innovation School").id]
    assert sorted(_rows(page)) == sorted(waiting), "the accountant's submitted acts now wait on the department"
    assert "Accept act" in page and "waiting on: Department official" in page

    page = accountant.get("/inbox?view=completed").get_data(as_text=True)
    assert len(_rows(page)) == 2 and "Submit monthly act" in page

    # The Almaty official never sees Astana's acts, whatever the view or filter says.
    almaty = browser("official_almaty")
    for url in ("/inbox", "/inbox?view=group", "/inbox?view=waiting",
                f"/inbox?view=group&school={school('Bilim Innovation School').bin}"):
        assert not set(_rows(almaty.get(url).get_data(as_text=True))) & {t.id for t in clean_acts}


def test_a_person_moved_to_another_school_no_longer_follows_the_former_schools_cases(world, browser):
    """Alatau Lyceum's accountant submitted its act, which now waits on the Almaty department. Moved by the
    administrator to Nur Private School (Astana), she read on in "Waiting for" how Alatau's act was being decided —
    its number, school, step and who had it — and in "Completed by me" Alatau's steps: neither is hers to see now."""
    alatau = act_of_school("Alatau Lyceum")
    accountant = browser("accountant3")
    assert open_task(alatau, "accept_act").id in _rows(accountant.get("/inbox?view=waiting").get_data(as_text=True))
    assert _rows(accountant.get("/inbox?view=completed").get_data(as_text=True))

    moved = user("accountant3")
    moved.organisation_id = school("Nur Private School").id
    db.session.commit()
    accountant = browser("accountant3")
    for view in ("waiting", "completed"):
        page = accountant.get(f"/inbox?view={view}").get_data(as_text=True)
        assert _rows(page) == [] and "Alatau" not in page and alatau.number not in page, view

def test_filters_search_and_sort(world, clean_acts, browser):
    official = browser("official")
    a_bin = school("Bilim Innovation School").bin
    by_bin = _rows(official.get(f"/inbox?school={a_bin}").get_data(as_text=True))
    assert len(by_bin) == 2 and all(db.session.get(HumanTask, i).school_bin == a_bin for i in by_bin)
    by_name = _rows(official.get("/inbox?school=nur+private").get_data(as_text=True))
    assert len(by_name) == 2 and all(db.session.get(HumanTask, i).school_name == "Nur Private School" for i in by_name)

    number = clean_acts[1].subject_number
    assert _rows(official.get(f"/inbox?q={number}").get_data(as_text=True)) == [clean_acts[1].id]
    assert _rows(official.get(f"/inbox?q={number[-6:].lower()}").get_data(as_text=True))  # part of the number
    assert "No tasks match" in official.get("/inbox?q=NO-SUCH-ACT").get_data(as_text=True)
    assert len(_rows(official.get("/inbox?task=accept_act&process=monthly_act").get_data(as_text=True))) == 4
    assert _rows(official.get("/inbox?task=pay_act").get_data(as_text=True)) == []

    newest_first = _rows(official.get("/inbox?sort=-created").get_data(as_text=True))
    assert newest_first == sorted(newest_first, reverse=True)

    # Bad input is dropped with a message, never a 500.
    response = official.get("/inbox?due_before=31.12.2026&status=bogus&sort=evil&view=other")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "must be a date" in page and "Unknown status" in page and len(_rows(page)) == 4


def test_due_soon_and_overdue_badges_and_filters(world, clean_acts, browser):
    official = browser("official")
    assert _rows(official.get("/inbox?status=overdue").get_data(as_text=True)) == []
    due = max(t.due_at for t in clean_acts)
    late = (due if due.tzinfo else due.replace(tzinfo=clock.now().tzinfo)) + timedelta(hours=1)
    with clock.FrozenClock(late):
        page = official.get("/inbox?status=overdue").get_data(as_text=True)
        assert len(_rows(page)) == 4 and 'data-sla="overdue"' in page
    with clock.FrozenClock(late - timedelta(days=1, hours=2)):
        page = official.get("/inbox?status=due_soon").get_data(as_text=True)
        assert len(_rows(page)) == 4 and 'data-sla="due_soon"' in page
    local_day = (due if due.tzinfo else due.replace(tzinfo=UTC)).astimezone(clock.KZ)  # the day the page shows
    assert len(_rows(official.get(f"/inbox?due_before={local_day:%Y-%m-%d}").get_data(as_text=True))) == 4
    assert _rows(official.get("/inbox?due_before=2000-01-01").get_data(as_text=True)) == []


def test_claim_shows_who_has_it_and_others_cannot_complete(world, clean_acts, official2, browser):
    task = clean_acts[0]
    official, colleague = browser("official"), browser("official2")
    assert official.post(f"/tasks/{task.id}/claim").status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id == user("official").id

    page = colleague.get("/inbox?view=group").get_data(as_text=True)
    assert task.id in _rows(page) and "Ержан Қалиев" in page
    assert task.id not in _rows(colleague.get("/inbox").get_data(as_text=True)), "claimed tasks leave others' list"
    assert colleague.post(f"/tasks/{task.id}", {"decision": "accept"}).status_code == 404
    response = colleague.post(f"/tasks/{task.id}/claim", follow_redirects=True)
    assert "already claimed" in response.get_data(as_text=True)
    assert colleague.post(f"/tasks/{task.id}/unclaim", follow_redirects=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id == user("official").id, "only the owner or a head releases"

    assert official.post(f"/tasks/{task.id}/unclaim").status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "human_task",
                                                                 AuditEvent.object_id == task.id)).all()
    assert "task.claimed" in actions and "task.unclaimed" in actions


def test_department_head_reassigns(world, clean_acts, official2, browser):
    task = clean_acts[0]
    head = browser("head")
    assert task.id in _rows(head.get("/inbox?view=group").get_data(as_text=True)), "the head oversees the queue"
    page = head.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="reassign-form"' in page
    assert head.post(f"/tasks/{task.id}/reassign", {"user_id": official2.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id == official2.id
    # Not to someone outside the task's region or role; and officials cannot reassign.
    response = head.post(f"/tasks/{task.id}/reassign", {"user_id": user("official_almaty").id}, follow_redirects=True)
    assert "Choose a person" in response.get_data(as_text=True)
    response = browser("official").post(f"/tasks/{task.id}/reassign", {"user_id": user("official").id},
                                        follow_redirects=True)
    assert "Only a department head" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id == official2.id
    assert "Дина Серікова" in browser("official2").get("/notifications").get_data(as_text=True)


def test_saved_filter_shared_with_the_department_only(world, clean_acts, official2, browser):
    official = browser("official")
    a_bin = school("Bilim Innovation School").bin
    response = official.post("/inbox/filters", {"name": "Bilim acts", "school": a_bin, "task": "accept_act",
                                                "shared": "1"})
    assert response.status_code == 302
    saved = db.session.scalars(select(SavedFilter)).one()
    assert saved.params == {"view": "mine", "school": a_bin, "task": "accept_act", "sort": "created"}
    assert saved.shared

    colleague = browser("official2")
    page = colleague.get("/inbox").get_data(as_text=True)
    assert "Bilim acts" in page
    page = colleague.get(f"/inbox?filter={saved.id}").get_data(as_text=True)
    assert len(_rows(page)) == 2 and 'id="active-filter"' in page

    almaty = browser("official_almaty")
    assert "Bilim acts" not in almaty.get("/inbox").get_data(as_text=True)
    assert almaty.get(f"/inbox?filter={saved.id}").status_code == 404
    assert colleague.post(f"/inbox/filters/{saved.id}/delete").status_code == 404, "only the owner deletes"
    assert db.session.scalars(select(SavedFilter)).first() is not None
    assert official.post("/inbox/filters", {"name": "", "school": a_bin}, follow_redirects=True) \
        .get_data(as_text=True).count("Give the filter a name") == 1
    assert official.post(f"/inbox/filters/{saved.id}/delete").status_code == 302
    assert db.session.scalars(select(SavedFilter)).first() is None


def test_claim_redirect_stays_on_this_site(world, clean_acts, browser):
    official = browser("official")
    for evil in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example",
                 "/\n/evil.example"):
        response = official.post(f"/tasks/{clean_acts[0].id}/claim", {"next": evil})
        assert response.headers["Location"].endswith(f"/tasks/{clean_acts[0].id}"), evil
        official.post(f"/tasks/{clean_acts[0].id}/unclaim")


def test_a_shared_filter_opened_by_a_colleague_shows_the_shared_queue_not_the_creators_own_view(
        world, clean_acts, official2, browser):
    official = browser("official")
    a_bin = school("Bilim Innovation School").bin
    official.post(f"/tasks/{clean_acts[0].id}/claim")
    official.post("/inbox/filters", {"name": "Bilim acts", "school": a_bin, "task": "accept_act", "shared": "1"})
    saved = db.session.scalars(select(SavedFilter)).one()
    assert saved.params["view"] == "mine"
    assert len(_rows(official.get(f"/inbox?filter={saved.id}").get_data(as_text=True))) == 2
    # The head (another role) and a fellow official see the department's queue with the filter's criteria —
    # including the task the creator claimed — instead of "No tasks match" in their own "my tasks".
    for colleague, expected in (("head", 2), ("official2", 2)):
        page = browser(colleague).get(f"/inbox?filter={saved.id}").get_data(as_text=True)
        assert len(_rows(page)) == expected, colleague
    # Choosing a view explicitly still wins.
    page = browser("official2").get(f"/inbox?filter={saved.id}&view=mine").get_data(as_text=True)
    assert len(_rows(page)) == 1, "the task the creator claimed is not official2's to do"


def test_the_completed_view_has_no_holder_column(world, clean_acts, browser):
    """Users probe: under "Completed by me" every act an official had accepted showed "—" in the "Claimed by"
    column (accepted without claiming first, or in bulk) — a holder column on a list that is all hers."""
    accountant = browser("accountant")
    page = accountant.get("/inbox?view=completed").get_data(as_text=True)
    assert len(_rows(page)) == 2
    assert ">Claimed by</th>" not in page and 'class="claimed-by"' not in page
    assert ">Claimed by</th>" in accountant.get("/inbox?view=waiting").get_data(as_text=True)


def test_the_bulk_acceptance_is_offered_only_when_the_page_has_a_clean_act(world, clean_acts, browser):
    """Users probe: an official whose acts all had excluded lines was offered "Accept selected clean acts…" and a
    select-all box; pressing it said "nothing selected: mark the acts first" — with nothing on the page to mark."""
    official_almaty = browser("official_almaty")  # Alatau Lyceum's act: lines excluded
    page = official_almaty.get("/inbox").get_data(as_text=True)
    assert _rows(page) and 'id="bulk-accept"' not in page and 'id="bulk-all"' not in page
    page = browser("official").get("/inbox").get_data(as_text=True)  # clean acts
    assert 'id="bulk-accept"' in page and page.count('class="form-check-input bulk-check"') == len(clean_acts)
