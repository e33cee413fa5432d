"""A Russian date in words ends in "г." (1 мая 2026 г.): a translation that puts its own full stop after a date at
the end of the sentence showed "… 1 мая 2026 г.." on every page and incident that said it."""

import re
from datetime import date
from pathlib import Path

from babel.dates import format_date
from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[2] / "translations" / "ru" / "LC_MESSAGES" / "messages.po"
#: the placeholders the code fills with a date in words (format_day)
DATE_VALUES = ("date", "day", "start", "end", "paid_on")


def test_a_russian_date_in_words_ends_in_its_own_full_stop():
    assert format_date(date(2026, 5, 1), format="medium", locale="ru").endswith("г.")


def test_no_russian_sentence_puts_a_second_full_stop_after_a_date():
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    ending = re.compile(r"%\((" + "|".join(DATE_VALUES) + r")\)s\.$")
    doubled = [m.id for m in catalogue if m.id and isinstance(m.string, str) and ending.search(m.string)]
    assert doubled == []
