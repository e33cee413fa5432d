"""Words a change adds reach the catalogues through the lead's merge of ``translations/pending/*.json``: until then a
test accepts a msgid that is either translated in the compiled catalogue or waiting there with kk and ru words."""

from __future__ import annotations

import json
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _

PENDING = Path(__file__).resolve().parents[2] / "translations" / "pending"


def pending() -> dict[str, dict]:
    words: dict[str, dict] = {}
    for file in sorted(PENDING.glob("*.json")):
        words.update(json.loads(file.read_text(encoding="utf-8")))
    return words


def assert_translated(app, msgid: str) -> None:
    """``msgid`` has Kazakh and Russian words: in the catalogue, or pending with both."""
    waiting = pending().get(msgid)
    if waiting is not None:
        assert waiting.get("kk") and waiting.get("ru"), f"pending words of {msgid!r} lack kk or ru"
        assert waiting["kk"] != waiting["ru"] != msgid, msgid
        return
    with app.test_request_context():
        for language in ("kk", "ru"):
            with force_locale(language):
                assert _(msgid) != msgid, f"no {language} words for {msgid!r}"
