"""Values a person types into a query string or a form field: whole numbers and JSON text.

* Digits are ASCII 0–9 only (the rule of ``app/registry/identifiers.py``). ``str.isdigit`` also says yes to
  "²", which ``int`` then refuses (a 500), and to full-width "１２" or Arabic-Indic "١٢", which ``int`` silently
  reads as 12. Here such a value is what a word of letters always was: not a number. A number in a query string or
  a form is read by :func:`whole_number`, never by Flask's ``type=int`` (Python's ``int``: "١", " 1 ", "+1", "1_0").
* A page to return to (``next``) is followed only when :func:`is_local_path` says it is a path on this site.
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
