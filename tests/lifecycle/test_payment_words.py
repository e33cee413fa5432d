"""Payments refuse a typo with a message that says what to do (issue 16 §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.engine.errors import DomainRefused
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from tests.helpers import act_of_school, open_task, user


@pytest.fixture()
def accepted(world):
    act = act_of_school("Alatau Lyceum")  # verified in the seed
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    return act


def test_a_payment_date_beyond_the_limit_is_refused_and_the_limit_itself_is_accepted(world, app):
    app.config["PAYMENT_DATE_MAX_DAYS_AHEAD"] = 10
    try:
        with clock.FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC)):
            accepted = act_of_school("Alatau Lyceum")  # verified in the seed
            complete_task(open_task(accepted, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
            db.session.commit()
            with pytest.raises(DomainRefused, match=r"^The payment date 1 Dec 2026 is too far ahead: enter the day the "
                                                    r"payment order was executed, at most 10 days from today \(until "
                                                    r"30 Nov 2026\)\.$"):
                register_payment(accepted, "PP-FAR", date(2026, 12, 1), user("operator"))
            db.session.rollback()
            assert register_payment(accepted, "PP-EDGE", date(2026, 11, 30), user("operator")).paid_on == \
                date(2026, 11, 30)
    finally:
        app.config["PAYMENT_DATE_MAX_DAYS_AHEAD"] = 31


def test_a_payment_date_before_the_acts_month_is_refused(accepted):
    start = accepted.period
    for early in (date(1, 1, 1), date(2019, 1, 1), start - timedelta(days=1)):
        with pytest.raises(DomainRefused, match=rf"^The payment date {early.day} {early:%b} {early.year} is before "
                                                rf"the act's month, which began on 1 {start:%b %Y}: enter the day the "
                                                r"payment order was executed\.$"):
            register_payment(accepted, "PP-EARLY", early, user("operator"))
        db.session.rollback()
        assert db.session.get(Act, accepted.id).status == "accepted"
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_payment_date_before_the_acceptance_is_refused_and_the_acceptance_day_is_accepted(world):
    # A November act accepted on 3 December was once recorded as paid on 2 November: paid before it was accepted.
    act = act_of_school("Alatau Lyceum")  # verified in the seed
    with clock.FrozenClock(datetime(2026, 12, 3, 10, 0, tzinfo=UTC)):
        complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
        db.session.commit()
        for early in (act.period, date(2026, 12, 2)):
            assert early >= act.period  # within the act's month or after it: only the acceptance refuses it
            with pytest.raises(DomainRefused, match=rf"^The payment date {early.day} {early:%b %Y} is before the act "
                                                    r"was accepted on 3 Dec 2026: enter the day the payment order "
                                                    r"was executed\.$"):
                register_payment(db.session.get(Act, act.id), "PP-BEFORE", early, user("operator"))
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
        assert register_payment(db.session.get(Act, act.id), "PP-SAME-DAY", date(2026, 12, 3),
                                user("operator")).paid_on == date(2026, 12, 3)


@pytest.mark.parametrize(("accepted_at", "first_day"), [
    (datetime(2026, 12, 2, 20, 30, tzinfo=UTC), date(2026, 12, 2)),  # 3 December in Almaty, 2 December in UTC
    (datetime(2026, 12, 3, 4, 0, tzinfo=UTC), date(2026, 12, 3)),  # the same day in both
])
def test_the_acceptance_day_is_the_earlier_of_its_utc_and_its_local_day(world, accepted_at, first_day):
    act = act_of_school("Alatau Lyceum")
    with clock.FrozenClock(accepted_at):
        complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
        db.session.commit()
        with pytest.raises(DomainRefused, match="is before the act was accepted on"):
            register_payment(db.session.get(Act, act.id), "PP-EVE", first_day - timedelta(days=1), user("operator"))
        db.session.rollback()
        assert register_payment(db.session.get(Act, act.id), "PP-DAY", first_day, user("operator")).paid_on == \
            first_day


def test_an_order_number_with_a_trailing_newline_is_refused_by_the_form_through_the_api(accepted, browser):
    task = open_task(accepted, "pay_act")
    response = browser("operator").post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {
        "order_number": "PP-NL\n", "paid_on": clock.today().isoformat()}})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "order_number" in response.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_reused_order_number_names_the_act_only_to_whom_may_see_it(accepted):
    register_payment(accepted, "PP-ONCE", clock.today(), user("operator"))
    db.session.commit()
    other = act_of_school("Nur Private School")
    other.status = "accepted"
    db.session.commit()
    with pytest.raises(DomainRefused, match=f"already registered for act {accepted.number};"):
        register_payment(other, "PP-ONCE", clock.today(), user("operator"))
    db.session.rollback()
    with pytest.raises(DomainRefused, match="already registered for another act;"):
        register_payment(other, "PP-ONCE", clock.today(), user("official"))  # Astana: the Almaty act is not theirs
    db.session.rollback()


def test_english_dates_read_day_month_year_and_other_languages_keep_their_own(app):
    from flask_babel import force_locale

    from app.i18n import format_day, format_moment

    moment = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("en"):
            assert (format_day(date(2026, 12, 1)), format_moment(moment, "short")) == ("1 Dec 2026",
                                                                                       "1 Dec 2026, 09:30")
        with force_locale("ru"):
            assert format_day(date(2026, 12, 1), "short") == "01.12.2026"
        with force_locale("kk"):  # CLDR's Kazakh short pattern wrote 01.12.26
            assert (format_day(date(2026, 12, 1), "short"), format_moment(moment, "short")) == ("01.12.2026",
                                                                                               "01.12.2026, 09:30")
            # and its medium one "2026 ж. 01 жел.": the day, the month's name, the year, as Russian orders them
            assert format_day(date(2026, 9, 1)) == "1 қыркүйек 2026 ж."
        assert format_day(None) == ""
