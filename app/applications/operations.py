"""Every state change of an application passes through here and writes its audit event."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.applications import registry_lookup
from app.applications.models import Application
from app.audit.operations import record_event
from app.contracts.labels import level_label
from app.engine.data_names import reserve_names
from app.engine.errors import DomainRefused
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import N_
from app.instruments import SCHOOLS, instrument_of
from app.orders.models import LEVELS, StateOrder
from app.orders.operations import allocated_tiyn, local_midnight
from app.people.models import Organisation
from app.people.roles import Role
from app.processes.operations import guard_record
from app.registry.cells import iban_text
from app.registry.identifiers import is_valid_bin, is_valid_kz_iban


def _chain(application: Application) -> str:
    return f"instance:{application.instance_id}" if application.instance_id else f"application:{application.id}"


def pending_application(order: StateOrder, school: Organisation | None) -> Application | None:
    """The organisation's application to the order that is still alive (a draft, submitted, eligible, allocated):
    while there is one, it cannot apply again."""
    if school is None:
        return None
    return db.session.scalars(select(Application).where(
        Application.order_id == order.id, Application.school_id == school.id,
        Application.status.not_in(("ineligible", "rejected", "expired")))).first()


def start_application(order: StateOrder, school: Organisation, actor) -> Application:
    """The funded organisation (a school, a dormitory: the order's instrument says) opens an application to the
    order; its first task is the accountant's form in the instrument's application process."""
    instrument = instrument_of(order)
    schools = instrument.code == SCHOOLS
    if school.kind != instrument.organisation_kind or school.region_id != order.region_id:
        raise DomainRefused(_("Only a school of this region can apply to this order.") if schools else
                            _("Only a dormitory of this region can apply to this order."))
    if not order.window_is_open(clock.today()):
        raise DomainRefused(_("The application window for this order is not open."))
    pending = pending_application(order, school)
    if pending is not None:
        raise DomainRefused(_("Your school already has application %(number)s to this order.", number=pending.number)
                            if schools else
                            _("Your dormitory already has application %(number)s to this order.",
                              number=pending.number))
    earlier = len(db.session.scalars(select(Application.id).where(
        Application.order_id == order.id, Application.school_id == school.id)).all())
    number = f"APP-{order.number[3:]}-{school.bin}" + (f"-{earlier + 1}" if earlier else "")
    application = Application(
        number=number, instrument=instrument.code, order_id=order.id, school_id=school.id,
        region_id=order.region_id, status="draft", design_capacity=school.design_capacity, iban=school.iban,
        created_at=clock.now(),
    )
    db.session.add(application)
    db.session.flush()
    instance = start_instance(
        instrument.application_process, title=f"{application.number} · {school.name}", actor=actor,
        region_id=order.region_id, organisation_id=school.id, subject_type="application",
        subject_id=application.id,
        data={"application_id": application.id, "order_id": order.id,
              "window_closes_at": local_midnight(order.window_closes + timedelta(days=1)).isoformat()},
    )
    application.instance_id = instance.id
    record_event(_chain(application), "application.opened", "application", application.id,
                 actor_id=getattr(actor, "id", None), details={"number": application.number})
    db.session.flush()
    return application


def submit_application(application: Application, data: dict, actor) -> None:
    if application.status != "draft":
        raise DomainRefused(_("This application has already been submitted."))
    if not application.order.window_is_open(clock.today()):
        raise DomainRefused(_("The application window for this order is closed."))
    application.licence_number = data["licence_number"].strip()
    application.locality = data["locality"]
    for level in LEVELS:
        setattr(application, f"students_{level}", data.get(f"students_{level}") or 0)
    application.design_capacity = data["design_capacity"]
    application.iban = iban_text(data["iban"])
    application.status = "submitted"
    application.submitted_at = clock.now()
    record_event(_chain(application), "application.submitted", "application", application.id,
                 actor_id=actor.id, details={"students": application.students_total,
                                             "capacity": application.design_capacity,
                                             "licence": application.licence_number})
    db.session.flush()


def expire(application: Application) -> None:
    """The window closed before the school submitted: the draft ends, and says so."""
    if application.status != "draft":
        raise DomainRefused.said(N_("Only an application the school has not submitted expires when the application "
                                    "window closes; this one is no longer a draft."))
    application.status = "expired"
    application.decided_at = clock.now()
    record_event(_chain(application), "application.expired", "application", application.id, actor_id=None,
                 details={"number": application.number})


def eligibility_reasons(application: Application) -> list[str]:
    """The rules this application fails, in a fixed order; empty means eligible."""
    reasons: list[str] = []
    school = application.school
    if not is_valid_bin(school.bin):
        reasons.append("bin_invalid")
    else:
        reasons += registry_lookup.business_register_reasons(school.bin, activity="85")
    licence = registry_lookup.licence(school.bin, application.licence_number or "")
    if licence is None:
        reasons.append("licence_missing")
    else:
        start = application.order.period_start
        if (licence.valid_until is not None and licence.valid_until < start) or (
                licence.valid_from is not None and licence.valid_from > start):
            reasons.append("licence_expired")
        claimed = {level for level in LEVELS if application.students(level) > 0}
        if not claimed <= licence.levels:
            reasons.append("licence_levels")
        application.licence_valid_until = licence.valid_until  # what was checked, not a cap on later months
    if application.students_total == 0:
        reasons.append("no_students")
    if application.design_capacity is None or application.students_total > application.design_capacity:
        reasons.append("over_capacity")
    if school.design_capacity is not None and (application.design_capacity or 0) > school.design_capacity:
        reasons.append("capacity_mismatch")
    if not is_valid_kz_iban(application.iban or ""):
        reasons.append("iban_invalid")
    return reasons


def check_eligibility(application: Application, reasons_of=eligibility_reasons) -> list[str]:
    """Run the eligibility rules (the instrument's: ``reasons_of``) and record the outcome."""
    if application.status != "submitted":
        raise DomainRefused.said(N_("Only a submitted application is checked for eligibility; this one is not "
                                    "waiting for the check."))
    reasons = reasons_of(application)
    application.reasons = reasons
    application.status = "ineligible" if reasons else "eligible"
    application.checked_at = clock.now()
    record_event(_chain(application), f"application.{application.status}", "application", application.id,
                 actor_id=None, details={"reasons": reasons})
    if reasons:  # the process ends here: the school hears it, not only by opening the application
        from app.notifications.operations import notify, recipients_for

        for role in (Role.SCHOOL_ACCOUNTANT.value, Role.SCHOOL_DIRECTOR.value, Role.DORMITORY_ACCOUNTANT.value,
                     Role.DORMITORY_DIRECTOR.value):
            for person in recipients_for(role, application.region_id, application.school_id):
                notify(person, "application_ineligible", subject=application.number, application_id=application.id)
    db.session.flush()
    return reasons


def rejected(application: Application, decision: str, comment: str | None, actor) -> bool:
    """The start of every review: only an eligible application; a rejection (with its comment) ends it here."""
    if application.status != "eligible":
        raise DomainRefused(_("Only an eligible application can be reviewed."))
    application.review_comment = comment
    application.decided_at = clock.now()
    if decision != "reject":
        return False
    application.status = "rejected"
    record_event(_chain(application), "application.rejected", "application", application.id,
                 actor_id=actor.id, details={"comment": comment or ""})
    return True


def check_budget(application: Application, annual_tiyn: int) -> None:
    """The allocation's yearly amount fits in what the order's budget has left (other applications' contracts)."""
    order = application.order
    remaining = order.budget_tiyn - allocated_tiyn(order, exclude_application_id=application.id)
    if annual_tiyn > remaining:
        from app.i18n import format_tenge

        raise DomainRefused(_("The allocation needs %(need)s but only %(left)s of the order's budget remains.",
                              need=format_tenge(annual_tiyn), left=format_tenge(remaining)))


def monthly_amount(application: Application, places: dict[str, int]) -> int:
    order = application.order
    return sum(places[level] * order.norm(level, application.locality) for level in LEVELS)


def allocate(application: Application, decision: str, places: dict[str, int], comment: str | None, actor) -> None:
    """The official allocates places per level (at most the students claimed, within the budget) or rejects."""
    if rejected(application, decision, comment, actor):
        return
    for level in LEVELS:
        if places[level] > application.students(level):
            raise DomainRefused(_("More places than students claimed: %(level)s.", level=level_label(level)))
    if sum(places.values()) == 0:
        raise DomainRefused(_("Allocate at least one place, or reject the application."))
    annual = monthly_amount(application, places) * application.order.months
    check_budget(application, annual)
    for level in LEVELS:
        setattr(application, f"places_{level}", places[level])
    application.status = "allocated"
    record_event(_chain(application), "application.allocated", "application", application.id, actor_id=actor.id,
                 details={"places": places, "annual_tiyn": annual, "comment": comment or ""})
    db.session.flush()


# An application is decided through its process (eligibility, allocation): cancelled, it waited for ever.
guard_record(Application, ("submitted", "eligible"), lambda application: _(
    "This process carries application %(number)s, which only it takes to a decision: cancelling would strand the "
    "application. Suspend the process instead.", number=application.number))


#: the subject id this module starts its process with (a form field of this name is refused)
reserve_names("application_id")
