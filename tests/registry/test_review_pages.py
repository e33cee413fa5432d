"""The official reviews flagged lines on the act page: both values shown, a decision per line (CSRF, server-side
authorisation), and the act cannot be accepted until every flagged line is decided."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.acts.models import ActLineReview
from app.acts.operations import decide
from app.acts.verification import verify_act
from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.models import Organisation, User
from app.registry.models import NedbEnrollment
from tests.registry.conftest import iin
from tests.registry.test_pages import _user


@pytest.fixture()
def review_world(country):
    school = country.school("Alpha")
    far_school = country.school("Far", region=country.region2)
    country.enrol(iin(1), school.bin, grade=5)
    country.enrol(iin(2), school.bin, grade=5)
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(2))).one().full_name = "Омаров Тимур"
    country.enrol(iin(3), school.bin, grade=1)  # 11 years old in grade 1
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 1)])
    verify_act(act)
    act.status = "verified"
    dept = Organisation(kind="department", bin="950440001673", name="Dept", region_id=country.region.id)
    far = Organisation(kind="department", bin="791028302728", name="Far dept", region_id=country.region2.id)
    db.session.add_all([dept, far])
    db.session.flush()
    _user("off", "department_official", dept)
    _user("far", "department_official", far)
    _user("acc", "school_accountant", school)
    _user("acc2", "school_accountant", far_school)
    db.session.commit()
    return act, {ln.line_no: ln.id for ln in act.lines}


def test_official_sees_both_values_and_decides_each_line_then_the_act_can_be_accepted(review_world, browser):
    act, line = review_world
    official = browser("off")
    page = official.get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="review-table"' in page and 'id="review-undecided">2<' in page
    assert f"Student {iin(2)}" in page and "Омаров Тимур" in page  # the act's name and NEDB's
    assert re.search(r"born \d{1,2} Jan 2015,", page) and "11 years on 1 September" in page and "grade 1" in page
    with pytest.raises(DomainRefused, match="need review: 2"):
        decide(act, "accept", None, db.session.get(User, 1))

    url = f"/acts/{act.id}/lines/{{}}/review"
    refused = official.post(url.format(line[3]), {"decision": "exclude", "comment": ""})
    assert refused.status_code == 303
    # said at the line's comment box, on the page the refusal goes back to
    assert "Say why the line is excluded" in official.get(refused.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(select(ActLineReview)).all() == []
    assert official.post(url.format(line[3]), {"decision": "maybe"}).status_code == 303
    assert official.post(url.format(line[3]), {"decision": "exclude"}, csrf=False).status_code == 400
    assert db.session.scalars(select(ActLineReview)).all() == []

    official.post(url.format(line[2]), {"decision": "confirm", "comment": "same child, NEDB has a typo"})
    official.post(url.format(line[3]), {"decision": "exclude", "comment": "<b>not this child</b>"})
    page = official.get(f"/acts/{act.id}").get_data(as_text=True)
    assert "review-undecided" not in page and "&lt;b&gt;not this child&lt;/b&gt;" in page
    db.session.expire_all()
    assert {r.decision for r in db.session.scalars(select(ActLineReview))} == {"confirm", "exclude"}
    decide(act, "accept", None, db.session.get(User, 1))
    assert act.status == "accepted"


def test_only_the_regions_official_may_decide(review_world, browser):
    act, line = review_world
    url = f"/acts/{act.id}/lines/{line[2]}/review"
    accountant = browser("acc")
    page = accountant.get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="review-table"' in page and "needs review" in page and 'name="decision"' not in page
    assert accountant.post(url, {"decision": "confirm"}).status_code == 403
    assert browser("far").post(url, {"decision": "confirm"}).status_code == 404
    assert browser("acc2").post(url, {"decision": "confirm"}).status_code == 404
    assert browser("off").post(f"/acts/{act.id}/lines/999999/review", {"decision": "confirm"}).status_code == 303
    assert db.session.scalars(select(ActLineReview)).all() == []


def test_the_decision_returns_only_to_a_page_of_this_site(review_world, browser):
    # A browser drops the tab of "/\t/evil.example" and goes to //evil.example: the review's own check let it through.
    act, line = review_world
    official = browser("off")
    for evil in ("/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/x"):
        response = official.post(f"/acts/{act.id}/lines/{line[2]}/review", {"decision": "confirm", "next": evil})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/acts/{act.id}#review-lines"), evil
    kept = official.post(f"/acts/{act.id}/lines/{line[2]}/review",
                         {"decision": "confirm", "next": f"/acts/{act.id}?x=1"})
    assert kept.headers["Location"].endswith(f"/acts/{act.id}?x=1")


def test_the_review_is_read_in_the_readers_language_and_form_line_by_line(review_world, browser):
    """New-user probe: a Russian official read "родился 2015-01-…" — the birth date as the database writes it, among
    dates written "1 янв. 2015 г." everywhere else — and a screen reader on a flagged line heard "Оставить",
    "Исключить" and the comment box's name, the same on every line."""
    act, line = review_world
    official = browser("off")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    page = official.get(f"/acts/{act.id}").get_data(as_text=True)
    table = page[page.index('id="review-table"'):]
    assert "2015-01-" not in table and re.search(r"дата рождения \d{1,2} [а-я]+\.? 2015\s?г\.", table)
    for n in (2, 3):
        row = table[table.index(f'id="review-line-{line[n]}"'):]
        row = row[:row.index("</tr>")]
        assert re.search(rf'aria-label="[^"]+, строка {n}">', row), "the line's buttons say their line"
        assert re.search(rf'for="review-comment-{line[n]}">[^<]+, строка {n}</label>', row)


def test_the_review_tables_headers_say_what_they_head(review_world, browser):
    """A screen reader moving along a flagged line's cells is told the column (IIN, Check, In the act, In NEDB,
    Decision) and the line: the header cells had no scope and the line's number was a plain cell."""
    act, line = review_world
    page = browser("off").get(f"/acts/{act.id}").get_data(as_text=True)
    table = page[page.index('id="review-table"'):]
    table = table[:table.index("</table>")]
    head = table[table.index("<thead>"):table.index("</thead>")]
    assert head.count("<th ") + head.count("<th>") == 6 and head.count('<th scope="col"') == 6, head
    row = table[table.index(f'id="review-line-{line[2]}"'):]
    assert re.match(r'id="review-line-\d+">\s*<th scope="row">2</th>', row), row[:200]
