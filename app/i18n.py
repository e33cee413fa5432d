"""Languages: Kazakh, Russian, English. A logged-in user's choice is remembered on their account."""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import format_decimal
from flask import Flask, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from app.extensions import babel


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "extract, translate later"
    """Marks a msgid for ``pybabel extract`` where the text is translated later, in the reader's language."""
    return text


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, ticker, worker threads: the configured default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    if request.cookies.get("locale") in languages:  # chosen before this session (set_locale)
        return request.cookies["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def format_tenge(tiyn: int | None) -> str:
    """Money from integer tiyn: 1 234 567,89 ₸ in the user's locale (never through float).

    Babel's ``#,##0.00`` pattern done with integer arithmetic and the locale's symbols, read once per locale: a
    page of a region's schools formats a few hundred amounts, and Babel parsed the pattern for every one (40 % of
    the page's rendering). ``tests/i18n/test_money_format.py`` holds it equal to Babel's output."""
    if not isinstance(tiyn, int):
        from decimal import Decimal

        value = Decimal(tiyn or 0) / 100
        return f"{format_decimal(value, format='#,##0.00', locale=str(get_locale()))} ₸"
    group, decimal, minus = _money_symbols(str(get_locale()))
    whole, fraction = divmod(abs(tiyn), 100)
    return f"{minus if tiyn < 0 else ''}{whole:,}".replace(",", group) + f"{decimal}{fraction:02d} ₸"


def format_whole(value: int) -> str:
    """A count in the user's locale, grouped as its money is (1,234 in en; 1\xa0234 in kk and ru): the public pages
    wrote every count with an ordinary space, so an English reader saw "1 234" beside "1,234.00 ₸", and a narrow
    cell could break the number in two."""
    group = _money_symbols(str(get_locale()))[0]
    return f"{int(value):,}".replace(",", group)


def tenge_in(tiyn: int, locale: str) -> str:
    """:func:`format_tenge` in a given language (a notification read or e-mailed in its reader's, not its
    writer's): 123 100,00 ₸ for a Russian reader of an act an English-speaking official accepted."""
    group, decimal, minus = _money_symbols(locale)
    whole, fraction = divmod(abs(tiyn), 100)
    return f"{minus if tiyn < 0 else ''}{whole:,}".replace(",", group) + f"{decimal}{fraction:02d} ₸"


def day_in(value: str, locale: str) -> str:
    """An ISO date (YYYY-MM-DD) or month (YYYY-MM) as its reader names it, in a given language, written as the pages
    write it (10.11.2026, 10 Nov 2026; қараша 2026); the text as it is if it is neither.

    Users probe: a Kazakh notice read "… 2026 ж. 10 қар. күнгі PP-00018 төлем тапсырмасы" (CLDR's pattern) above its
    own time "10.11.2026, 09:00", and the due dates and deputy periods of other notices were ISO dates (2026-12-11)."""
    from datetime import date

    from babel.dates import format_date

    try:
        if len(str(value)) == 7:  # a month, in the sentences' form ("с ноября 2026", "қараша 2026 айынан")
            pattern = "MMMM y" if locale.startswith("ru") else "LLLL y"
            text = format_date(date.fromisoformat(f"{value}-01"), pattern, locale=locale)
            return text[:1].lower() + text[1:] if locale.startswith("kk") else text
        pattern = PATTERNS.get(locale.split("_")[0].split("-")[0], ({}, {}))[0].get("short", "short")
        return format_date(date.fromisoformat(value), pattern, locale=locale)
    except (TypeError, ValueError):
        return str(value)


def format_decimal1(value) -> str:
    """A share or a duration with one decimal in the user's locale (2,6 in kk and ru, 2.6 in en): "%.1f" wrote a
    point next to money written with a comma."""
    if value is None:
        return "—"
    return format_decimal(round(float(value), 1), format="#,##0.0", locale=str(get_locale()))


@lru_cache(maxsize=16)
def _money_symbols(locale: str) -> tuple[str, str, str]:
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

    parsed = Locale.parse(locale)
    return get_group_symbol(parsed), get_decimal_symbol(parsed), get_minus_sign_symbol(parsed)


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["tenge"] = format_tenge
    app.jinja_env.filters["whole"] = format_whole
    app.jinja_env.filters["filesize"] = format_size
    app.jinja_env.filters["decimal1"] = format_decimal1
    from app.words import tr

    app.jinja_env.filters["tr"] = tr
    app.jinja_env.filters["dateformat"] = format_day
    app.jinja_env.filters["datetimeformat"] = format_moment
    app.jinja_env.filters["month"] = format_month


#: English dates read one way wherever the reader is from: 1 Dec 2026 (never 12/1/26, which half the world reads
#: as the 12th of January). Kazakh and Russian keep their own patterns (05.11.2026 is unambiguous to their readers).
ENGLISH_DATE = {"short": "d MMM y", "medium": "d MMM y", "long": "d MMMM y", "full": "EEEE, d MMMM y"}
#: A moment is read to the minute: "1 Jan 2027, 00:00:00" (the medium pattern of CLDR, the filter's default) showed a
#: contract's next step with seconds no one schedules or reads.
ENGLISH_DATETIME = {"short": "d MMM y, HH:mm", "medium": "d MMM y, HH:mm", "long": "d MMMM y, HH:mm z",
                    "full": "EEEE, d MMMM y, HH:mm"}
#: Kazakh's short pattern (CLDR) writes a two-digit year, 03.12.26, where Russian writes 03.12.2026: in a payment
#: system a year is written whole.
#: Its medium pattern (CLDR: y 'ж'. dd MMM) reads "2026 ж. 01 қыр.": the day, the month's name and the year, as
#: Russian writes "1 сент. 2026 г.", read better: 1 қыркүйек 2026 ж.
#: The long pattern the same way (CLDR's "2026 ж. 10 желтоқсан" on a task page beside "10 желтоқсан 2026 ж." in the
#: inbox, for the same due date).
KAZAKH_DATE = {"short": "dd.MM.y", "medium": "d MMMM y 'ж'.", "long": "d MMMM y 'ж'.", "full": "EEEE, d MMMM y 'ж'."}
KAZAKH_DATETIME = {"short": "dd.MM.y, HH:mm", "medium": "d MMMM y 'ж'., HH:mm", "long": "d MMMM y 'ж'., HH:mm",
                   "full": "EEEE, d MMMM y 'ж'., HH:mm"}
PATTERNS = {"en": (ENGLISH_DATE, ENGLISH_DATETIME), "kk": (KAZAKH_DATE, KAZAKH_DATETIME)}


def _pattern(format: str, moment: bool) -> str:  # noqa: A002
    dates, moments = PATTERNS.get(str(get_locale() or "").split("_")[0], ({}, {}))
    chosen = (moments if moment else dates).get(format)
    if chosen:
        return chosen
    return _to_the_minute(format) if moment else format


def _to_the_minute(format: str) -> str:  # noqa: A002
    """The locale's own date and time pattern of that length, its time written to the minute (Russian: "1 янв.
    2027 г., 00:00", where CLDR's medium pattern wrote "00:00:00")."""
    locale = get_locale()
    if locale is None or format not in ("medium", "long", "full"):
        return format
    glue = str(locale.datetime_formats.get(format) or "{1}, {0}")
    return glue.replace("{1}", locale.date_formats[format].pattern).replace("{0}", locale.time_formats["short"].pattern)


def format_day(value, format: str = "medium") -> str:  # noqa: A002 - the filter's argument name in Flask-Babel
    """A date in the user's language (the ``dateformat`` filter); an ISO date kept as text (an adjustment's registry
    evidence) too — it was shown as 2026-10-12 beside dates in words."""
    from datetime import date

    from flask_babel import format_date

    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, _pattern(format, moment=False))


def format_month(value) -> str:
    """A month as people name it (the ``month`` filter): қараша 2026, ноябрь 2026, November 2026 — where pages wrote
    2026-11 (an address's and a file's form, kept in links, files and the API)."""
    from flask_babel import format_date

    if value is None:
        return ""
    text = format_date(value, "LLLL y")
    return text[:1].lower() + text[1:] if str(get_locale() or "").startswith("kk") else text


def format_moment(value, format: str = "medium") -> str:  # noqa: A002
    """A date and time in the user's language and time zone (the ``datetimeformat`` filter)."""
    from flask_babel import format_datetime

    if value is None:
        return ""
    return format_datetime(value, _pattern(format, moment=True))


def format_size(size: int | None) -> str:
    """A file size a person reads at a glance, in the user's locale: 512 B, 3.4 KB, 1.2 MB (never "0.0 KB")."""
    from babel.numbers import format_decimal
    from flask_babel import gettext as _

    size = int(size or 0)
    locale = str(get_locale())
    if size < 1024:
        return _("%(n)s B", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_decimal(round(size / 1024, 1), locale=locale))
    return _("%(n)s MB", n=format_decimal(round(size / (1024 * 1024), 1), locale=locale))


def date_words() -> dict:
    """How the user's language says a date in words, for the page to repeat the one picked in a browser-drawn date
    field (``data-date-words`` on the page, app.js): that field orders day and month by the browser's language —
    12/05/2026 in an English browser on a Kazakh page is 5 December — and the browser's own Intl has no Kazakh
    month names. ``pattern`` holds {d}, {m} and {y}."""
    from datetime import date

    from babel.dates import get_month_names
    from flask_babel import format_date

    months = get_month_names("wide", context="format", locale=get_locale())
    sample = format_date(date(2026, 12, 5), "long")
    pattern = sample.replace("2026", "{y}").replace(months[12], "{m}").replace("5", "{d}")
    return {"months": [months[i] for i in range(1, 13)], "pattern": pattern,
            "month_words": [format_month(date(2000, i, 1)).replace("2000", "{y}") for i in range(1, 13)]}


def field_words() -> dict:
    """What the browser says of a field it refuses before sending, in the user's language (``data-field-words`` on
    the page, early.js): a required field left empty, a number out of its bounds — the browser's own bubble speaks
    the browser's language ("Please select a file." on a Kazakh page). {n} is the field's bound or length."""
    from flask_babel import gettext as _

    return {"missing": _("This field is required."), "format": _("Invalid format."),
            "min": _("Must be at least %(n)s.", n="{n}"), "max": _("Must be at most %(n)s.", n="{n}"),
            "short": _("Too short (at least %(n)s characters).", n="{n}"),
            "long": _("Too long (at most %(n)s characters).", n="{n}"),
            "step": _("Enter a whole number."), "number": _("Enter a number.")}
