"""A KZ IBAN is the same account however it was typed or copied: in lower case, grouped by fours with spaces,
non-breaking or narrow spaces or hyphens, or with a letter typed on the Cyrillic layout ("К" for "K", "Т" for "T").

The form's format took "kz86 125k…" and the application stored the account as typed; a non-breaking space (an IBAN
copied from a bank's page) or a Cyrillic "К" was "not a valid IBAN" for the right account, on the application forms
and on the administrator's organisation form alike. Every path now reads it with :func:`app.registry.cells.iban_text`
and stores the 20 Latin capitals and digits; another script's digits stay refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine.forms import validate
from app.extensions import db
from app.people.models import Organisation
from app.registry.cells import iban_text
from tests.admin.test_admin import _free_bin
from tests.helpers import school
from tests.lifecycle.conftest import frozen  # noqa: F401 - fixture
from tests.lifecycle.flow import apply, place_order

IBAN = "KZ86125KZT5004100100"

#: how a person may type or copy :data:`IBAN`
SPELLINGS = {
    "lower case": IBAN.lower(),
    "grouped by fours": "KZ86 125K ZT50 0410 0100",
    "non-breaking spaces": "KZ86\u00a0125K\u00a0ZT50\u00a00410\u00a00100",
    "narrow no-break spaces": "KZ86\u202f125K\u202fZT50\u202f0410\u202f0100",
    "hyphens": "KZ86-125K-ZT50-0410-0100",
    "Cyrillic К and Т": "\u041aZ86125\u041aZ\u04225004100100",
    "Cyrillic lower case": "\u043az86125\u043az\u04425004100100",
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_forms_iban_format_and_the_stored_account_read_it_alike(app_ctx, spelling):
    typed = SPELLINGS[spelling]
    assert iban_text(typed) == IBAN
    assert validate({"type": "object", "properties": {"iban": {"type": "string", "format": "iban-kz"}}},
                    {"iban": typed}) == {}


@pytest.mark.parametrize("typed", [IBAN.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                                   "KZ86125KZT5004100101", "KZ86 125K ZT50 0410 010", "\u0417Z86125KZT5004100100"])
def test_what_is_no_account_stays_refused(app_ctx, typed):
    assert validate({"type": "object", "properties": {"iban": {"type": "string", "format": "iban-kz"}}},
                    {"iban": typed}) != {}


@pytest.mark.parametrize("spelling", ["lower case", "non-breaking spaces", "Cyrillic К and Т"])
def test_a_school_applies_with_its_iban_as_typed_and_the_account_is_stored_as_it_is(frozen, browser, spelling):  # noqa: F811
    order = place_order(browser("official"))
    bilim = school("Bilim Innovation School")
    application = apply(browser("accountant"), order, bilim, "KZ15LAA00001234", iban=SPELLINGS[spelling])
    assert application.iban == IBAN


@pytest.mark.parametrize("spelling", ["grouped by fours", "non-breaking spaces", "Cyrillic lower case"])
def test_the_administrator_saves_an_organisations_iban_as_typed(world, browser, spelling):
    region_id = db.session.scalars(select(Organisation.region_id).where(Organisation.region_id.is_not(None))).first()
    free_bin = _free_bin()
    created = browser("admin").post("/admin/organisations/new", {
        "kind": "school", "bin": free_bin, "name": "New School", "region_id": str(region_id),
        "iban": SPELLINGS[spelling]})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    assert db.session.scalars(select(Organisation.iban).where(Organisation.bin == free_bin)).one() == IBAN


@pytest.mark.parametrize("written", ["{} {} {}", "{}\u00a0{}\u00a0{}", "{}-{}-{}"])
def test_the_administrator_saves_an_organisations_bin_grouped_for_the_eye(world, browser, written):
    """A BIN typed in groups ("9901 0100 0017", as a certificate prints it) was cut to its first 13 characters and
    refused as no BIN: it is read as the file importers and the NEDB service read one (cells.identifier_text)."""
    region_id = db.session.scalars(select(Organisation.region_id).where(Organisation.region_id.is_not(None))).first()
    free_bin = _free_bin()
    created = browser("admin").post("/admin/organisations/new", {
        "kind": "school", "bin": written.format(free_bin[:4], free_bin[4:8], free_bin[8:]), "name": "New School",
        "region_id": str(region_id)})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    assert db.session.scalars(select(Organisation.bin).where(Organisation.name == "New School")).one() == free_bin
