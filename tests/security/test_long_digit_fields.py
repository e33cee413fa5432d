"""A form field of digits only, but more of them than Python turns into a number (4,300): the amendment form checked
that its places and revision were ASCII digits, then called int() — a ValueError and a 500 instead of the field's
message. Refused per field, and nothing changes."""

from __future__ import annotations

import pytest

from tests.lifecycle.test_contract_amendments import form, samruk, snapshot

DIGITS = "1" * 5000


@pytest.mark.parametrize("field", ["places_primary", "places_basic", "places_secondary", "revision"])
def test_an_amendment_with_thousands_of_digits_is_refused_per_field(world, browser, field):
    contract = samruk()
    before = snapshot(contract.id)
    response = browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract, **{field: DIGITS}))
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True) or field == "revision"
    assert snapshot(contract.id) == before
