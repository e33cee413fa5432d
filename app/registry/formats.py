"""Kazakhstan's identifiers as form formats: a form field with ``"format": "iin"`` (``bin``, ``iban-kz``) is
checked with the registries' own check-digit rules. Imported by the app factory (the engine imports no domain
package: the domain registers its formats with it)."""

from __future__ import annotations

from app.engine.forms import register_format
from app.registry.cells import iban_text, identifier_text
from app.registry.identifiers import ASCII_12, is_valid_bin, is_valid_iin, is_valid_kz_iban


def typed_identifier(text: str) -> str:
    """An IIN or BIN typed into a page's field (or a lines file's cell) as its twelve digits when it is twelve ASCII
    digits written in groups ("791028 302728", "7910-2830-2728", a non-breaking space of a copied table): the check
    digit still guards them (app/registry/cells.py). It was refused as "Not a valid IIN: 12 digits with a correct
    check digit." — which it is. Anything else is left as typed, for the format's own message (other digits: "Type
    the number with the ordinary digits 0–9")."""
    digits = identifier_text(text)
    return digits if ASCII_12.fullmatch(digits) else text


register_format("iin", is_valid_iin, typed=typed_identifier)
register_format("bin", is_valid_bin, typed=typed_identifier)
register_format("iban-kz", lambda value: isinstance(value, str) and is_valid_kz_iban(iban_text(value)))
