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
