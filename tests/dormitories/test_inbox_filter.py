"""The inbox filter of a funded organisation's person: a school's accountant is not offered the dormitories'
processes; a dormitory's accountant's filter names a dormitory, not a school."""

from __future__ import annotations

import re


def _process_options(page: str) -> set[str]:
    select = re.search(r'<select[^>]*id="process".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="([^"]+)"', select))


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
    everything = _process_options(browser("official").get("/inbox").get_data(as_text=True))
    assert {"state_order", "dorm_order", "contract", "dorm_contract"} <= everything


def _task_options(page: str) -> set[str]:
    select = re.search(r'<select[^>]*id="task-kind".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="([^"]+)"', select))


def test_no_one_is_offered_another_instruments_directors_signature(dorm_world, browser):
    """Users probe: a school's accountant's task filter offered "Sign contract (dormitory director)"."""
    school = _task_options(browser("accountant").get("/inbox").get_data(as_text=True))
    assert "sign_director" in school and "sign_dorm_director" not in school
    dormitory = _task_options(browser("dorm_accountant").get("/inbox").get_data(as_text=True))
    assert "sign_dorm_director" in dormitory and "sign_director" not in dormitory
    assert {"sign_director", "sign_dorm_director"} <= _task_options(browser("official").get("/inbox")
                                                                       .get_data(as_text=True))
