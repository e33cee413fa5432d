"""Kazakhstan's identifiers as form formats: a form field with ``"format": "iin"`` (``bin``, ``iban-kz``) is
checked with the registries' own check-digit rules. Imported by the app factory (the engine imports no domain
package: the domain registers its formats with it)."""

from __future__ import annotations

from app.engine.forms import register_format
from app.registry.cells import iban_text
from app.registry.identifiers import is_valid_bin, is_valid_iin, is_valid_kz_iban

register_format("iin", is_valid_iin)
register_format("bin", is_valid_bin)
register_format("iban-kz", lambda value: isinstance(value, str) and is_valid_kz_iban(iban_text(value)))
