"""Analytics pages: red flags with drill-down, process analytics with the heat overlay, the pilot's figures."""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy import select

from app.acts.models import Act
from app.analytics import flags as red_flags
from app.analytics import process
from app.engine.models import HumanTask, ProcessInstance, ProcessModelVersion
from app.extensions import db
from app.people.access import require_visible, scope_clause
from app.people.models import Organisation, Region
from app.people.roles import Role
from app.user_input import ACADEMIC_YEAR, not_an_academic_year

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

#: the ministry (auditor), the operator, process owners, administrators — and departments for their region
ROLES = {Role.OPERATOR.value, Role.AUDITOR.value, Role.PROCESS_OWNER.value, Role.ADMIN.value,
         Role.DEPARTMENT_OFFICIAL.value, Role.DEPARTMENT_HEAD.value}


@bp.before_request
@login_required
def _only_analysts():
    if current_user.role not in ROLES:
        abort(404)


def _years() -> list[str]:
    from app.acts.verification import academic_year

    periods = db.session.scalars(select(Act.period).where(scope_clause(current_user, Act.region_id, Act.school_id))
                                 .group_by(Act.period))
    return sorted({academic_year(p) for p in periods}, reverse=True)


def _year_asked(years: list[str]) -> str | None:
    """The academic year the address asks for, else the latest. A value that is no academic year at all ("abc") is
    ignored with a warning saying so, as the reports do with a malformed month (it had answered 404 "no such page");
    a year written as one (1999/2000) stays the caller's to judge."""
    latest = years[0] if years else None
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return latest
    if not ACADEMIC_YEAR.fullmatch(raw):
        flash(not_an_academic_year(raw), "warning")
        return latest
    return raw


@bp.route("/")
def index():
    years = _years()
    year = _year_asked(years)
    if year is not None and year not in years:
        abort(404)
    schools = red_flags.school_flags(year, scope_clause(current_user, Act.region_id, Act.school_id)) if year else []
    return render_template("analytics/index.html", year=year, years=years, schools=schools,
                           regions=red_flags.region_flags(schools), region_rows=_regions(), flag_titles=red_flags.FLAGS,
                           pilot=process.pilot_figures(scope_clause(current_user, Act.region_id, Act.school_id)),
                           sla=process.acceptance_sla(scope_clause(current_user, HumanTask.region_id,
                                                                   HumanTask.organisation_id)),
                           locale=str(get_locale()))


@bp.route("/schools/<int:school_id>")
def school(school_id: int):
    org = db.session.get(Organisation, school_id) if school_id < 2**31 else None
    if org is None or org.kind not in ("school", "dormitory"):  # both are paid by acts and raise the same flags
        abort(404)
    require_visible(current_user, org.region_id, org.id)
    acts = db.session.scalars(select(Act).where(Act.school_id == org.id).order_by(Act.period.desc())).all()
    years = sorted({a for a in _years()}, reverse=True)
    year = _year_asked(years)
    flagged = next((s for s in red_flags.school_flags(year, Act.school_id == org.id)), None) if year else None
    return render_template("analytics/school.html", school=org, acts=acts, flagged=flagged,
                           flag_titles=red_flags.FLAGS, year=year, returns_of=red_flags.returns_of)


@bp.route("/processes")
def processes():
    return render_template("analytics/processes.html", versions=process.versions())


@bp.route("/processes/<int:version_id>")
def process_version(version_id: int):
    version = db.session.get(ProcessModelVersion, version_id) if version_id < 2**31 else None
    if version is None or version.status != "published":
        abort(404)
    scope = scope_clause(current_user, ProcessInstance.region_id, ProcessInstance.organisation_id)
    times = process.element_times(version.id, scope)
    slowest = max((t.p95_hours for t in times), default=0.0)
    return render_template("analytics/process.html", version=version, times=times, slowest=slowest,
                           heat={t.element: round(t.p95_hours / slowest, 3) if slowest else 0 for t in times},
                           waiting={t.element: t.waiting_now for t in times if t.waiting_now},
                           timers=process.timers_waiting(version.id, scope),
                           throughput=process.throughput(version.id, scope))


@bp.route("/processes/<int:version_id>/diagram.bpmn")
def process_diagram(version_id: int):
    """The published diagram to download, its stored file name made header-safe by the one helper every model
    download uses (a name stored before the import checked names held a line break or a quote)."""
    from app.security import model_file_download
    from app.words import diagram_in_language

    version = db.session.get(ProcessModelVersion, version_id) if version_id < 2**31 else None
    if version is None or version.status != "published":
        abort(404)
    return model_file_download(diagram_in_language(version.files[version.bpmn_filename]), version.bpmn_filename,
                               "application/octet-stream")


def _regions() -> dict[int, Region]:
    return {r.id: r for r in db.session.scalars(select(Region))}
