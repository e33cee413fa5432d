"""The contract page's claw-back note says the rule in words, to every reader (the department head too).

It named the server's setting — "(the CLAWBACK_LOOKBACK_YEARS setting)" — on the contract page, and the reconciliation's
time-barred note did too. Now the note says how many academic years back a claw-back reaches, and no page names the
setting."""

from __future__ import annotations

from pathlib import Path

from flask import render_template

from app.acts.adjustments import cause_title


def _note(app, years: int) -> str:
    app.config["CLAWBACK_LOOKBACK_YEARS"] = years
    with app.test_request_context("/"):
        return render_template("contracts/_unsettled.html", unsettled=[], adjustment_cause=cause_title)


def test_the_claw_back_note_says_the_number_of_years_not_the_settings_name(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLAWBACK_LOOKBACK_YEARS", 1)
    one, three = _note(app, 1), _note(app, 3)
    assert "CLAWBACK_LOOKBACK_YEARS" not in one and "CLAWBACK_LOOKBACK_YEARS" not in three
    assert "of the 1 academic year before it." in one
    assert "of the 3 academic years before it." in three


def test_no_page_sentence_names_the_claw_back_setting(project_root: Path):
    named = [str(p.relative_to(project_root)) for p in (project_root / "app" / "templates").rglob("*.html")
             if "CLAWBACK_LOOKBACK_YEARS setting" in p.read_text(encoding="utf-8")]  # in a sentence, not the lookup
    assert named == []
