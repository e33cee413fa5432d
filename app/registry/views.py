"""Registry pages: upload a file, watch the import, read the per-row error report. Thin."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user, login_required
from sqlalchemy import select

from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.access import sees_personal_data
from app.registry.access import require_importer, require_reader
from app.registry.cells import identifier_text
from app.registry.earlier_rows import notice_text
from app.registry.identifiers import has_non_ascii_digits, is_valid_12
from app.registry.importers import KINDS, REASONS, spreadsheet_upload_problem
from app.registry.jobs import dispatch
from app.registry.merges import merge_history
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, RegistryImport
from app.registry.operations import create_import, registry_counts
from app.registry.snapshot import max_removed_share
from app.security import clean_filename

bp = Blueprint("registry", __name__)


def _kind_labels() -> dict[str, str]:
    from app.dormitories.registry import KIND_LABELS

    return {"nedb": _("NEDB students"), "nedb_merges": _("NEDB IIN merges"), "licences": _("Licences"),
            "business": _("Business register"),
            **{kind: str(label) for kind, label in KIND_LABELS.items()}}


@bp.route("/registry")
@login_required
def index():
    require_importer(current_user)
    imports = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc()).limit(30)).all()
    return render_template("registry/index.html", imports=imports, counts=registry_counts(), kinds=_kind_labels(),
                           columns={k: [(c, c in v.required, _column_hint(c, k)) for c in (*v.columns, *v.read_only)]
                                    for k, v in KINDS.items()},
                           max_mb=_max_bytes() // (1024 * 1024), max_share=_share(max_removed_share()))


#: What each column takes, said by the reason a row is rejected for (one text, translated once): an operator read
#: that school_kind must be 'private' or 'state' only in the report of a failed import.
_HINTS = {"iin": "invalid_iin", "bin": "invalid_bin", "school_bin": "invalid_bin", "institution_bin": "invalid_bin",
          "dormitory_bin": "invalid_bin", "grade": "invalid_grade", "school_kind": "invalid_kind",
          "levels": "invalid_levels", "status": "invalid_status", "oked": "invalid_oked", "course": "invalid_course",
          "study_form": "invalid_study_form", "home_region": "invalid_region", "kind": "invalid_document_kind",
          "enrolled_on": "invalid_date", "withdrawn_on": "invalid_date", "valid_from": "invalid_date",
          "valid_until": "invalid_date", "liquidated_on": "invalid_date", "retired_iin": "invalid_iin",
          "surviving_iin": "invalid_iin"}


#: a column whose values differ by registry: a licence's status is not an organisation's
_KIND_HINTS = {("licences", "status"): "invalid_licence_status"}


def _column_hint(column: str, kind: str | None = None) -> str | None:
    from app.registry.importers import REASONS

    code = _KIND_HINTS.get((kind, column)) or _HINTS.get(column)
    return str(REASONS[code]) if code in REASONS else None


def _max_bytes() -> int:
    return int(current_app.config.get("REGISTRY_UPLOAD_MAX_BYTES") or current_app.config.get("MAX_CONTENT_LENGTH")
               or 5 * 1024 * 1024)


def _upload_problem(kind: str, upload) -> str | None:
    if kind not in KINDS:
        return _("Choose which registry the file belongs to.")
    limit = _max_bytes()
    return spreadsheet_upload_problem(upload, limit, _(
        "The file is larger than %(mb)s MB; import it with the command line instead.", mb=limit // (1024 * 1024)))


def _snapshot_options(kind: str) -> tuple[dict | None, str | None]:
    """The upload's "complete register" choices (app.registry.snapshot): the job's options, or what is wrong."""
    from app.registry.snapshot import SnapshotOptions, covered_schools

    asked = request.form.get("snapshot") == "1"
    if not asked:
        return None, None
    if kind != "nedb":
        return None, _("Only an NEDB students file can be imported as a complete register.")
    schools, wrong = covered_schools(request.form.get("schools", "")[:20000])
    if wrong:
        return None, _("These are not BINs (12 digits with a correct check digit): %(values)s. Nothing was imported.",
                       values=", ".join(wrong[:10]))
    return SnapshotOptions(schools, request.form.get("confirm") == "1", request.form.get("dry_run") == "1")\
        .as_options(), None


@bp.route("/registry/imports", methods=["POST"])
@login_required
def upload():
    require_importer(current_user)
    kind = request.form.get("kind", "")
    file = request.files.get("file")
    problem = _upload_problem(kind, file)
    options, wrong = _snapshot_options(kind) if not problem else (None, None)
    if problem or wrong:
        flash(problem or wrong, "danger")
        return redirect(url_for("registry.index")), 303
    try:
        job = create_import(kind, clean_filename(file.filename), actor=current_user, stream=file, options=options)
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("registry.index")), 303
    db.session.commit()
    if not dispatch("tapsyrys.registry.import", job.id):
        from app.registry.jobs import background_unreachable_message

        flash(background_unreachable_message(), "warning")
    return redirect(url_for("registry.show_import", import_id=job.id)), 303


def _job(import_id: int) -> RegistryImport:
    require_importer(current_user)
    job = db.session.get(RegistryImport, import_id)
    if job is None:
        abort(404)
    return job


def _row_value(job: RegistryImport):
    """How the import page shows a value of a row it names (a notice's IIN, a rejected cell): a children's registry's
    (NEDB, students) IINs and names in full to the roles that work with children's records, masked for the
    administrator, who imports the files but — as on the lookup page — is not cleared for them. A rejected cell of
    another column is what someone typed there, a child's IIN in a grade's cell too: its IINs are masked."""
    from app.processes.masking import is_personal_key, mask_text, mask_value

    kind = KINDS.get(job.kind)
    if kind is None or not kind.touches or kind.touches[0] != "iin" or sees_personal_data(current_user):
        return lambda _column, value: value
    return lambda column, value: (mask_value(value) if is_personal_key(str(column))
                                  else mask_text(value) if isinstance(value, str) else value)


@bp.route("/registry/imports/<int:import_id>")
@login_required
def show_import(import_id: int):
    job = _job(import_id)
    return render_template("registry/import.html", job=job, kinds=_kind_labels(), reasons=REASONS,
                           notice_text=notice_text, row_value=_row_value(job), share=_share)


@bp.route("/registry/imports/<int:import_id>/progress")
@login_required
def import_progress(import_id: int):
    job = _job(import_id)
    return render_template("registry/_import_progress.html", job=job, reasons=REASONS, notice_text=notice_text,
                           row_value=_row_value(job), progress_answer=True, share=_share)


def _share(value: float) -> str:
    """A share as a percentage in the reader's locale ("20 %", "20%")."""
    from flask_babel import format_percent

    return format_percent(value)


@bp.route("/registry/lookup")
@login_required
def lookup():
    """Everything the registries say about one IIN (enrolments) or BIN (school roll, licences, business record)."""
    require_reader(current_user)
    # Pasted as written on paper ("160510 523086", "1605-1052-3086"): the spaces and dashes are not part of it.
    number = identifier_text(request.args.get("q") or "")[:24]
    found = {}
    problem = None
    # The administrator looks organisations up (licences, business record) but does not work with children's
    # records: a child's enrolments are not looked up for that role, and a school's roll is shown masked.
    personal = sees_personal_data(current_user)
    if number:
        if has_non_ascii_digits(number):
            problem = _("Type the number with the digits 0–9 only (it contains full-width or other non-Latin digits).")
        elif not is_valid_12(number):
            problem = _("Enter a 12-digit IIN or BIN with a correct check digit.")
        else:
            found = {
                "enrolments": db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == number)
                                                 .order_by(NedbEnrollment.enrolled_on)).all() if personal else [],
                "roll": db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.school_bin == number)
                                           .order_by(NedbEnrollment.full_name).limit(200)).all(),
                "licences": db.session.scalars(select(Licence).where(Licence.bin == number)
                                               .order_by(Licence.valid_from)).all(),
                "business": db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == number)).first(),
                # NEDB's merges and the rows its complete registers took out: a child's records, as the enrolments
                "history": merge_history(number) if personal else None,
            }
    return render_template("registry/lookup.html", q=number, found=found, problem=problem, words=REGISTRY_WORDS,
                           personal=personal)


#: the registries' codes as a person reads them (business status, school kind; levels use the lifecycle's labels)
REGISTRY_WORDS = {"active": _lp("organisation", "active"), "liquidated": _l("liquidated"),
                  "private": _l("private school"), "state": _l("state school")}
