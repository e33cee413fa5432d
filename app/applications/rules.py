"""Eligibility rules: each has a code (stored on the application) and a reason shown to the school."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ELIGIBILITY_RULES: dict[str, object] = {
    "bin_invalid": _l("The school's BIN is not 12 digits with a correct check digit."),
    "not_in_business_register": _l("The school's BIN is not found in the business register."),
    "business_inactive": _l("The organisation is not active in the business register (liquidated or suspended)."),
    "not_education": _l("The organisation's main activity is not education (OKED 85.*)."),
    "licence_missing": _l("No licence with this number is registered for the school's BIN."),
    "licence_expired": _l("The licence is not valid at the start of the contract period."),
    "licence_levels": _l("The licence does not cover every level the school claims students for."),
    "no_students": _l("The application claims no students."),
    "over_capacity": _l("The students claimed exceed the building's design capacity."),
    "capacity_mismatch": _l("The design capacity stated is larger than the registered design capacity."),
    "iban_invalid": _l("The IBAN is not a valid Kazakh account number."),
}


def reason(code: str) -> str:
    """The reason of a rule code of any instrument's eligibility check (the schools' first)."""
    if code in ELIGIBILITY_RULES:
        return str(ELIGIBILITY_RULES[code])
    from app.instruments import instruments

    for candidate in instruments():
        if code in candidate.eligibility_rules:
            return str(candidate.eligibility_rules[code])
    return code
