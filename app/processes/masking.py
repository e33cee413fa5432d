"""Personal data in task data is masked for roles that do not need it (DESIGN: children's IINs and names).

A value is personal when its key names a person (``iin``, ``*_name``, ``full_name``…) or when it looks like an
IIN (12 digits). Masking keeps the last digits of an IIN so an operator can still tell two values apart. A text
written by a person (a comment, a return's reason, a line review's why) keeps its words and loses the IINs written in
it (:func:`mask_text`): "the pupil 7910 2830 2728 left" is the official's sentence and a child's IIN.
"""

from __future__ import annotations

import re

from app.registry.identifiers import iins_in_text

_IIN = re.compile(r"^[0-9]{12}$")
_PERSONAL_KEYS = re.compile(r"(^|_)(iin|name|first_name|last_name|middle_name|full_name|fio|patronymic|"
                            r"surname|birth_date|phone|email)$", re.IGNORECASE)
MASK = "•••"


def is_personal_key(name: str) -> bool:
    """Whether a value under this name (a variable, a file's column) names or identifies a person."""
    return bool(_PERSONAL_KEYS.search(name))


def mask_text(text: str) -> str:
    """``text`` with each person's IIN written in it (whole, in groups, in full-width digits) masked as an IIN value
    is: its last four digits kept."""
    for start, end in reversed(iins_in_text(text)):
        digits = "".join(ch for ch in text[start:end] if "0" <= ch <= "9") or text[start:end]
        text = text[:start] + "••••••••" + digits[-4:] + text[end:]
    return text


def mask_value(value):
    if isinstance(value, str) and _IIN.match(value):
        return "••••••••" + value[-4:]
    if isinstance(value, dict | list):
        return mask(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return MASK


def mask(data, personal: bool = False):
    """A copy of ``data`` with personal values replaced; structure and non-personal values kept."""
    if isinstance(data, dict):
        return {k: (mask_value(v) if (personal or _PERSONAL_KEYS.search(str(k))) and not isinstance(v, dict | list)
                    else mask(v, personal or bool(_PERSONAL_KEYS.search(str(k)))))
                for k, v in data.items()}
    if isinstance(data, list):
        return [mask(v, personal) for v in data]
    if isinstance(data, str) and _IIN.match(data):
        return mask_value(data)
    if isinstance(data, str) and not personal:
        return mask_text(data)
    if personal and data is not None and not isinstance(data, bool | int | float):
        return MASK
    return data


def mask_event_details(details: dict) -> dict:
    """An audit event's details as a reader without personal-data clearance sees them. A variable's edit
    (``name``, ``old``, ``new``) masks the values by the variable's name, as the variables table does, and keeps
    the name itself; every other key is masked as task data is."""
    if "name" in details and ("old" in details or "new" in details):
        name = str(details["name"])
        rest = mask({k: v for k, v in details.items() if k not in ("name", "old", "new")})
        return {**rest, "name": name, **{k: mask({name: details[k]})[name] for k in ("old", "new") if k in details}}
    return mask(details)
