"""The reconciliation API and downloads of the dormitories' instrument."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db


def test_the_api_reconciles_the_funding_instrument_asked_for_and_refuses_an_unknown_one(dorm_world, browser):
    """``instrument`` was not an argument of the API: ``?instrument=dormitory`` answered the schools' figures,
    without saying whose they were, so the dormitories' money could not be read through it."""
    import csv as csv_module
    import io as io_module
    from decimal import Decimal as D

    from app.acts.models import Act

    operator = browser("operator")
    month = max(db.session.scalars(select(Act.period).where(Act.instrument == "dormitory")))
    dorm = operator.get(f"/api/v1/reconciliation?period={month:%Y-%m}&instrument=dormitory").get_json()
    schools = operator.get(f"/api/v1/reconciliation?period={month:%Y-%m}").get_json()
    assert (dorm["instrument"], schools["instrument"]) == ("dormitory", "schools")
    assert dorm["total"]["claimed_tiyn"] > 0 and dorm["total"] != schools["total"]
    rows = list(csv_module.reader(io_module.StringIO(operator.get(
        f"/reports/reconciliation.csv?period={month:%Y-%m}&instrument=dormitory").get_data().decode("utf-8-sig"))))
    claimed = rows[0].index("Claimed, ₸")
    assert "Claimed by schools" not in rows[0]
    assert D(rows[-1][claimed]) * 100 == dorm["total"]["claimed_tiyn"]
    refused = operator.get(f"/api/v1/reconciliation?period={month:%Y-%m}&instrument=zzz")
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"instrument"}


def test_the_dormitories_reconciliation_names_its_claimed_column_in_the_readers_language(dorm_world, browser):
    """Users probe: "Claimed" stayed English on the Russian and Kazakh pages and downloads of the dormitories'
    reconciliation (only the schools' "Claimed by schools" was in the catalogues)."""
    from app.acts.models import Act

    month = max(db.session.scalars(select(Act.period).where(Act.instrument == "dormitory")))
    for language, word in (("ru", "Заявлено"), ("kk", "Мәлімделген")):
        operator = browser("operator")
        operator.post("/locale", {"locale": language, "next": "/"})
        page = operator.get(f"/reports/reconciliation?period={month:%Y-%m}&instrument=dormitory").get_data(as_text=True)
        assert f">{word}</th>" in page and ">Claimed</th>" not in page
        download = operator.get(f"/reports/reconciliation.csv?period={month:%Y-%m}&instrument=dormitory")
        header = download.get_data().decode("utf-8-sig").splitlines()[0]
        assert word in header and "Claimed" not in header


def test_the_dormitory_models_read_only_names_they_or_the_domain_set(dorm_world):
    """The modeler's notice of names no step sets (app.engine.data_names) says nothing of the shipped models."""
    from app.engine.models import ProcessModelVersion
    from app.engine.specs import model_notices

    versions = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")).all()
    assert any(".dmn" in name for v in versions for name in v.files)
    for version in versions:
        unset = [str(n) for n in model_notices(version.files) if "no step of this model sets it" in n.message]
        assert unset == [], unset
