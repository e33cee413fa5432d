"""A lane is named after its role in Kazakh, Russian or English.

A Kazakh- or Russian-speaking process owner who named a lane "Мектеп бухгалтері" or "Бухгалтер школы" had it
refused as naming no role (only the English names were known); now each role's names in the catalogues name its
lane, and a lane that names no role is told which names do, in the reader's language.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.engine.lanes import role_for_lane
from app.engine.specs import validate_files
from app.people.roles import Role
from tests.engine.test_foreign_model_problems import _nested_lanes
from tests.i18n.catalogue import assert_translated


@pytest.mark.parametrize(("name", "role"), [
    ("Мектеп бухгалтері", Role.SCHOOL_ACCOUNTANT), ("Бухгалтер школы", Role.SCHOOL_ACCOUNTANT),
    ("School accountant", Role.SCHOOL_ACCOUNTANT),
    ("Мектеп директоры", Role.SCHOOL_DIRECTOR), ("Директор школы", Role.SCHOOL_DIRECTOR),
    ("Жатақхана бухгалтері", Role.DORMITORY_ACCOUNTANT), ("Бухгалтер общежития", Role.DORMITORY_ACCOUNTANT),
    ("Білім беру басқармасының маманы", Role.DEPARTMENT_OFFICIAL),
    ("Специалист управления образования", Role.DEPARTMENT_OFFICIAL),
    ("Басқарма басшысы", Role.DEPARTMENT_HEAD), ("Руководитель управления", Role.DEPARTMENT_HEAD),
    ("Оператор", Role.OPERATOR), ("Operator", Role.OPERATOR),
    # as the English names: without regard to case or to how the words are wrapped
    ("мектеп\nбухгалтері", Role.SCHOOL_ACCOUNTANT), ("БУХГАЛТЕР  ШКОЛЫ", Role.SCHOOL_ACCOUNTANT)])
def test_a_lane_named_in_kazakh_russian_or_english_names_its_role(app_ctx, name, role):
    parsed, problems = validate_files({"m.bpmn": _nested_lanes("Somebody", name.replace("\n", "&#10;"))})
    assert problems == [], [str(p) for p in problems]
    assert role_for_lane(parsed.spec.task_specs["review"].lane) == role.value == role_for_lane(name)


@pytest.mark.parametrize(("language", "names"), [
    ("en", ["School accountant", "Department official", "Operator"]),
    ("ru", ["Бухгалтер школы", "Специалист управления образования", "Оператор"]),
    ("kk", ["Мектеп бухгалтері", "Білім беру басқармасының маманы", "Оператор"])])
def test_a_lane_that_names_no_role_is_refused_with_the_names_that_do_in_the_readers_language(app, language, names):
    assert role_for_lane("Бухгалтерия") is None and role_for_lane("Process owner") is None
    with app.test_request_context(), force_locale(language):
        _parsed, problems = validate_files({"m.bpmn": _nested_lanes("Somebody", "Бухгалтерия")})
        refused = [p.message for p in problems if p.element_id == "review"]
    assert len(refused) == 1 and "'Бухгалтерия'" in refused[0], refused
    assert all(name in refused[0] for name in names), refused[0]


def test_the_refusals_words_are_in_kazakh_and_russian(app):
    assert_translated(app, "Lanes named after a role: %(names)s.")
