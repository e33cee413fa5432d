"""Kazakh identifiers: IIN (person) and BIN (organisation) check digits, and KZ IBANs (ISO 13616).

Digits are ASCII 0–9 only. Python's ``\\d`` and ``int()`` also accept full-width (０–９) and Arabic-Indic
(٠–٩) digits: such a value would pass here, be stored, and then fail the SQL check digit in verification
(which reads bytes). Every path (forms, API, importers, lookups) calls these functions, so the rule lives here.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS_1 = range(1, 12)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def _check_digit(digits: list[int]) -> int | None:
    c = sum(d * w for d, w in zip(digits, _WEIGHTS_1, strict=True)) % 11
    if c == 10:
        c = sum(d * w for d, w in zip(digits, _WEIGHTS_2, strict=True)) % 11
        if c == 10:
            return None
    return c


ASCII_12 = re.compile(r"[0-9]{12}")
_IBAN = re.compile(r"KZ[0-9]{2}[0-9A-Z]{16}")


def has_non_ascii_digits(value) -> bool:
    """Whether the value holds a digit that is not ASCII 0–9 (full-width, Arabic-Indic, …): worth its own message."""
    return isinstance(value, str) and any(ch.isdigit() and not ("0" <= ch <= "9") for ch in value)


def is_valid_12(value: str) -> bool:
    """IIN and BIN share the algorithm: 12 digits, the 12th a weighted mod-11 check digit."""
    if not isinstance(value, str) or not ASCII_12.fullmatch(value):
        return False
    digits = [int(ch) for ch in value]
    return _check_digit(digits[:11]) == digits[11]


is_valid_iin = is_valid_12
is_valid_bin = is_valid_12


def complete_12(first_11: str) -> str | None:
    """Append the check digit to 11 digits, or None when no valid number has these digits."""
    if not re.fullmatch(r"[0-9]{11}", first_11):
        return None
    c = _check_digit([int(ch) for ch in first_11])
    return None if c is None else first_11 + str(c)


def is_valid_kz_iban(value: str) -> bool:
    if not isinstance(value, str):
        return False
    iban = value.replace(" ", "").upper()
    if not _IBAN.fullmatch(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


_CENTURY_OF_DIGIT = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def iin_century_digit(born: date, female: bool) -> str:
    """The IIN's 7th digit: century of birth and sex (3/4 born 1900–1999, 5/6 born 2000–2099; odd = male)."""
    base = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100]
    return str(base + int(female))


def iin_birth_date(value: str) -> date | None:
    """The birth date an IIN carries (YYMMDD and the century digit), or None when it carries none."""
    if not isinstance(value, str) or not ASCII_12.fullmatch(value) or value[6] not in _CENTURY_OF_DIGIT:
        return None
    try:
        return date(_CENTURY_OF_DIGIT[value[6]] + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        return None


#: Twelve digits inside a text, each pair perhaps parted by one mark that groups them for the eye (a space of any
#: width, a hyphen or dash: "7910 2830 2728", "791028-302728"), and no digit right before or after them.
_TWELVE_IN_TEXT = re.compile("(?<![0-9])[0-9](?:[ \u00a0\u2007\u2009\u202f\\-\u2010-\u2014\u2212]?[0-9]){11}"
                             "(?![0-9])")


def iins_in_text(text: str) -> list[tuple[int, int]]:
    """(start, end) of every person's IIN written in ``text``: twelve digits, grouped or not, with a correct check
    digit and a birth date (an organisation's BIN has its type in the 5th and 6th digits, no day of a month, so it is
    not one). Full-width digits count as the digits they are drawn as (read in the text's NFKC form, which keeps
    every other character's place)."""
    import unicodedata

    if not isinstance(text, str):
        return []
    # NFKC maps each full-width digit or space to one character: the places found are the places in ``text``
    readable = "".join(unicodedata.normalize("NFKC", ch) if len(unicodedata.normalize("NFKC", ch)) == 1 else ch
                       for ch in text)
    found = []
    for match in _TWELVE_IN_TEXT.finditer(readable):
        digits = "".join(ch for ch in match.group() if "0" <= ch <= "9")
        if is_valid_12(digits) and iin_birth_date(digits) is not None:
            found.append(match.span())
    return found


def without_iins(text: str, mark: str = "•••") -> str:
    """``text`` with every person's IIN in it (:func:`iins_in_text`) replaced by ``mark``."""
    for start, end in reversed(iins_in_text(text)):
        text = text[:start] + mark + text[end:]
    return text
