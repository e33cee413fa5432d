"""The dormitory-places order as a funding instrument (app.instruments): its line schema (institution, room/bed,
move-in/move-out dates on ``dorm_place_line``), its rule set and the pass that runs it, its monthly-act process."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select

from app.acts.models import Act, ActLine
from app.acts.shapes import BIN, DATE, FULL_NAME, IIN, whole
from app.acts.verification import month_bounds
from app.contracts.models import ContractAct
from app.dormitories.adjustments import unsettled_dormitory_corrections, unsettled_dormitory_corrections_in_month
from app.dormitories.models import DormitoryTerms, DormPlaceLine
from app.dormitories.operations import settle_dormitory_acts
from app.dormitories.ordering import CONTRACT_PROCESS, DORM_ELIGIBILITY_RULES, ORDER_PROCESS
from app.dormitories.public import ocds_items
from app.dormitories.rules import DORM_RULES
from app.dormitories.verification import DORMITORY, occupied_days, verify_dormitory_acts
from app.engine.errors import LineRefused
from app.extensions import db
from app.instruments import Instrument, register_instrument
from app.registry.identifiers import iin_birth_date

#: the longest a resident can have held a place: the seven courses of the longest programme, and a year's margin
MAX_RESIDENCE_YEARS = 8


def _day(value) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def place_values(act: Act, line: dict) -> dict:
    """The generic line's level (the course) and claimed days (days the place is occupied this month)."""
    start, end = month_bounds(act.period)
    moved_in, moved_out = _day(line["moved_in"]), _day(line.get("moved_out"))
    if moved_out is not None and moved_out < moved_in:
        raise LineRefused(_("Student %(iin)s: the move-out date is before the move-in date.", iin=line["iin"]),
                          "moved_out")
    # A move-in on 1 January 1900 was accepted and the place paid for the whole month: a date no one can have
    # moved in on is a typo, refused with the reason, before any day is counted.
    from app.i18n import format_day, format_month  # the dates as the page writes them: they read 1900-01-01, 2026-11

    born = iin_birth_date(str(line["iin"]))
    if born is not None and moved_in < born:
        raise LineRefused(_("Student %(iin)s: the move-in date %(date)s is before the birth date the IIN carries "
                            "(%(born)s).", iin=line["iin"], date=format_day(moved_in), born=format_day(born)),
                          "moved_in")
    if moved_in < start.replace(year=start.year - MAX_RESIDENCE_YEARS):
        raise LineRefused(_("Student %(iin)s: the move-in date %(date)s is more than %(years)s years before "
                            "%(month)s; check the year.", iin=line["iin"], date=format_day(moved_in),
                            years=MAX_RESIDENCE_YEARS, month=format_month(act.period)), "moved_in")
    first, last = occupied_days(moved_in, moved_out, start, end)
    if last < first:
        # Which date leaves no day: a move-in after the month, else the move-out (on or before the month's first
        # day, or on the move-in day) — the field marked is the one to correct, with the month as people name it.
        cause = "moved_in" if moved_in > end or moved_out is None else "moved_out"
        raise LineRefused(_("%(name)s (IIN %(iin)s): with these move-in and move-out dates the student held no day "
                            "of %(month)s. Correct the dates or remove the row.", name=line["full_name"],
                            iin=line["iin"], month=format_month(act.period)), cause)
    return {"grade": int(line["course"]), "days_attended": (last - first).days + 1}


def store_places(act: Act, lines: list[dict]) -> None:
    ids = db.session.scalars(select(ActLine.id).where(ActLine.act_id == act.id).order_by(ActLine.line_no)).all()
    db.session.execute(insert(DormPlaceLine), [
        {"line_id": line_id, "institution_bin": ln["institution_bin"], "room": str(ln["room"]), "bed": str(ln["bed"]),
         "moved_in": _day(ln["moved_in"]), "moved_out": _day(ln.get("moved_out"))}
        for line_id, ln in zip(ids, lines, strict=True)])


def _form_lines(act_id: int, still_from: date | None = None) -> list[dict]:
    rows = db.session.execute(
        select(ActLine, DormPlaceLine).join(DormPlaceLine, DormPlaceLine.line_id == ActLine.id)
        .where(ActLine.act_id == act_id).order_by(ActLine.line_no))
    return [{"iin": ln.iin, "full_name": ln.full_name, "institution_bin": p.institution_bin, "course": ln.grade,
             "room": p.room, "bed": p.bed, "moved_in": p.moved_in.isoformat(),
             **({"moved_out": p.moved_out.isoformat()} if p.moved_out else {})}
            for ln, p in rows if still_from is None or p.moved_out is None or p.moved_out > still_from]


def prefill_places(act: Act) -> list[dict]:
    """Last submitted lines when correcting; otherwise last month's residents who have not moved out."""
    if act.lines:
        return _form_lines(act.id)
    start, _end = month_bounds(act.period)
    previous = db.session.scalars(select(Act.id).where(Act.school_id == act.school_id, Act.period < act.period)
                                  .order_by(Act.period.desc()).limit(1)).first()
    return _form_lines(previous, still_from=start) if previous else []


def withheld_expr(period: date):
    """What a line would earn in full: its contract's rate per place × days claimed / days in the month."""
    _start, end = month_bounds(period)
    rate = (select(DormitoryTerms.place_rate_tiyn)
            .join(ContractAct, ContractAct.contract_id == DormitoryTerms.contract_id)
            .where(ContractAct.act_id == ActLine.act_id).correlate(ActLine).scalar_subquery())
    # Rounded down line by line, as verification withholds it (app.dormitories.rule_sql): "/" is true division in
    # SQLAlchemy 2 — the month summed the exact fractions (SQLite in floating point) and was a tiyn or more above
    # what the act's lines withhold.
    return ActLine.days_attended * func.coalesce(rate, 0) // end.day


def contracted_places(contract, _period) -> int:
    terms = db.session.scalars(select(DormitoryTerms).where(DormitoryTerms.contract_id == contract.id)).first()
    return terms.places if terms is not None else 0


#: a dormitory's act line: the resident, their institution and course, the room and bed, the move-in and move-out dates
PLACE_LINE = {"type": "object",
              "required": ["iin", "full_name", "institution_bin", "course", "room", "bed", "moved_in"],
              "properties": {"iin": IIN, "full_name": FULL_NAME, "institution_bin": BIN, "course": whole(1, 7),
                             "room": {"type": "string", "minLength": 1, "maxLength": 16},
                             "bed": {"type": "string", "minLength": 1, "maxLength": 16},
                             "moved_in": DATE, "moved_out": DATE}}


DORMITORY_INSTRUMENT = register_instrument(Instrument(
    code=DORMITORY, title=_l("State order for student dormitory places"), organisation_kind="dormitory",
    monthly_process="dorm_monthly_act", rules=DORM_RULES, verify=verify_dormitory_acts, prefill=prefill_places,
    line_values=place_values, line_shape=PLACE_LINE, store_lines=store_places, withheld_expr=withheld_expr,
    settle=settle_dormitory_acts, unsettled=unsettled_dormitory_corrections,
    unsettled_in_month=unsettled_dormitory_corrections_in_month,
    organisation_label=_l("Dormitory"), level_label=_l("Course"), accountant_role="dormitory_accountant",
    organisations_label=_l("Dormitories"), organisations_funded_label=_l("Dormitories funded"),
    funded_label=_l("Places funded"), funded_months_label=_l("Place-months funded"), funded_unit="place-month",
    director_role="dormitory_director", application_process="dorm_application",
    contract_body="contracts/_document_body_dormitory.html", eligibility_rules=DORM_ELIGIBILITY_RULES,
    year_end_process="dorm_year_end", order_process=ORDER_PROCESS, contract_process=CONTRACT_PROCESS,
    contracted_places=contracted_places,
    ocds_title="State order for student dormitory places", ocds_call="Call for applications from dormitories",
    ocds_items=ocds_items,
    submit_hint=_l("The list is prefilled with last month's residents who have not moved out. Add students who "
                   "moved in, enter move-out dates, then submit; each line is checked against the student registry "
                   "and the dormitory's beds and documents."),
))
