"""An auditor traces an act's lines to the registries: the lookup is hers to read, and the act leads there."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import Act, ActLine
from app.extensions import db
from tests.helpers import school


def test_an_auditor_goes_from_an_acts_lines_to_their_registry_records(world, browser):
    """Users probe: the auditor tracing a paid act back to its lines found the excluded lines' rules but no way to the
    registry records behind them — the lookup was reachable only from the operator's Registries page (403 for her),
    and its own "← Registries" link led her there."""
    act = db.session.scalars(select(Act).where(Act.school_id == school("Alatau Lyceum").id)).first()
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "excluded")).first()
    auditor = browser("auditor")

    page = auditor.get(f"/acts/{act.id}").get_data(as_text=True)
    assert f'href="/registry/lookup?q={line.iin}"' in page, "an excluded line's IIN leads to its NEDB records"
    assert f'href="/registry/lookup?q={act.school.bin}"' in page, "the school's BIN to its licences and register"
    assert 'id="nav-registry-lookup"' in page

    lookup = auditor.get(f"/registry/lookup?q={line.iin}")
    assert lookup.status_code == 200
    assert 'href="/registry"' not in lookup.get_data(as_text=True), "no link to a page she may not open"

    official = browser("official_almaty").get(f"/acts/{act.id}").get_data(as_text=True)
    assert "/registry/lookup" not in official, "the department does not read the registries"
