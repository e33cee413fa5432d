"""The inbox filter of a funded organisation's person: a school's accountant is not offered the dormitories'
processes; a dormitory's accountant's filter names a dormitory, not a school."""

from __future__ import annotations

import re


def _process_options(page: str) -> set[str]:
    select = re.search(r'<select[^>]*id="process".*?</select>', page, re.S)
    return set(re.findall(r'<option value="([^"]+)"', select.group(0))) if select else set()  # none: not offered


def test_a_school_accountant_is_not_offered_the_dormitories_processes(dorm_world, browser):
    options = _process_options(browser("accountant").get("/inbox").get_data(as_text=True))
    assert "monthly_act" in options
    assert not {"dorm_monthly_act", "dorm_application"} & options
    everything = _process_options(browser("official").get("/inbox").get_data(as_text=True))
    assert {"monthly_act", "dorm_monthly_act"} <= everything, "the department sees every instrument's processes"


def test_a_dormitory_accountants_filter_says_dormitory(dorm_world, browser):
    page = browser("dorm_accountant").get("/inbox").get_data(as_text=True)
    assert 'for="school">Dormitory (name or BIN)</label>' in page
    assert '<option value="school">Dormitory</option>' in page
    assert "monthly_act" not in _process_options(page) and "dorm_monthly_act" in _process_options(page)
    school = browser("accountant").get("/inbox").get_data(as_text=True)
    assert 'for="school">School (name or BIN)</label>' in school


def test_a_funded_organisations_people_are_offered_only_the_processes_they_can_have_a_task_in(dorm_world, browser):
    """Users probe: a school's accountant was offered "Dormitory places contract" and "Dormitory places order
    placement" (and the placing of the schools' order, the department's alone) — processes she can never have a task
    in."""
    assert _process_options(browser("accountant").get("/inbox").get_data(as_text=True)) == {
        "application", "monthly_act", "contract", "year_end"}
    assert _process_options(browser("director").get("/inbox").get_data(as_text=True)) == {
        "application", "monthly_act", "contract", "year_end"}
    assert _process_options(browser("dorm_accountant").get("/inbox").get_data(as_text=True)) == {
        "dorm_application", "dorm_monthly_act", "dorm_contract", "dorm_year_end"}
    # the department's official is offered both instruments' processes that have a step of theirs — not the
    # placing of an order (no person's step) nor the contracts (the department head signs them)
    assert _process_options(browser("official").get("/inbox").get_data(as_text=True)) == {
        "application", "monthly_act", "dorm_application", "dorm_monthly_act"}
    assert {"contract", "dorm_contract", "year_end"} <= _process_options(
        browser("head").get("/inbox").get_data(as_text=True)), "the head signs them"


def _task_options(page: str) -> set[str]:
    select = re.search(r'<select[^>]*id="task-kind".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="([^"]+)"', select))


def test_no_one_is_offered_another_instruments_directors_signature(dorm_world, browser):
    """Users probe: a school's accountant's task filter offered "Sign contract (dormitory director)" (and, until the
    filter offered only the steps a person can find, the school director's signature too)."""
    school = _task_options(browser("director").get("/inbox").get_data(as_text=True))
    assert "sign_director" in school and "sign_dorm_director" not in school
    dormitory = _task_options(browser("dorm_director").get("/inbox").get_data(as_text=True))
    assert "sign_dorm_director" in dormitory and "sign_director" not in dormitory
    assert not {"sign_director", "sign_dorm_director"} & _task_options(
        browser("accountant").get("/inbox").get_data(as_text=True)), "the director signs, not the accountant"
    head = _task_options(browser("head").get("/inbox").get_data(as_text=True))
    assert "sign_head" in head and not {"sign_director", "sign_dorm_director"} & head


def test_the_operator_and_the_process_owner_are_offered_the_processes_they_can_find_a_task_of(dorm_world, browser):
    """Users probe: the operator's filter offered every process — the placing of both orders, the applications, the
    contracts, the year-end reports — where only the monthly acts (its "Pay act") ever reach it; the process owner,
    who has no lane in any shipped model, was offered them all and found nothing by any."""
    operator = _process_options(browser("operator").get("/inbox").get_data(as_text=True))
    assert {"monthly_act", "dorm_monthly_act"} <= operator
    assert not {"state_order", "dorm_order", "application", "dorm_application"} & operator
    assert _process_options(browser("owner").get("/inbox").get_data(as_text=True)) == set()
    chosen = _process_options(browser("owner").get("/inbox?process=monthly_act").get_data(as_text=True))
    assert chosen == {"monthly_act"}, "the process the filter applies stays shown"


def test_a_process_owners_trial_run_puts_its_process_in_the_filter(dorm_world, browser):
    """A trial run's steps are the owner's, whatever their lanes: its process is one the owner can find."""
    from app.engine.publishing import publish_version
    from app.extensions import db
    from app.processes.trials import start_trial
    from tests.helpers import user
    from tests.modeler.factory import chain_model, user_task

    version, _ = publish_version(chain_model("tryout", [("fill", "School accountant", user_task("fill", "Fill"))]))
    db.session.commit()
    assert "tryout" not in _process_options(browser("owner").get("/inbox").get_data(as_text=True))
    start_trial(version.process_model, user("owner"))
    db.session.commit()
    assert _process_options(browser("owner").get("/inbox").get_data(as_text=True)) == {"tryout"}


def test_everyone_is_offered_only_the_steps_they_can_find_a_task_of(dorm_world, browser):
    """Users probe: the task filter offered everyone every step — "Submit monthly act" and "Submit application" to the
    operator, "Pay act" to the department and to a school's accountant; the process owner, with no step in any shipped
    model, was offered them all and found nothing by any."""
    operator = _task_options(browser("operator").get("/inbox").get_data(as_text=True))
    assert "pay_act" in operator
    assert not {"submit_act", "accept_act", "submit_application", "sign_director", "sign_head"} & operator
    official = _task_options(browser("official").get("/inbox").get_data(as_text=True))
    assert {"accept_act", "review_application"} <= official
    assert not {"pay_act", "submit_act", "submit_application"} & official
    accountant = _task_options(browser("accountant").get("/inbox").get_data(as_text=True))
    assert {"submit_act", "submit_application", "submit_report"} <= accountant
    assert not {"pay_act", "accept_act", "review_application", "approve_report"} & accountant
    owner = browser("owner").get("/inbox").get_data(as_text=True)
    assert 'id="task-kind"' not in owner, "no step of theirs: no task filter of choices that find nothing"
    chosen = _task_options(browser("owner").get("/inbox?task=pay_act").get_data(as_text=True))
    assert chosen == {"pay_act"}, "the step the filter applies stays shown"


def test_the_departments_filter_says_organisation(dorm_world, browser):
    """New-user probe: the official's inbox, with a school's and a dormitory's act in it, offered "School (name or
    BIN)" — and typing "Nomad" found Nomad Student House, a dormitory."""
    for username in ("official", "operator"):
        page = browser(username).get("/inbox").get_data(as_text=True)
        assert 'for="school">Organisation (name or BIN)</label>' in page, username
        assert '<option value="school">Organisation</option>' in page, username
