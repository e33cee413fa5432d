"""The one scope rule (app/people/access.py), its SQL twin and the 404 helpers — case by case.

``can_see`` and ``scope_clause`` must say the same thing: the table below is checked against both, the
clause on a real SQLite table, so a page's list and its detail view can never disagree.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from app.people.access import can_see, get_visible_or_404, require_visible, scope_clause
from app.people.roles import Scope

REGION, OTHER_REGION = 1, 2
SCHOOL, OTHER_SCHOOL, SCHOOL_ELSEWHERE = 10, 11, 20


def person(scope: Scope | None, region_id=REGION, organisation_id=SCHOOL, authenticated=True):
    return SimpleNamespace(is_authenticated=authenticated, scope=scope, region_id=region_id,
                           organisation_id=organisation_id)


ACCOUNTANT = person(Scope.ORGANISATION)
OFFICIAL = person(Scope.REGION, organisation_id=99)
OPERATOR = person(Scope.NATIONAL, region_id=None, organisation_id=None)

#: (record region, record organisation) -> who sees it
RECORDS = {
    "own school": ((REGION, SCHOOL), {"accountant", "official", "operator"}),
    "other school, same region": ((REGION, OTHER_SCHOOL), {"official", "operator"}),
    "school elsewhere": ((OTHER_REGION, SCHOOL_ELSEWHERE), {"operator"}),
    "regional record without school": ((REGION, None), {"official", "operator"}),
    "national record": ((None, None), {"operator"}),
}
PEOPLE = {"accountant": ACCOUNTANT, "official": OFFICIAL, "operator": OPERATOR}


@pytest.mark.parametrize("record", sorted(RECORDS))
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_can_see(record, who):
    (region_id, organisation_id), seen_by = RECORDS[record]
    assert can_see(PEOPLE[who], region_id, organisation_id) is (who in seen_by)


def test_anonymous_users_see_nothing_whatever_their_attributes():
    for scope in Scope:
        assert can_see(person(scope, authenticated=False), REGION, SCHOOL) is False


def test_people_without_a_region_or_organisation_see_nothing_scoped():
    assert can_see(person(Scope.REGION, region_id=None), None, None) is False
    assert can_see(person(Scope.REGION, region_id=None), REGION, SCHOOL) is False
    assert can_see(person(Scope.ORGANISATION, organisation_id=None), None, None) is False
    assert can_see(person(Scope.ORGANISATION, organisation_id=None), REGION, SCHOOL) is False


@pytest.fixture(scope="module")
def records_table():
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    table = sa.Table("record", meta, sa.Column("name", sa.String, primary_key=True),
                     sa.Column("region_id", sa.Integer), sa.Column("organisation_id", sa.Integer))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"name": name, "region_id": r, "organisation_id": o}
                                      for name, ((r, o), _who) in RECORDS.items()])
    return engine, table


def _visible(records_table, user) -> set[str]:
    engine, table = records_table
    with engine.connect() as conn:
        clause = scope_clause(user, table.c.region_id, table.c.organisation_id)
        return set(conn.scalars(sa.select(table.c.name).where(clause)))


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_scope_clause_selects_exactly_what_can_see_allows(records_table, who):
    expected = {name for name, (_where, seen_by) in RECORDS.items() if who in seen_by}
    assert _visible(records_table, PEOPLE[who]) == expected
    assert expected == {name for name, ((r, o), _s) in RECORDS.items() if can_see(PEOPLE[who], r, o)}


def test_scope_clause_without_a_region_or_organisation_selects_nothing(records_table):
    assert _visible(records_table, person(Scope.REGION, region_id=None)) == set()
    assert _visible(records_table, person(Scope.ORGANISATION, organisation_id=None)) == set()


def test_require_visible_is_a_404_not_a_403():
    require_visible(OFFICIAL, REGION, OTHER_SCHOOL)
    with pytest.raises(NotFound):
        require_visible(ACCOUNTANT, REGION, OTHER_SCHOOL)


def test_get_visible_or_404_loads_in_scope_records_only(world, app):
    from flask_login import login_user

    from app.acts.models import Act
    from app.extensions import db
    from tests.helpers import act_of_school, user

    act = act_of_school("Bilim Innovation School")
    for username, visible in (("accountant", True), ("accountant2", False), ("official", True),
                              ("official_almaty", False), ("auditor", True)):
        with app.test_request_context():
            login_user(user(username))
            if visible:
                assert get_visible_or_404(Act, act.id) is act
            else:
                with pytest.raises(NotFound):
                    get_visible_or_404(Act, act.id)
    with app.test_request_context():
        login_user(user("auditor"))
        with pytest.raises(NotFound):
            get_visible_or_404(Act, 10**9)
        # the organisation is read from the attribute the caller names (here one naming the other school)
        act.paid_for_school_id = user("accountant2").organisation_id
        login_user(user("accountant"))
        with pytest.raises(NotFound):
            get_visible_or_404(Act, act.id, organisation_attr="paid_for_school_id")
    with app.test_request_context():
        login_user(user("accountant2"))
        assert get_visible_or_404(Act, act.id, organisation_attr="paid_for_school_id") is act
    db.session.rollback()
