"""The schools' state educational order as a funding instrument (app.instruments): NEDB, the contingent rules,
the set-based verification in :mod:`app.acts.verification` and adjustments of decided months."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.acts.adjustments import settle_adjustments, unsettled_corrections, unsettled_in_month
from app.acts.operations import register_acceptance_check
from app.acts.report import norm_expr
from app.acts.rules import FUNDED_GRADES, RULES
from app.acts.shapes import SCHOOL_LINE
from app.acts.verification import (
    academic_year,
    grades_moved_on_from,
    month_bounds,
    registry_year_start,
    verify_acts,
)
from app.applications.rules import ELIGIBILITY_RULES
from app.engine.errors import DomainRefused, LineRefused
from app.instruments import SCHOOLS, Instrument, register_instrument
from app.registry.adapter import student_registry


def prefill_school_lines(act) -> list[dict]:
    """Last submitted lines when correcting; otherwise the school's contingent registered in NEDB: a line per pupil and
    grade of the act's month, with the weekdays of the month NEDB has the pupil here in that grade as days attended.

    The grade of the act's month, not NEDB's today: NEDB keeps one grade per enrolment and moves it on every summer
    (:func:`app.acts.verification.registry_year_start`), so an act of an earlier academic year opened late (May's in
    October) was prefilled with the grade the pupil is in now — a fourth-grader of May claimed, and paid, since NEDB's
    grade is accepted for an earlier year, at grade 5's basic norm. A row is taken one grade down for each move up it
    was running through since the act's year (:func:`prefilled_grade`). In the summer NEDB may already show the coming
    year's grade or not (schools move their pupils one after another): the prefill shows NEDB's as it is — the school
    corrects what it knows.

    Once per pupil and grade: a pupil with two rows here in the month (re-enrolled; an enrolment date NEDB corrected,
    whose corrected row arrives beside the earlier one — app.registry.earlier_rows) was prefilled twice, the second
    line a ``duplicate_line``. Days attended: the weekdays the rows run — every pupil was given all the month's
    weekdays, and one enrolled on the 20th claimed more days than NEDB has (a ``days`` review an official had to
    clear). At least 1: a line claims a day (a pupil enrolled on a Saturday only is still listed)."""
    if act.lines:
        return [{"iin": ln.iin, "full_name": ln.full_name, "grade": ln.grade,
                 "days_attended": ln.days_attended} for ln in act.lines]
    start, end = month_bounds(act.period)
    lines: dict[tuple[str, int], dict] = {}
    weekdays: dict[tuple[str, int], set[date]] = {}
    for e in student_registry().enrollments_at_school(act.school.bin, start, end):
        grade = prefilled_grade(e, act.period)
        # The pre-school class (0) and grade 12 are in NEDB but not funded: prefilled, they were lines the act's form
        # refused (grade 1–11), one error per child for the school to clear by hand.
        if grade not in FUNDED_GRADES:
            continue
        key = (e.iin, grade)
        if key not in lines or e.enrolled_on >= lines[key]["_on"]:
            lines[key] = {"iin": e.iin, "full_name": e.full_name, "grade": grade, "_on": e.enrolled_on}
        last = end if e.withdrawn_on is None else min(end, e.withdrawn_on - timedelta(days=1))
        first = max(start, e.enrolled_on)
        weekdays.setdefault(key, set()).update(
            first + timedelta(days=n) for n in range((last - first).days + 1)
            if (first + timedelta(days=n)).weekday() < 5)
    return [{"iin": line["iin"], "full_name": line["full_name"], "grade": line["grade"],
             "days_attended": max(len(weekdays[key]), 1)} for key, line in lines.items()]


def prefilled_grade(e, period: date) -> int:
    """The grade NEDB's row ``e`` had in the month ``period``, as far as the calendar tells: NEDB's grade, one down for
    each move up since the month's academic year that the row was running through (:func:`grades_moved_on_from` of
    each academic year begun since, up to NEDB's own, :func:`registry_year_start`). A row that ended before a move up
    kept its grade then. A pupil who repeated a year is prefilled a grade too low: verification accepts either (its
    ``_in_grade_sql``), and the school corrects it."""
    first = int(academic_year(period)[:4])
    moves = sum(1 for year in range(first + 1, registry_year_start().year + 1)
                if e.withdrawn_on is None or e.withdrawn_on > grades_moved_on_from(year))
    return e.grade - moves


def school_line_values(act, line: dict) -> dict:
    """A line's grade and days attended, the days within the act's month: 1 to the month's last day.

    This is the one place the days are judged — on Submit (form and API) and for each line a file fills the table
    with (``SubmitAct.check_line``). The form's schema and the shape (app.acts.shapes) say "integer, 1–31", but
    ``SubmitAct.domain_bounds`` sets their bounds aside for this field: forms are the process owner's content,
    published in the database, and a version published with "minimum 0, maximum 31" answered −5 with "Must be at
    least 0", 0 with this rule and 31 in November with "at most 31" — three answers for one field. Here every value
    out of the month gets a sentence naming the student and the month.

    0 days is refused, not reviewed: payment follows the days NEDB has the student at the school and never reads
    days attended (app.acts.verification), so a line claiming no day was paid in full with nothing for the official
    to see — and a student who attended no day of the month had no service to pay for. The school removes the line
    (an act lists the students taught that month); a review item would ask the official to second-guess the school's
    own statement, which NEDB cannot contradict."""
    from app.i18n import format_month

    _start, end = month_bounds(act.period)
    days = int(line["days_attended"])
    who = f"{line['full_name']} ({line['iin']})"
    if days < 0:
        raise LineRefused(_("%(student)s: days attended is a number from 1 to %(num)s, the days of %(month)s.",
                            student=who, num=end.day, month=format_month(act.period)), "days_attended")
    if days == 0:
        raise LineRefused(_("%(student)s: a student who attended no day of %(month)s is not listed in the act; "
                            "remove the line.", student=who, month=format_month(act.period)), "days_attended")
    if days > end.day:
        raise LineRefused(ngettext("%(student)s: %(month)s has %(num)s day; days attended cannot be more.",
                                   "%(student)s: %(month)s has %(num)s days; days attended cannot be more.",
                                   end.day, student=who, month=format_month(act.period)), "days_attended")
    return {"grade": line["grade"], "days_attended": days}


def withheld_at_the_acts_norms(period):
    """What a line would earn in full, at the norms its act is priced at (the reconciliation's and the reports'
    withheld by rule, and the claim of a line pending verification): under a contract, its order's norm for the
    contract's locality (0 for a level the order prices not, as verification has it:
    :func:`app.acts.verification.school_contexts`); otherwise the academic year's norm table. Valued at the table
    alone, a rural contract's excluded line was not what its act withheld — the difference sat in "withheld: days,
    cap, contract norms", negative where the contract pays less than the table."""
    from sqlalchemy import and_, case, exists, func, select

    from app.acts.models import ActLine
    from app.contracts.models import Contract, ContractAct
    from app.orders.models import OrderNorm

    level = case((ActLine.grade <= 4, "primary"), (ActLine.grade <= 9, "basic"), else_="secondary")
    under_contract = exists(select(ContractAct.id).where(ContractAct.act_id == ActLine.act_id).correlate(ActLine))
    contract_norm = (select(OrderNorm.monthly_tiyn)
                     .join(Contract, and_(Contract.order_id == OrderNorm.order_id,
                                          Contract.locality == OrderNorm.locality))
                     .join(ContractAct, ContractAct.contract_id == Contract.id)
                     .where(ContractAct.act_id == ActLine.act_id, OrderNorm.level == level)
                     .correlate(ActLine).scalar_subquery())
    return case((under_contract, func.coalesce(contract_norm, 0)), else_=norm_expr(period))


def contracted_pupils(contract, period) -> int:
    """Places per level in force that month (an amendment changes them from its month on)."""
    from app.contracts.amendments import terms_on

    terms = terms_on(contract, period)
    return sum(int(terms[f"places_{level}"]) for level in ("primary", "basic", "secondary"))


SCHOOLS_INSTRUMENT = register_instrument(Instrument(
    code=SCHOOLS, title=_l("State educational order for private schools"), organisation_kind="school",
    monthly_process="monthly_act", rules=RULES,
    verify=lambda acts, on_step=None: verify_acts(acts, on_step=on_step),
    prefill=prefill_school_lines, line_values=school_line_values, line_shape=SCHOOL_LINE, settle=settle_adjustments,
    unsettled=unsettled_corrections, unsettled_in_month=unsettled_in_month, withheld_expr=withheld_at_the_acts_norms,
    organisation_label=_l("School"), level_label=_l("Grade"), eligibility_rules=ELIGIBILITY_RULES,
    organisations_label=_l("Schools"), organisations_funded_label=_l("Schools funded"),
    funded_label=_l("Children funded"), funded_months_label=_l("Child-months funded"), funded_unit="child-month",
    contracted_places=contracted_pupils,
    submit_hint=_l("The list is prefilled from the school's contingent registered in NEDB for this month. Check days "
                   "attended, add or remove students, then submit."),
))


@register_acceptance_check
def priced_at_the_norms(act) -> None:
    """An act of the schools' order is accepted only at a norm: a month of an academic year whose per-student norms
    nobody has set yet (no state order of that year placed) priced every line at 0 ₸ outside a contract — accepted
    and paid 0 ₸, the month closed for good, and nobody told why. The act waits, verified, until the year's norms
    are set and the month is verified again. One statement: an accepted line that earns nothing for want of its
    level's norm (a contract's lines are priced at the contract's own norms, never 0)."""
    from sqlalchemy import case, exists, select

    from app.acts.models import ActLine, StudentNorm
    from app.acts.verification import academic_year
    from app.extensions import db

    if (act.instrument or SCHOOLS) != SCHOOLS:
        return
    year = academic_year(act.period)
    level = case((ActLine.grade <= 4, "primary"), (ActLine.grade <= 9, "basic"), else_="secondary")
    unpriced = db.session.scalar(
        select(ActLine.id).where(ActLine.act_id == act.id, ActLine.outcome == "accepted", ActLine.amount_tiyn == 0,
                                 ~exists().where(StudentNorm.academic_year == year, StudentNorm.level == level))
        .limit(1))
    if unpriced is not None:
        raise DomainRefused(_("No per-student norms are set for the academic year %(year)s, so the act's lines were "
                              "priced at 0 ₸. Accept it once the year's norms are set (by the year's state order) "
                              "and the month has been verified again.", year=year))
