"""The tenge filter formats with integer arithmetic and the locale's symbols: it must equal Babel's own
``#,##0.00`` formatting for every language, sign and size."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from app.i18n import format_tenge

AMOUNTS = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 99999, 100000, 123456789, 1234567890123, 10**18 + 7,
           -1, -99, -100, -123456789, -(10**15)]


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_the_tenge_filter_equals_babels_formatting(app, locale):
    with app.test_request_context(headers={"Accept-Language": locale}):
        from flask_babel import get_locale, refresh

        refresh()
        assert str(get_locale()) == locale
        for tiyn in AMOUNTS:
            expected = f"{format_decimal(Decimal(tiyn) / 100, format='#,##0.00', locale=locale)} ₸"
            assert format_tenge(tiyn) == expected, (locale, tiyn)
        assert format_tenge(None) == format_tenge(0)


def test_known_renderings(app):
    # Independent anchors (not computed by the code under test or by Babel).
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert format_tenge(123456789) == "1,234,567.89 ₸"
        assert format_tenge(-5) == "-0.05 ₸"
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert format_tenge(123456789) == "1\xa0234\xa0567,89 ₸"


def test_a_month_is_named_as_people_name_it_in_each_language(app):
    """Pages wrote 2026-11 (the form of an address or a file); people read қараша 2026, ноябрь 2026, November 2026."""
    from datetime import date

    from flask_babel import force_locale

    from app.i18n import format_month

    with app.test_request_context():
        named = {}
        for locale in ("kk", "ru", "en"):
            with force_locale(locale):
                named[locale] = format_month(date(2026, 11, 1))
        assert named == {"kk": "қараша 2026", "ru": "ноябрь 2026", "en": "November 2026"}
        assert format_month(None) == ""


def test_a_kazakh_date_reads_the_same_in_its_medium_and_long_forms(app):
    """Users probe: a due date read "10 желтоқсан 2026 ж." in the inbox and "2026 ж. 10 желтоқсан" on the task page."""
    from datetime import date

    from flask_babel import force_locale

    from app.i18n import format_day

    with app.test_request_context(), force_locale("kk"):
        assert format_day(date(2026, 12, 10), "medium") == format_day(date(2026, 12, 10), "long") == \
            "10 желтоқсан 2026 ж."


def test_a_count_is_grouped_as_the_readers_money_is(app):
    """The public pages' counts were grouped with an ordinary space in every language: "1 234" beside "1,234.00 ₸"
    for an English reader, and a break-able space inside a number in kk and ru."""
    from app.i18n import format_whole

    for locale, expected in (("en", "1,234,567"), ("ru", "1\xa0234\xa0567"), ("kk", "1\xa0234\xa0567")):
        with app.test_request_context(headers={"Accept-Language": locale}):
            from flask_babel import refresh

            refresh()
            assert format_whole(1234567) == expected, locale
            assert format_whole(999) == "999"
            assert app.jinja_env.from_string(
                "{% import 'public/_macros.html' as m %}{{ m.count(n) }}").render(n=1234567, small_cell=5) == expected
