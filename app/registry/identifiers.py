"""Kazakh identifiers: IIN (person) and BIN (organisation) check digits, and KZ IBANs (ISO 13616)."""

from __future__ import annotations

import re

_WEIGHTS_1 = range(1, 12)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def _check_digit(digits: list[int]) -> int | None:
    c = sum(d * w for d, w in zip(digits, _WEIGHTS_1, strict=True)) % 11
    if c == 10:
        c = sum(d * w for d, w in zip(digits, _WEIGHTS_2, strict=True)) % 11
        if c == 10:
            return None
    return c


def is_valid_12(value: str) -> bool:
    """IIN and BIN share the algorithm: 12 digits, the 12th a weighted mod-11 check digit."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
        return False
    digits = [int(ch) for ch in value]
    return _check_digit(digits[:11]) == digits[11]


is_valid_iin = is_valid_12
is_valid_bin = is_valid_12


def complete_12(first_11: str) -> str | None:
    """Append the check digit to 11 digits, or None when no valid number has these digits."""
    c = _check_digit([int(ch) for ch in first_11])
    return None if c is None else first_11 + str(c)


def is_valid_kz_iban(value: str) -> bool:
    if not isinstance(value, str):
        return False
    iban = value.replace(" ", "").upper()
    if not re.fullmatch(r"KZ\d{2}[0-9A-Z]{16}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1
