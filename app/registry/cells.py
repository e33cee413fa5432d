"""What a cell of another agency's file may hold, and how an import reads it.

Registry files are typed, exported and re-saved by people and programs of other agencies: an IIN printed in groups
("150101 600107"), a name wrapped onto two lines in its cell, a Latin "A" typed among Cyrillic letters, a date left as
the spreadsheet's day number. Each class gets one of two answers, and the reason is written where it is decided:

* *read as meant* — the value can only mean one thing, and a check guards it (an identifier's check digit, a
  day number in a date column): the value is normalised, the row loads;
* *refused with a reason* — the value may have lost information (digits shown as 1.23457E+11, a letter written as
  "?" by an encoding that lacked it, a control character of a damaged file): the row is refused, and the reason
  says what to do with the file. A registry's word is never guessed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.registry.identifiers import has_non_ascii_digits
from app.user_input import ascii_int

#: inside an identifier, what only groups its digits for the eye: spaces of every width (a non-breaking one from a
#: web page or a Word table, a thin one), hyphens and dashes ("1501-0160-0107"). Removed: the check digit still
#: guards the 12 digits that remain, so a grouping can never make another valid number.
_DIGIT_GROUPING = re.compile(r"[\s\u00a0\u2007\u2009\u202f\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
#: Excel's display of a long number in a column of numbers, as a CSV saved from it holds it: 1.50101E+11. The digits
#: after the sixth are gone — no IIN can be read back from it.
SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]{1,2}")


def identifier_text(value: str) -> str:
    """An IIN or BIN as written, without what only groups its digits."""
    return _DIGIT_GROUPING.sub("", value)


class UnreadableIdentifier(ValueError):
    """An identifier cell or field no twelve digits can be read from; ``code`` is the importers' reason
    (``scientific_notation``, ``non_ascii_digits``) or ``invalid`` (the caller's: not a valid IIN, BIN)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def identifier_of(value: object) -> str:
    """An IIN or BIN as a registry wrote it — a file's cell or the NEDB service's JSON —, as the text of its digits;
    the one reading of both, so a child is the same child whichever way the registry is reached (the service's IINs
    were stripped only: "150101 600107" matched no act's line, and the child was "not in NEDB").

    * a number (a spreadsheet's number cell, a serialiser that took the identifier for one) has the leading zeros it
      cannot hold written back — the check digit still guards it; a fraction, a negative number, more than twelve
      digits or a boolean is ``invalid``;
    * a text loses what only groups its digits (:func:`identifier_text`), a text mark's apostrophe and a float's
      ".0"; 1.50101E+11 lost its last digits (``scientific_notation``), and a digit of another script is refused
      (``non_ascii_digits``), never read as the ASCII digit it looks like."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnreadableIdentifier("invalid")
    if not isinstance(value, str):
        if (isinstance(value, float) and not value.is_integer()) or not 0 <= value < 10**12:
            raise UnreadableIdentifier("invalid")
        return f"{int(value):012d}"
    text = identifier_text(value.strip().lstrip("'")).removesuffix(".0")
    if SCIENTIFIC.fullmatch(text):
        raise UnreadableIdentifier("scientific_notation")
    if has_non_ascii_digits(text):
        raise UnreadableIdentifier("non_ascii_digits")
    return text


def searched_identifier(typed: str) -> str | None:
    """The BIN or IIN a search box's text names, as its twelve ASCII digits — written in groups or not ("150849
    718024"); None for a text that is no twelve digits (a name, part of one: searched as text). Twelve digits of
    another script ("١٥٠٨…", full-width) raise ``non_ascii_digits``: ``\\d{12}`` took them for a BIN, which no
    organisation has, and the list was empty without a word; a grouped BIN was searched as a name and found
    nothing."""
    digits = identifier_text(typed.strip())
    if len(digits) != 12 or not digits.isdigit():
        return None
    if not digits.isascii():
        raise UnreadableIdentifier("non_ascii_digits")
    return digits


def whole_number_of(value: object, max_digits: int) -> int | None:
    """A whole number a registry wrote (a grade, a course) — a cell's text, a number cell or the service's JSON
    number — in ASCII digits (app/user_input.py); None for anything else: ``int`` read "١٢" as 12, "1_0" as 10,
    5.9 as 5 and ``true`` as 1."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None
    return ascii_int(str(value).strip().removesuffix(".0"), max_digits=max_digits)


#: C0 and C1 control characters other than the white space a cell may wrap on (tab, line feed, carriage return):
#: a NUL or another control byte in a text column is the mark of a damaged or binary file. PostgreSQL refuses a NUL
#: in a string outright (the whole batch failed); SQLite stored it, and the name matched no act's.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


def squeeze_spaces(value: str) -> str:
    """Every run of white space (a line break of a cell wrapped by hand, a non-breaking or doubled space) as one
    space: a name is the same name however its cell was spaced, and a line break in it broke every list it is
    printed in."""
    return " ".join(value.split())


#: "?" and the replacement character are what an encoding writes for a letter it does not have: a file saved as
#: "CSV" by Excel on a Russian Windows turns every Kazakh letter (ә, і, ң, ғ, ү, ұ, қ, ө, һ) into "?". No name holds
#: one, and the letter is lost: the row is refused, and the reason says how to save the file.
_LOST_LETTER = re.compile(r"[?\ufffd]")


def has_lost_letters(value: str) -> bool:
    return bool(_LOST_LETTER.search(value))


# --- names typed in two scripts ----------------------------------------------------------------------------------
# A Latin letter typed among Cyrillic ones (the keyboard on the wrong layout, a name copied from a passport) looks
# the same and is another character: a search for "Алиев" does not find "Aлиев", and a list sorted by name puts it
# among the Latin ones. Verification already counts such names the same (app.acts.rules.normalise_name), so the
# import may write the letter in the word's own script without changing any check's outcome — and does, for a word
# whose foreign letters all have a twin in the word's script (the change is then certain). A word whose letters of
# either script include one with no twin ("Ivaнov") is left as written: what was meant is not certain.
# Each pair is one the name check counts the same (a test holds them to it): Latin "h" is not among them — the check
# reads it as "н" (its capital's twin), a Kazakh "һ" as "х". Each change is named in the import's report.

_LATIN_TO_CYRILLIC = {
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М", "O": "О", "P": "Р", "T": "Т",
    "X": "Х", "Y": "У", "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у",
}
_CYRILLIC_TO_LATIN = {
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "К": "K", "М": "M", "О": "O", "Р": "P", "Т": "T",
    "Х": "X", "а": "a", "с": "c", "е": "e", "і": "i", "о": "o", "р": "p", "х": "x", "у": "y",
}
_WORD = re.compile(r"\w+")


def _script(ch: str) -> str | None:
    if "\u0400" <= ch <= "\u04ff":
        return "cyrillic"
    if ch.isascii() and ch.isalpha():
        return "latin"
    return None


def _one_script(word: str) -> str:
    latin = [ch for ch in word if _script(ch) == "latin"]
    cyrillic = [ch for ch in word if _script(ch) == "cyrillic"]
    if not latin or not cyrillic:
        return word
    # Towards the script whose look-alikes the word's other letters all are ("Oлeг": л and г have no Latin twin, so
    # Cyrillic); if both could be, towards the script most of its letters are in; a tie is left as written.
    to_cyrillic = all(ch in _LATIN_TO_CYRILLIC for ch in latin)
    to_latin = all(ch in _CYRILLIC_TO_LATIN for ch in cyrillic)
    if to_cyrillic and to_latin:
        to_cyrillic, to_latin = len(cyrillic) > len(latin), len(latin) > len(cyrillic)
    if to_cyrillic:
        return "".join(_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)
    if to_latin:
        return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in word)
    return word


def iban_text(value: object) -> str:
    """A KZ IBAN as typed or copied — "kz86 125k zt50 0410 0100", grouped with non-breaking or narrow spaces or
    hyphens, a letter on the Cyrillic layout ("КZ86…", "…125КZТ…") — as the 20 Latin capitals and digits it is. An IBAN
    has Latin letters only, so a Cyrillic look-alike can only mean its twin, and the check digits still guard the
    result; another script's digits are left as written, and refused (the identifiers' rule). The form's format, the
    stored account and the registries' check all read it here: the form took "kz86…" and the account was stored as
    typed, a non-breaking space or a Cyrillic "К" was "not a valid IBAN" for the right account."""
    if not isinstance(value, str):
        return ""
    return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in identifier_text(value).upper())


def in_one_script(name: str) -> str:
    """The name with every word in one script where its foreign letters are look-alikes (see above)."""
    return _WORD.sub(lambda m: _one_script(m.group()), name)


# --- dates ----------------------------------------------------------------------------------------------------------

#: A date cell formatted as "General" (or a CSV saved from one) holds the spreadsheet's day number: 46266 is
#: 2026-09-01 in the 1900 date system every current Excel and LibreOffice writes. In a date column a number can mean
#: nothing else, so it is read as that day — within 1990–2099: a number outside is no date of a registry and stays
#: refused (a grade or a year typed in the wrong column).
_EXCEL_1900 = date(1899, 12, 30)
_EXCEL_1904 = date(1904, 1, 1)


class Serial1904(float):
    """A number of a workbook in the 1904 date system (old Mac Excel): as a date, its day numbers count from
    1904-01-01 — read in the 1900 system, every date was four years and a day early."""


def excel_serial_date(number: float) -> date | None:
    """The day an Excel day number stands for, or None when it is no whole day of 1990–2099."""
    if number != int(number) or not 0 < number < 100_000:
        return None  # a fraction is a time of day or no date at all
    day = (_EXCEL_1904 if isinstance(number, Serial1904) else _EXCEL_1900) + timedelta(days=int(number))
    return day if 1990 <= day.year <= 2099 else None
