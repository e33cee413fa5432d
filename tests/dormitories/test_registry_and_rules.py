"""The dormitory registries' importers (a per-row error report, re-import updates) and the rules a browser form
cannot reach: a dormitory without documents, a malformed IIN submitted through the operations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.acts.models import ActLine
from app.acts.operations import claim_for_verification, submit_act
from app.contracts.operations import open_contract_act
from app.dormitories.models import DormitoryDocument, StudentEnrolment
from app.dormitories.verification import verify_dormitory_acts
from app.extensions import db
from app.registry.importers import import_file
from tests.helpers import user

HEADER = "iin,full_name,institution_bin,course,study_form,home_region,enrolled_on,withdrawn_on\n"


def test_the_student_registry_imports_csv_with_a_row_report_and_updates_on_reimport(app_ctx, tmp_path):
    path = tmp_path / "students.csv"
    path.write_text(HEADER + "791028302728,Ахметов Нурлан,950440001673,2,full_time,ASTANA,2025-09-01,\n"
                    "791028302729,Bad Iin,950440001673,2,full_time,ASTANA,2025-09-01,\n"
                    "791028302728,Ахметов Нурлан,950440001673,9,evening,NOWHERE,2025-09-01,\n", encoding="utf-8")
    result = import_file("students", path)
    assert (result.loaded, result.rejected) == (1, 2)
    assert [e["code"] for e in result.errors] == ["invalid_iin", "invalid_study_form"]
    path.write_text(HEADER + "791028302728,Ахметов Нурлан,950440001673,3,part_time,KARAGANDY,2025-09-01,"
                    "2026-02-01\n", encoding="utf-8")
    assert import_file("students", path).loaded == 1
    row = db.session.scalars(select(StudentEnrolment)).one()
    assert (row.course, row.study_form, row.home_region, row.withdrawn_on) == (3, "part_time", "KARAGANDY",
                                                                               date(2026, 2, 1))


def test_beds_and_documents_import_from_csv(app_ctx, tmp_path):
    beds = tmp_path / "beds.csv"
    beds.write_text("dormitory_bin,room,bed\n950440001673,101,1\n950440001673,101,2\n123,101,3\n", encoding="utf-8")
    result = import_file("dormitory_beds", beds)
    assert (result.loaded, result.rejected) == (2, 1)
    docs = tmp_path / "docs.csv"
    docs.write_text("number,dormitory_bin,kind,valid_from,valid_until\nCA-1,950440001673,commissioning,2020-01-01,\n"
                    "OW-1,950440001673,lease,2020-01-01,\n", encoding="utf-8")
    result = import_file("dormitory_documents", docs)
    assert (result.loaded, result.rejected) == (1, 1) and result.errors[0]["code"] == "invalid_document_kind"


def test_a_dormitory_without_documents_is_paid_nothing_and_a_malformed_iin_is_caught(dorm_year):
    seeded = dorm_year
    dorm = seeded["orgs"]["dorm_a"]
    db.session.execute(DormitoryDocument.__table__.delete().where(DormitoryDocument.kind == "commissioning",
                                                                  DormitoryDocument.dormitory_bin == dorm.bin))
    act = open_contract_act(seeded["contracts"]["dorm_a"], date(2027, 9, 1))
    lines = [line for line, _ in seeded["worlds"]["dorm_a"].lines_for(act.period)]
    submit_act(act, lines, None, user("dorm_accountant"))
    claim_for_verification([act.id])
    summary = verify_dormitory_acts([act])[act.id]
    assert summary.by_rule == {"dorm_no_documents": len(lines)} and summary.amount_tiyn == 0

    other = open_contract_act(seeded["contracts"]["dorm_c"], date(2027, 9, 1))
    bad = dict(seeded["worlds"]["dorm_c"].lines_for(other.period)[0][0], iin="123456789012")
    submit_act(other, [bad], None, user("dorm_accountant3"))
    assert verify_dormitory_acts([other])[other.id].by_rule == {"iin_checksum": 1}
    assert db.session.scalar(select(func.count(ActLine.id)).where(ActLine.act_id == other.id)) == 1


def test_the_process_owner_edits_the_rates_table_and_only_new_contracts_take_the_new_rate(dorm_year):
    from app.dormitories.models import DormitoryTerms
    from app.dormitories.operations import place_dormitory_contract
    from app.engine.models import ProcessModel
    from app.engine.publishing import create_draft, publish_draft, save_draft
    from app.people.models import Organisation

    owner = user("owner")
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "dorm_contract")).one()
    draft = create_draft(model, owner)
    files = dict(draft.files)
    rates = next(name for name in files if name.endswith(".dmn"))
    files[rates] = files[rates].replace("<text>1900000</text>", "<text>2050000</text>")
    assert save_draft(draft, files, owner) == []
    publish_draft(draft, owner)
    db.session.commit()

    old = db.session.scalar(select(DormitoryTerms.place_rate_tiyn).where(
        DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id))
    assert old == 1_900_000
    newcomer = Organisation(kind="dormitory", bin="950440001673", name="New Residence",
                            region_id=dorm_year["orgs"]["dorm_a"].region_id)
    db.session.add(newcomer)
    db.session.flush()
    contract = place_dormitory_contract(newcomer, places=10, period_start=date(2027, 9, 1),
                                        period_end=date(2028, 8, 31), actor=owner)
    assert contract.status == "active" and contract.monthly_cap_tiyn == 10 * 2_050_000
    assert db.session.scalar(select(DormitoryTerms.place_rate_tiyn).where(
        DormitoryTerms.contract_id == dorm_year["contracts"]["dorm_a"].id)) == old, "a contract keeps its rate"
