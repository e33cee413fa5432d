"""Values a person types into a query string or a form field: whole numbers and JSON text.

* Digits are ASCII 0–9 only (the rule of ``app/registry/identifiers.py``). ``str.isdigit`` also says yes to
  "²", which ``int`` then refuses (a 500), and to full-width "１２" or Arabic-Indic "١٢", which ``int`` silently
  reads as 12. Here such a value is what a word of letters always was: not a number. A number in a query string or
  a form is read by :func:`whole_number`, never by Flask's ``type=int`` (Python's ``int``: "١", " 1 ", "+1", "1_0").
* A page to return to (``next``) is followed only when :func:`is_local_path` says it is a path on this site.
* A date a person types or another agency's file or service writes is read by :func:`calendar_date`, never by
  ``datetime.strptime``, whose ``%Y`` reads "12.11.٢٠٢٦" as 12 November 2026, nor by ``date.fromisoformat``, which
  reads "20261112" and the week date "2026-W46-4" (it stays for dates this app wrote itself).
* An amount of money typed by a person is read by :func:`tiyn_of_tenge`: one spelling and one set of messages for
  every amount field.
* JSON typed into a form field is read by :func:`loads_json_field`. JSON request bodies are guarded in
  :mod:`app.security`; a form field is only text until a view parses it, and ``json.loads`` then recurses once per
  level (100,000 ``[`` raise ``RecursionError``) and accepts ``NaN``, ``Infinity`` and ``1e999``, which are not
  JSON and which PostgreSQL's ``json`` type refuses. Each is refused as a :class:`json.JSONDecodeError`, so a
  caller's "not valid JSON" message covers it; :class:`UnreadableJson` tells it apart from a plain typing error.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any, NoReturn, TypeGuard
from urllib.parse import urlsplit

from werkzeug.exceptions import BadRequest

#: A form schema or a workflow variable is a few levels deep; the parser, the schema validator and the audit copy
#: each recurse once per level, and Python stops at 1,000 frames.
MAX_JSON_DEPTH = 64
#: Ids and counters fit PostgreSQL's ``bigint`` in 18 digits; a longer number is not one we could hold.
MAX_ID_DIGITS = 18


def is_local_path(target: object) -> TypeGuard[str]:
    """Whether ``target`` is a path on this site, safe to redirect to: it starts with one "/", and names no scheme
    or host. Browsers drop tabs and line breaks from a URL and read "\\" as "/", so "/\t/evil.example" and
    "/\\evil.example" would both take the user to another site: any control character or backslash refuses it."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def login_name(typed: object) -> str:
    """The account a typed login names: logins are ASCII letters, digits, ``.``, ``-`` and ``_``, stored in lower case
    (app/admin: "This login is taken" compares them so). A phone capitalises the first letter ("Accountant") and an
    input method may type full-width letters ("ａｃｃｏｕｎｔａｎｔ"); both were "Wrong login or password" for the
    right password. NFKC maps full-width and compatibility letters to ASCII, then lower case; a look-alike from
    another script (Cyrillic "а") stays what it is and names no account. The login throttle counts by the same
    name, so no spelling of one account is a fresh one to guess at."""
    if not isinstance(typed, str):
        return ""
    return unicodedata.normalize("NFKC", typed[:400]).strip().lower()[:80]


def is_ascii_digits(text: object) -> TypeGuard[str]:
    """Whether ``text`` is a non-empty string of ASCII digits 0–9 (no sign, no spaces)."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (with ``escape="\\"``): ``%`` and ``_`` typed into a search box
    matched everything."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ascii_int(text: object, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The whole number ``text`` spells in at most ``max_digits`` ASCII digits, else None (a filter is ignored,
    an id is not found)."""
    if not is_ascii_digits(text) or len(text) > max_digits:
        return None
    return int(text)


class NotAWholeNumber(BadRequest):
    """A query or form parameter that must hold a whole number and does not: a 400 whose error document names the
    parameter (``{"message", "errors": {name: message}}``, app/errors.py), as the open-data files answer it."""

    def __init__(self, name: str) -> None:
        from flask_babel import gettext as _

        message = _("%(parameter)s must be a whole number.", parameter=name[:40])
        super().__init__(description=message)
        self.data = {"message": message, "errors": {name[:40]: message}}


def whole_number(values: Mapping[str, str], name: str, default: int | None = None, *, lenient: bool = False,
                 max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The whole number a query string or form (``values``) holds under ``name``, in ASCII digits after an optional
    minus (the caller judges the range: no id is negative); ``default`` when it is absent or empty. Flask's
    ``type=int`` is Python's ``int``, which reads "١" (Arabic-Indic), "１" (full-width), " 1 ", "+1" and "1_000" as
    numbers: ``region=١`` was region 1, and a word ("abc") was silently the default (every region's file). Anything
    else is refused with :class:`NotAWholeNumber` naming the parameter, or, ``lenient``, is the ``default`` — for a
    page number, whose page is then the first, and for a choice whose absence the page already explains (no deputy
    chosen)."""
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    digits = raw.removeprefix("-")
    number = ascii_int(digits, max_digits)
    if number is not None:
        return -number if digits != raw else number
    if lenient:
        return default
    raise NotAWholeNumber(name)


def page_number(values: Mapping[str, str]) -> int:
    """The page of a list a query string asks for (``page``): from 1, in at most six ASCII digits; anything else is
    the first page, as a list's page has always been read."""
    return max(whole_number(values, "page", 1, lenient=True, max_digits=6) or 1, 1)


class UnreadableJson(json.JSONDecodeError):
    """Text that ``json.loads`` must not be given: it would recurse too deeply, read a value JSON has not, or raise
    something other than a ``JSONDecodeError`` (an integer of more than 4,300 digits)."""


class JsonTooDeep(UnreadableJson):
    """Arrays and objects nested deeper than :data:`MAX_JSON_DEPTH`."""


class NonFiniteNumber(UnreadableJson):
    """``NaN``, ``Infinity`` or a number too large for a double (``1e999``): Python reads them, JSON has none."""


class BrokenText(UnreadableJson):
    """A string escape that decodes to a lone UTF-16 surrogate (``"\\ud800"``): no text can be stored with it."""


def loads_json_field(text: str) -> Any:
    """``json.loads`` for text typed into a form field; anything that is not plain, finite, shallow JSON raises a
    :class:`json.JSONDecodeError`; an :class:`UnreadableJson` (:class:`JsonTooDeep`, :class:`NonFiniteNumber`) where
    plain ``json.loads`` would have gone wrong rather than said so."""

    def refuse_number(literal: str) -> NoReturn:
        raise NonFiniteNumber(f"{literal[:20]} is not a finite number", text, max(text.find(literal), 0))

    def finite_float(literal: str) -> float:
        number = float(literal)
        return number if math.isfinite(number) else refuse_number(literal)

    try:
        value = json.loads(text, parse_constant=refuse_number, parse_float=finite_float)
    except RecursionError:
        raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as err:  # an integer of more than 4,300 digits (Python's int-from-string limit)
        raise UnreadableJson(f"number too long ({str(err)[:60]})", text, 0) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels", text, 0)
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BrokenText("a lone surrogate in a string", text, 0) from None
    return value


def _depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` is, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:  # one level past the limit is enough to know
                stack.extend((child, level + 1) for child in node)
    return deepest


#: an academic year as the app writes it in addresses (2025/2026); anything else in a ``year`` is no year at all
ACADEMIC_YEAR = re.compile(r"[0-9]{4}/[0-9]{4}")


def not_an_academic_year(raw: str) -> str:
    """What a page or a file says of a ``year`` in its address that is no academic year ("abc", "2026")."""
    from flask_babel import gettext as _

    return _("“%(value)s” is not an academic year. Choose one from the list, or write it as YYYY/YYYY "
             "(for example %(example)s).", value=raw[:20], example="2025/2026")


# --- dates ----------------------------------------------------------------------------------------------------------

#: the two ways the app reads a date written as text, in ASCII digits: ISO 8601's calendar date (2026-11-05, also
#: 2026-11-5 as a program may write it) and day first, as Kazakh and Russian spreadsheets write it (05.11.2026)
ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
DAY_FIRST = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")


def calendar_date(text: object, *, day_first: bool = False) -> date | None:
    """The day ``text`` names as ``YYYY-MM-DD`` (or, ``day_first``, as ``DD.MM.YYYY``) in ASCII digits, else None —
    the caller says what it asks for (a field's message, a file row's reason)."""
    if not isinstance(text, str):
        return None
    found = ISO_DAY.fullmatch(text)
    year, month, day = (1, 2, 3) if found else (3, 2, 1)
    if found is None and day_first:
        found = DAY_FIRST.fullmatch(text)
    if found is None:
        return None
    try:
        return date(int(found[year]), int(found[month]), int(found[day]))
    except ValueError:
        return None


# --- money ----------------------------------------------------------------------------------------------------------

#: Tiyn are stored in PostgreSQL's ``bigint``: 15 digits of tenge (999 trillion ₸) fit it with room for sums, and no
#: amount of this system comes near (the whole state order is about 185 billion ₸ a year).
MAX_TENGE_DIGITS = 15
#: what only groups an amount's digits for the eye: a space, a non-breaking one (a number copied from a page or a
#: Word table), a thin or narrow no-break one (how kk and ru locales print 1 500 000)
_GROUPING_SPACES = re.compile(r"[ \u00a0\u2007\u2009\u202f]")
#: an amount in tenge as people write it: ASCII digits, grouped by threes with spaces or not at all, then a comma or
#: a dot and the tiyn; a sign and a trailing ₸ as written
_TENGE = re.compile(r"(?P<minus>[-\u2212])?(?P<whole>[0-9]{1,3}(?: [0-9]{3})+|[0-9]+)(?:[.,](?P<tiyn>[0-9]*))? ?₸?")


class NotTenge(ValueError):
    """An amount typed into a field that is no amount this system may take; ``message`` says why, in the reader's
    language, and what to type."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def tiyn_of_tenge(typed: object, asks: str, *, negative: bool = False) -> int:
    """The tiyn an amount in tenge typed by a person stands for (:data:`_TENGE`): "1 500 000", "1500000.5",
    "1 500 000,50 ₸". Every amount field reads its value here, so each takes the same spellings and refuses the same
    ones (:class:`NotTenge`): with the field's own message (``asks``: what to type) for what is no amount — other
    digits ("１５００" was read by ``int``), a minus where the field takes none —, and with its reason for a third
    decimal (a tiyn is the smallest amount: "1500.255" is refused, never rounded) and for more than
    :data:`MAX_TENGE_DIGITS` digits (``int`` of 4,300 raised, and 20 overflowed the column)."""
    from flask_babel import gettext as _

    text = _GROUPING_SPACES.sub(" ", typed.strip()) if isinstance(typed, str) else ""
    found = _TENGE.fullmatch(text)
    if found is None or (found["minus"] and not negative):
        raise NotTenge(asks)
    whole, tiyn = found["whole"].replace(" ", "").lstrip("0") or "0", found["tiyn"] or ""
    if len(tiyn) > 2:
        raise NotTenge(_("Enter at most two digits after the decimal mark: a tiyn is the smallest amount."))
    if len(whole) > MAX_TENGE_DIGITS:
        raise NotTenge(_("The amount is too large: at most %(digits)s digits of tenge.", digits=MAX_TENGE_DIGITS))
    amount = int(whole) * 100 + int(tiyn.ljust(2, "0"))
    return -amount if found["minus"] else amount
