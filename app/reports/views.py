"""Discrepancies by region and rule; the operator's month-wide verification job and its progress. Thin."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.acts.adjustments import cause_title
from app.acts.models import Act
from app.engine.errors import DomainRefused
from app.extensions import db
from app.instruments import SCHOOLS, all_rules, instruments
from app.instruments import instrument as instrument_named
from app.jobs import FAILURE_REASONS
from app.people.access import scope_clause
from app.people.roles import Role, Scope
from app.registry.access import require_importer
from app.reports import reconciliation
from app.reports.models import VerificationRun
from app.reports.operations import discrepancies, months_with_acts, regions_by_id, start_month_verification
from app.reports.reconciliation import reconcile
from app.security import CSV_MIMETYPE
from app.ui import personal_text
from app.user_input import ascii_int

bp = Blueprint("reports", __name__)


def _period_arg(value: str | None) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


def _month_asked(args) -> tuple[date | None, str | None]:
    """The month a page's address asks for (``period``, or ``month`` as a person would write it) and, when it is no
    month (2026-13, abc), what to tell them: such an address had been answered as if nothing were asked."""
    for key in ("period", "month"):
        raw = (args.get(key) or "").strip()
        if raw:
            period = _period_arg(raw)
            if period is None:
                return None, _("“%(value)s” is not a valid month. Choose a month from the list, or write it as "
                               "YYYY-MM (for example %(example)s).", value=raw[:20], example="2026-10")
            return period, None
    return None, None


@bp.route("/reports")
@login_required
def reports_root():
    """The section's own address ("/reports", as the menu's pages' addresses suggest) leads to its first page a
    person may open, rather than to "no such page"."""
    if can_reconcile(current_user):
        return redirect(url_for("reports.reconciliation_page"))
    return redirect(url_for("reports.discrepancies_page"))


@bp.route("/reports/discrepancies")
@login_required
def discrepancies_page():
    months = months_with_acts()
    period, month_problem = _month_asked(request.args)
    period = period or (months[0] if months else None)
    chosen, problem = _chosen_instrument(request.args)
    for said in (month_problem, problem):
        if said:
            flash(said, "warning")
    rows = discrepancies(period, scope_clause(current_user, Act.region_id, Act.school_id), chosen) if period else []
    regions = regions_by_id()
    locale = str(get_locale())
    rule_codes = [code for code in all_rules() if any(r.rule == code for r in rows)]
    table: dict[int, dict[str, tuple[int, int]]] = {}
    for r in rows:
        table.setdefault(r.region_id, {})[r.rule] = (r.lines, r.withheld_tiyn)
    region_rows = sorted(table.items(), key=lambda kv: regions[kv[0]].name(locale) if kv[0] in regions else "")
    by_rule = {code: (sum(r.lines for r in rows if r.rule == code),
                      sum(r.withheld_tiyn for r in rows if r.rule == code)) for code in rule_codes}
    return render_template("reports/discrepancies.html", period=period, months=months, rows=region_rows,
                           regions=regions, locale=locale, rule_codes=rule_codes, rules=all_rules(), by_rule=by_rule,
                           instrument=instrument_named(chosen), instruments=instruments(),
                           total_lines=sum(r.lines for r in rows), total_withheld=sum(r.withheld_tiyn for r in rows))


@bp.route("/reports/verification")
@login_required
def runs():
    require_importer(current_user)
    chosen, problem = _month_asked(request.args)
    items = db.session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(30)).all()
    return render_template("reports/runs.html", runs=items, months=months_with_acts(), chosen=chosen,
                           problem=problem), 400 if problem else 200


@bp.route("/reports/verification", methods=["POST"])
@login_required
def start_run():
    require_importer(current_user)
    period = _period_arg(request.form.get("period"))
    if period is None:
        flash(_("Choose a month as YYYY-MM."), "danger")
        return redirect(url_for("reports.runs")), 303
    try:
        run = start_month_verification(period, current_user)
    except DomainRefused:
        db.session.rollback()
        flash(_("A verification of this month is already running."), "warning")
        return redirect(url_for("reports.runs")), 303
    db.session.commit()
    if getattr(run, "background_unreachable", False):
        from app.registry.jobs import background_unreachable_message

        flash(background_unreachable_message(), "warning")
    return redirect(url_for("reports.show_run", run_id=run.id)), 303


def _run(run_id: int) -> VerificationRun:
    require_importer(current_user)
    run = db.session.get(VerificationRun, run_id)
    if run is None:
        abort(404)
    return run


@bp.route("/reports/verification/<int:run_id>")
@login_required
def show_run(run_id: int):
    return render_template("reports/run.html", run=_run(run_id), rules=all_rules(), reasons=FAILURE_REASONS)


@bp.route("/reports/verification/<int:run_id>/progress")
@login_required
def run_progress(run_id: int):
    return render_template("reports/_run_progress.html", run=_run(run_id), rules=all_rules(), reasons=FAILURE_REASONS,
                           progress_answer=True)


# --- reconciliation: every tenge explained ------------------------------------------------------------------------

#: The operator, auditor and admin see every region; a department its own (the scope clause decides the rows).
RECONCILERS = {Role.OPERATOR.value, Role.AUDITOR.value, Role.ADMIN.value, Role.DEPARTMENT_OFFICIAL.value,
               Role.DEPARTMENT_HEAD.value}


def can_reconcile(user) -> bool:
    return bool(user.is_authenticated and user.role in RECONCILERS)


def _chosen_instrument(args) -> tuple[str, str | None]:
    """The funding instrument a report is asked for (the schools' by default), and what to say if it is unknown."""
    chosen = (args.get("instrument") or SCHOOLS).strip()
    if chosen in {i.code for i in instruments()}:
        return chosen, None
    return SCHOOLS, _("Unknown funding instrument; the state order for schools is shown.")


def reconciliation_query(user, args, figures: bool = True) -> tuple[dict, dict[str, str]]:
    """The month and region asked for, checked: problems are messages in the user's language by the argument they
    are about, never a 500; an unusable filter falls back to the latest month / all visible regions. ``figures``
    False: the filter only, not the month's figures (a drill-down reads its own lines)."""
    problems: dict[str, str] = {}
    months = months_with_acts()
    period = _period_arg(args.get("period"))
    if args.get("period") and period is None:
        problems["period"] = _("Choose a month as YYYY-MM.")
    period = period or (months[0] if months else None)
    regions = regions_by_id()
    visible = {rid: r for rid, r in regions.items() if user.scope is Scope.NATIONAL or rid == user.region_id}
    raw = (args.get("region") or "").strip()
    region_id = ascii_int(raw)  # "²" or "１" is no region, like a word (app/user_input.py)
    if region_id not in visible:
        region_id = None
        if raw:
            problems["region"] = _("Unknown region; all regions you may see are shown.")
    chosen, problem = _chosen_instrument(args)
    if problem:
        problems["instrument"] = problem
    scope = scope_clause(user, Act.region_id, Act.school_id)
    rows, total = reconcile(period, scope, region_id, chosen) if period and figures else ([], None)
    return {"period": period, "months": months, "region_id": region_id, "regions": regions, "visible": visible,
            "rows": rows, "total": total, "instrument": instrument_named(chosen),
            "instruments": instruments()}, problems


def _region_namer(regions):
    locale = str(get_locale())
    return lambda rid: regions[rid].name(locale) if rid in regions else str(rid)


@bp.route("/reports/reconciliation")
@login_required
def reconciliation_page():
    if not can_reconcile(current_user):
        abort(403)
    data, problems = reconciliation_query(current_user, request.args)
    for problem in problems.values():
        flash(problem, "warning")
    return render_template("reports/reconciliation.html", **data, region_name=_region_namer(data["regions"]),
                           rules=data["instrument"].rules)


@bp.route("/reports/reconciliation/adjusted")
@login_required
def reconciliation_adjusted():
    """The adjustment lines behind a region's "adjusted" figure of the month: who may see the reconciliation sees
    them, of the regions they may see (the same scope clause)."""
    if not can_reconcile(current_user):
        abort(403)
    data, problems = reconciliation_query(current_user, request.args, figures=False)
    if data["region_id"] is None or problems.get("period") or data["period"] is None:
        flash(problems.get("period") or problems.get("region") or _("Choose a region."), "warning")
        return redirect(url_for("reports.reconciliation_page")), 303
    lines = reconciliation.adjusted_lines(data["period"], scope_clause(current_user, Act.region_id, Act.school_id),
                                          data["region_id"], data["instrument"].code)
    return render_template("reports/reconciliation_adjusted.html", **data, lines=lines,
                           total_tiyn=sum(line.amount_tiyn for line in lines),
                           region_name=_region_namer(data["regions"]), cause_title=cause_title)


@bp.route("/reports/reconciliation.<any(csv, xlsx):fmt>")
@login_required
def reconciliation_export(fmt: str):
    return _month_file(fmt, "reconciliation", lambda data: reconciliation.table(
        data["rows"], data["total"], _region_namer(data["regions"]), data["instrument"].rules,
        schools=data["instrument"].code == SCHOOLS))


@bp.route("/reports/payments.<any(csv, xlsx):fmt>")
@login_required
def payments_export(fmt: str):
    """The payments register of the month, region and instrument the reconciliation shows."""
    return _month_file(fmt, "payments", lambda data: reconciliation.payments_table(
        data["period"], scope_clause(current_user, Act.region_id, Act.school_id), data["region_id"],
        data["instrument"].code, _region_namer(data["regions"]), written=personal_text), figures=False)


def _month_file(fmt: str, kind: str, build, figures: bool = True):
    """A download of the reconciliation's month, region and instrument: ``build(data)`` gives the header and rows.
    A filter that cannot be read, or no month yet, goes back to the page with the reason. ``figures`` False: a
    register that reads its own rows, not the month's reconciliation (at country scale its re-pricing of the month's
    lines took 20-35 s, benchmarks/README.md)."""
    if not can_reconcile(current_user):
        abort(403)
    data, problems = reconciliation_query(current_user, request.args, figures=figures)
    if problems or data["period"] is None:
        for problem in list(problems.values()) or [_("No acts yet.")]:
            flash(problem, "warning")
        return redirect(url_for("reports.reconciliation_page")), 303
    header, body = build(data)
    name = f"{kind}-{data['period']:%Y-%m}{'-' + str(data['region_id']) if data['region_id'] else ''}.{fmt}"
    if fmt == "csv":
        payload, mimetype = reconciliation.to_csv(header, body), CSV_MIMETYPE
    else:
        payload = reconciliation.to_xlsx(header, body, f"{data['period']:%Y-%m}")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(payload, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
