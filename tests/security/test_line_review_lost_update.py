"""Two officials of a department review the same flagged line from pages (or API reads) of the same version of the
act: the second decision silently replaced the first — a colleague's exclusion, with its reason, undone by someone
who never saw it. A decision now carries the act's version it was made on (the page's form, the API's optional
``seen``); if the act moved since, it is refused with 409 and nothing changes, as accepting the act is."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import ActLineReview
from app.extensions import db
from tests.registry.test_pages import _user
from tests.registry.test_review_pages import review_world  # noqa: F401 - the fixture


def _decisions() -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(r.decision, r.comment) for r in db.session.scalars(select(ActLineReview))]


def test_a_decision_on_a_stale_version_is_refused_over_the_api(review_world, browser):  # noqa: F811
    act, line = review_world
    _user("off2", "department_official", _user_org(act))
    db.session.commit()
    first, second = browser("off"), browser("off2")
    url = f"/api/v1/acts/{act.id}/lines/{line[3]}/review"
    seen = first.get(f"/api/v1/acts/{act.id}").get_json()["version"]
    assert second.get(f"/api/v1/acts/{act.id}").get_json()["version"] == seen

    excluded = first.post_json(url, {"decision": "exclude", "comment": "not this child", "seen": seen})
    assert excluded.status_code == 200, excluded.get_data(as_text=True)
    stale = second.post_json(url, {"decision": "confirm", "seen": seen})
    assert stale.status_code == 409 and stale.get_json()["code"] == 409
    assert _decisions() == [("exclude", "not this child")]

    current = second.get(f"/api/v1/acts/{act.id}").get_json()["version"]
    assert second.post_json(url, {"decision": "confirm", "seen": current}).status_code == 200
    assert _decisions() == [("confirm", None)]
    assert second.post_json(url, {"decision": "exclude", "comment": "without a version"}).status_code == 200


def test_a_decision_from_a_stale_page_is_refused_and_said(review_world, browser):  # noqa: F811
    act, line = review_world
    _user("off2", "department_official", _user_org(act))
    db.session.commit()
    first, second = browser("off"), browser("off2")
    page = second.get(f"/acts/{act.id}").get_data(as_text=True)
    assert f'name="seen" value="{act.lock_version}"' in page
    seen = str(act.lock_version)
    url = f"/acts/{act.id}/lines/{line[3]}/review"
    assert first.post(url, {"decision": "exclude", "comment": "not this child", "seen": seen}).status_code == 303
    refused = second.post(url, {"decision": "confirm", "seen": seen})
    assert refused.status_code == 303
    assert "nothing was saved" in second.get(refused.headers["Location"]).get_data(as_text=True)
    assert _decisions() == [("exclude", "not this child")]


def _user_org(act):
    from app.people.models import User

    return db.session.scalars(select(User).where(User.username == "off")).one().organisation
