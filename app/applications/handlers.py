"""How the application workflow's tasks touch the application: task handlers and the eligibility operator."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import clock
from app.acts.rules import FUNDED_GRADES, level_for_grade
from app.acts.shapes import IBAN, decision_shape, whole
from app.applications import operations, registry_lookup
from app.applications.models import Application
from app.applications.rules import ELIGIBILITY_RULES
from app.engine.errors import DomainRefused
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.engine.operators import instance_subject, operator
from app.extensions import db
from app.orders.models import LEVELS
from app.people.roles import DEPARTMENT_ROLES, SCHOOL_ROLES
from app.registry.adapter import student_registry
from app.words import N_


def nedb_counts(school_bin: str) -> dict[str, int]:
    """Students registered at the school in NEDB today, by level (grades 1–11: the pre-school class and grade 12 are
    no level of the state order)."""
    today = clock.today()
    counts = {level: 0 for level in LEVELS}
    for enrolment in student_registry().enrollments_at_school(school_bin, today, today):
        if enrolment.grade in FUNDED_GRADES:
            counts[level_for_grade(enrolment.grade)] += 1
    return counts


def application_of(ctx) -> Application:
    application = (db.session.get(Application, ctx.instance.subject_id)
                   if ctx.instance.subject_type == "application" else None)
    if application is None:
        raise DomainRefused.said(N_("This task is not linked to an application."))
    return application


@task_handler("applications/submit")
class SubmitApplication(TaskHandler):
    template = "applications/_submit_panel.html"
    roles = SCHOOL_ROLES
    shape = {"type": "object", "required": ["licence_number", "locality", "design_capacity", "iban"],
             "properties": {"licence_number": {"type": "string", "minLength": 3, "maxLength": 40,
                                               "pattern": "^[A-Za-z0-9/-]+$"},
                            "locality": {"type": "string", "enum": ["urban", "rural"]},
                            **{f"students_{level}": whole(0, 10000) for level in LEVELS},
                            "design_capacity": whole(1, 20000), "iban": IBAN}}

    def prefill(self, ctx: TaskContext) -> dict:
        """What the registries already know: the school's licence, its NEDB contingent by level, capacity, IBAN."""
        app_ = application_of(ctx)
        licences = registry_lookup.licence_numbers(app_.school.bin)
        counts = nedb_counts(app_.school.bin)
        return {"licence_number": licences[0] if len(licences) == 1 else None, "locality": app_.locality,
                **{f"students_{level}": n for level, n in counts.items()},
                "design_capacity": app_.design_capacity, "iban": app_.iban}

    def context(self, ctx: TaskContext) -> dict:
        return {"application": application_of(ctx)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        app_ = application_of(ctx)
        operations.submit_application(app_, data, ctx.actor)
        return {"students_total": app_.students_total}


@task_handler("applications/allocate")
class AllocatePlaces(TaskHandler):
    template = "applications/_review_panel.html"
    roles = DEPARTMENT_ROLES
    shape = decision_shape(["allocate", "reject"], **{f"places_{level}": whole(0, 10000) for level in LEVELS})

    def prefill(self, ctx: TaskContext) -> dict:
        app_ = application_of(ctx)
        return {"decision": "allocate", **{f"places_{lv}": app_.students(lv) for lv in LEVELS}}

    def context(self, ctx: TaskContext) -> dict:
        app_ = application_of(ctx)
        return {"application": app_, "rules": ELIGIBILITY_RULES, "nedb": nedb_counts(app_.school.bin)}

    def confirm(self, ctx: TaskContext) -> dict:
        # Allocating generates the contract the director and the head then sign: it was sent on one Enter, as
        # accepting an act no longer is. Rejecting needs its reason typed, a deliberate step already.
        app_ = application_of(ctx)
        return {"question": _("Allocate the places to %(organisation)s under order %(order)s? The contract is "
                              "generated for signing; the allocation cannot be changed afterwards.",
                              organisation=app_.school.name, order=app_.order.number),
                "field": "decision", "value": "allocate"}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        app_ = application_of(ctx)
        places = {lv: int(data.get(f"places_{lv}") or 0) for lv in LEVELS}
        operations.allocate(app_, data["decision"], places, data.get("comment"), ctx.actor)
        return {"decision": data["decision"]}


@operator("applications/check_eligibility", params={"application_id": int},
          description=_l("Checks the school's application against the registries: BIN, activity code, licence, "
                         "capacity."))
def check_eligibility(ctx, application_id: int) -> dict:
    """Check the application against the registries: BIN, activity code, licence, capacity."""
    application = instance_subject(ctx, Application, "application", application_id)
    reasons = operations.check_eligibility(application)
    return {"eligible": not reasons, "reasons": reasons}


@operator("applications/expire", params={"application_id": int},
          description=_l("Ends an application the school did not submit before the application window closed."))
def expire(ctx, application_id: int) -> dict:
    """The application window closed before the school submitted its application."""
    application = instance_subject(ctx, Application, "application", application_id)
    operations.expire(application)
    return {"status": application.status}
