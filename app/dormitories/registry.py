"""The student registry (colleges and universities) behind the same adapter interface as NEDB, and the
dormitories' own registry (beds from the building passport, commissioning and ownership documents).

The default adapter reads the tables filled by the import commands (``flask import-registry students FILE``,
or *Registries* in the browser); a deployment with a live student-registry service swaps in another adapter
with the same two methods. Verification asks for every enrolment of a set of IINs in one call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.dormitories.models import DOCUMENT_KINDS, STUDY_FORMS, DormitoryBed, DormitoryDocument, StudentEnrolment
from app.extensions import db
from app.registry.adapter import EnrolledDays, TableEnrolments
from app.registry.adapter import StudentRegistry as StudentRegistry  # the one interface, re-exported
from app.registry.identifiers import is_valid_bin, is_valid_iin
from app.registry.importers import (
    KINDS,
    REASONS,
    ImportKind,
    RowError,
    _ident,
    _period,
    _person_name,
    _text,
    _whole_number,
    enrolment_dates,
)
from app.registry.merges import children_of

_CHUNK = 900  # stays under SQLite's bound-parameter limit


@dataclass(frozen=True)
class StudentRecord(EnrolledDays):
    iin: str
    full_name: str
    institution_bin: str
    course: int
    study_form: str
    home_region: str
    enrolled_on: date
    withdrawn_on: date | None


def _record(e: StudentEnrolment) -> StudentRecord:
    return StudentRecord(e.iin, e.full_name, e.institution_bin, e.course, e.study_form, e.home_region,
                         e.enrolled_on, e.withdrawn_on)


class TableStudentRegistry(TableEnrolments):
    """Reads the ``student_enrolment`` table filled by the import commands (the NEDB adapter's interface:
    ``enrollments_for(iins)``, ``enrollments_at_school(institution_bin, start, end)``)."""

    table_name = "student_enrolment"
    model = StudentEnrolment
    school_column = "institution_bin"
    record = staticmethod(_record)


def student_registry() -> StudentRegistry:
    return TableStudentRegistry()


def enrolments_of_children(registry: StudentRegistry, iins: Iterable[str]) -> dict[str, list]:
    """{IIN: the student registry's enrolments of the child it names, under that IIN or any IIN NEDB merged with it}
    (app.registry.merges). The student registry is not NEDB: a merge moves no row of it, and its next file may list
    the child under the surviving IIN only — a place paid under the retired IIN was then clawed back whole, as if the
    child had never been enrolled (the rule pass joins the same IINs: ``rule_sql.rules_sql``)."""
    wanted = set(iins)
    child = children_of(wanted)
    found: dict[str, list] = defaultdict(list)
    for iin, rows in registry.enrollments_for(child).items():
        found[child.get(iin, iin)].extend(rows)
    return {iin: found.get(child[iin], []) for iin in wanted}


def beds_of(dormitory_bins: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
    wanted = sorted(set(dormitory_bins))
    beds: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for i in range(0, len(wanted), _CHUNK):
        for bin_, room, bed in db.session.execute(
                select(DormitoryBed.dormitory_bin, DormitoryBed.room, DormitoryBed.bed)
                .where(DormitoryBed.dormitory_bin.in_(wanted[i:i + _CHUNK]))):
            beds[bin_].add((room, bed))
    return beds


def documents_of(dormitory_bins: Iterable[str]) -> dict[str, list[DormitoryDocument]]:
    wanted = sorted(set(dormitory_bins))
    docs: dict[str, list[DormitoryDocument]] = defaultdict(list)
    for i in range(0, len(wanted), _CHUNK):
        for doc in db.session.scalars(select(DormitoryDocument)
                                      .where(DormitoryDocument.dormitory_bin.in_(wanted[i:i + _CHUNK]))):
            docs[doc.dormitory_bin].append(doc)
    return docs


# --- importers (CSV/XLSX with a per-row error report, through app.registry.importers) ------------------------

REASONS.update({
    "invalid_course": _l("course must be a whole number from 1 to 7"),
    "invalid_study_form": _l("study form must be full_time, part_time or distance"),
    "invalid_region": _l("region must be a region code such as ASTANA or KARAGANDY"),
    "invalid_document_kind": _l("document kind must be commissioning or ownership"),
})


def _region_code(row: dict) -> str:
    from app.demo.regions import REGIONS

    code = (_text(row, "home_region", 16) or "").upper()
    if code not in {r[0] for r in REGIONS}:
        raise RowError("home_region", "invalid_region")
    return code


def parse_student(row: dict) -> dict:
    form = (_text(row, "study_form", 16, required=False) or "full_time").lower()
    if form not in STUDY_FORMS:
        raise RowError("study_form", "invalid_study_form")
    iin = _ident(row, "iin", is_valid_iin, "invalid_iin")
    enrolled, withdrawn = enrolment_dates(row, iin)  # NEDB's checks: a typed year, an enrolment before birth
    record: dict = {}
    record.update({"iin": iin, "full_name": _person_name(row, "full_name", record),
                   "institution_bin": _ident(row, "institution_bin", is_valid_bin, "invalid_bin"),
                   "course": _whole_number(row, "course", 1, 7, "invalid_course"),
                   "study_form": form, "home_region": _region_code(row), "enrolled_on": enrolled,
                   "withdrawn_on": withdrawn})
    return record


def parse_bed(row: dict) -> dict:
    return {"dormitory_bin": _ident(row, "dormitory_bin", is_valid_bin, "invalid_bin"),
            "room": _text(row, "room", 16), "bed": _text(row, "bed", 16)}


def parse_document(row: dict) -> dict:
    kind = (_text(row, "kind", 16) or "").lower()
    if kind not in DOCUMENT_KINDS:
        raise RowError("kind", "invalid_document_kind")
    valid_from, valid_until = _period(row, "valid_from", "valid_until")
    return {"number": _text(row, "number", 40), "dormitory_bin": _ident(row, "dormitory_bin", is_valid_bin,
                                                                        "invalid_bin"),
            "kind": kind, "valid_from": valid_from, "valid_until": valid_until}


KINDS.update({
    "students": ImportKind("students", StudentEnrolment,
                           ("iin", "full_name", "institution_bin", "course", "study_form", "home_region",
                            "enrolled_on", "withdrawn_on"),
                           ("iin", "full_name", "institution_bin", "course", "home_region", "enrolled_on"),
                           ("iin", "institution_bin", "enrolled_on"), parse_student, enrolments=True,
                           touches=("iin", "iin")),
    "dormitory_beds": ImportKind("dormitory_beds", DormitoryBed, ("dormitory_bin", "room", "bed"),
                                 ("dormitory_bin", "room", "bed"), ("dormitory_bin", "room", "bed"), parse_bed,
                                 touches=("bin", "dormitory_bin")),
    "dormitory_documents": ImportKind("dormitory_documents", DormitoryDocument,
                                      ("number", "dormitory_bin", "kind", "valid_from", "valid_until"),
                                      ("number", "dormitory_bin", "kind", "valid_from"), ("number",), parse_document,
                                      touches=("bin", "dormitory_bin")),
})

KIND_LABELS = {"students": _l("Student registry (colleges and universities)"),
               "dormitory_beds": _l("Dormitory beds"), "dormitory_documents": _l("Dormitory documents")}
