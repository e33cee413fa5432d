"""A msgid a feature adds must have Kazakh and Russian words in the compiled catalogues."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _


def assert_translated(app, msgid: str) -> None:
    """``msgid`` reads differently in kk and in ru than in English (the catalogue has both)."""
    with app.test_request_context():
        for language in ("kk", "ru"):
            with force_locale(language):
                assert _(msgid) != msgid, f"no {language} words for {msgid!r}"
