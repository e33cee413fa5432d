"""Every state change of a state order passes through here and writes its audit event."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.acts.models import StudentNorm
from app.audit.operations import record_event
from app.engine.data_names import provide_names, reserve_names
from app.engine.errors import DomainRefused
from app.engine.operators import ServiceValue
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import N_, format_day
from app.instruments import SCHOOLS
from app.orders.models import LEVELS, LOCALITIES, OrderNorm, StateOrder
from app.people.models import Region
from app.processes.operations import guard_record

STATE_ORDER_PROCESS = "state_order"
#: Deadlines are local to Kazakhstan (UTC+5): "after 31 May" means from 1 June 00:00 in Astana.
KZ = clock.KZ


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=KZ)


def parse_academic_year(value: str) -> tuple[date, date]:
    """'2026/2027' → (2026-09-01, 2027-05-31): nine months of study, September to May. In ASCII digits: ``\\d`` took
    "٢٠٢٧/٢٠٢٨", and an order was placed for that text — a second order for 2027/2028 in the region, which the check
    for an order already placed compares as text."""
    match = re.fullmatch(r"([0-9]{4})/([0-9]{4})", value or "")
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise DomainRefused(_("The academic year must look like 2026/2027."))
    start = int(match.group(1))
    return date(start, 9, 1), date(start + 1, 5, 31)


def _chain(order: StateOrder) -> str:
    return f"instance:{order.instance_id}" if order.instance_id else f"order:{order.id}"


def check_budget_and_window(budget_tiyn: int, window_opens: date, window_closes: date) -> None:
    """What every instrument's order needs: a positive budget and an application window not already closed."""
    if budget_tiyn <= 0:
        raise DomainRefused(_("The budget must be a positive amount."))
    if window_closes < window_opens:
        raise DomainRefused(_("The application window must close after it opens."))
    if window_closes < clock.today():
        raise DomainRefused(_("The application window would already be closed."))


def place_order(region: Region, academic_year: str, budget_tiyn: int, window_opens: date, window_closes: date,
                actor) -> StateOrder:
    """Place the order and start its process; the norms come from the decision table in the process."""
    period_start, period_end = parse_academic_year(academic_year)
    check_budget_and_window(budget_tiyn, window_opens, window_closes)
    if period_end < clock.today():  # an order for 2020/2021 was placed, and a school applied to it
        raise DomainRefused(_("The academic year %(year)s has ended: place the order for this year or a later one.",
                              year=academic_year))
    if window_closes > period_end:
        raise DomainRefused(_("The application window must close before the academic year ends (%(end)s).",
                              end=format_day(period_end)))
    exists = db.session.scalars(select(StateOrder).where(StateOrder.region_id == region.id,
                                                         StateOrder.instrument == SCHOOLS,
                                                         StateOrder.academic_year == academic_year)).first()
    if exists is not None:
        raise DomainRefused(_("A state order for %(year)s has already been placed in this region.",
                              year=academic_year))
    order = StateOrder(
        number=f"SO-{region.code}-{period_start.year}", region_id=region.id, academic_year=academic_year,
        budget_tiyn=budget_tiyn, period_start=period_start, period_end=period_end, window_opens=window_opens,
        window_closes=window_closes, status="placed", placed_by_id=getattr(actor, "id", None),
        placed_at=clock.now(),
    )
    db.session.add(order)
    db.session.flush()
    instance = start_instance(
        STATE_ORDER_PROCESS, title=f"{order.number} · {academic_year}", actor=actor, region_id=region.id,
        subject_type="state_order", subject_id=order.id,
        data={"order_id": order.id, "academic_year": academic_year,
              "window_closes_at": local_midnight(window_closes + timedelta(days=1)).isoformat()},
    )
    order.instance_id = instance.id
    record_event(_chain(order), "order.placed", "state_order", order.id, actor_id=getattr(actor, "id", None),
                 details={"number": order.number, "academic_year": academic_year, "budget_tiyn": budget_tiyn,
                          "window": f"{window_opens.isoformat()}..{window_closes.isoformat()}"})
    db.session.flush()
    return order


def open_order(order: StateOrder, norms: list[tuple[str, str, int]]) -> None:
    """Record the norms the decision table gave (later rows win) and open the application window."""
    table: dict[tuple[str, str], int] = {}
    for level, locality, monthly in norms:
        if level not in LEVELS or locality not in LOCALITIES or not isinstance(monthly, int) or monthly <= 0:
            raise ServiceValue(N_("The norms table gave an unusable row: level %(level)s, locality %(locality)s, "
                                  "monthly norm %(norm)s (a level is primary, basic or secondary; a locality urban "
                                  "or rural; a norm a whole number of tiyn above zero). Correct the table's row, then "
                                  "retry the step."), level=str(level), locality=str(locality), norm=str(monthly))
        table[(level, locality)] = monthly
    missing = [f"{lv}/{lc}" for lv in LEVELS for lc in LOCALITIES if (lv, lc) not in table]
    if missing:
        raise ServiceValue(N_("The norms table has no norm for %(missing)s: add the rows, then retry the step."),
                           missing=", ".join(missing))
    order.norms = [OrderNorm(level=lv, locality=lc, monthly_tiyn=v) for (lv, lc), v in sorted(table.items())]
    order.status = "open"
    # Acts are priced per academic year (StudentNorm); the urban norm is the default when none is set.
    for level in LEVELS:
        existing = db.session.scalars(select(StudentNorm).where(StudentNorm.academic_year == order.academic_year,
                                                                StudentNorm.level == level)).first()
        if existing is None:
            db.session.add(StudentNorm(academic_year=order.academic_year, level=level,
                                       monthly_tiyn=table[(level, "urban")]))
    record_event(_chain(order), "order.opened", "state_order", order.id, actor_id=None,
                 details={"norms": {f"{lv}/{lc}": v for (lv, lc), v in sorted(table.items())}})
    db.session.flush()


def close_window(order: StateOrder) -> None:
    order.status = "closed"
    record_event(_chain(order), "order.window_closed", "state_order", order.id, actor_id=None,
                 details={"number": order.number})


def allocated_tiyn(order: StateOrder, exclude_application_id: int | None = None) -> int:
    """Budget already committed to contracts under this order (annual caps)."""
    from app.contracts.models import Contract

    query = select(Contract.amount_cap_tiyn).where(Contract.order_id == order.id)
    if exclude_application_id is not None:
        query = query.where(Contract.application_id != exclude_application_id)
    return sum(db.session.scalars(query))


# An open order's window is closed by its process: cancelled, the order stayed open for applications for good.
guard_record(StateOrder, ("placed", "open"), lambda order: _(
    "This process carries state order %(number)s, which only it closes: cancelling would leave the order open for "
    "applications. Suspend the process instead.", number=order.number))


# The state order process is started with these (app.engine.data_names: its decision table reads academic_year).
provide_names("order_id", "academic_year", "window_closes_at")


#: the subject id this module starts its process with (a form field of this name is refused)
reserve_names("order_id")
