"""How the dormitory instrument's processes touch its records: the service operators of the order, application
and contract processes, and the task handlers of the application's forms (signing is the generic
``contracts/sign``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

import app.dormitories.instrument  # noqa: F401 - registers the instrument
from app.acts.shapes import IBAN, decision_shape, whole
from app.applications import operations as applications
from app.applications.handlers import AllocatePlaces, application_of
from app.applications.models import Application
from app.contracts.models import Contract
from app.dormitories import operations, ordering
from app.dormitories.models import DormitoryBed
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.engine.operators import instance_subject, operator
from app.extensions import db
from app.orders.models import StateOrder
from app.people.roles import DEPARTMENT_ROLES, DORMITORY_ROLES


def _contract(ctx, contract_id: int) -> Contract:
    return instance_subject(ctx, Contract, "contract", contract_id)


def _application(ctx, application_id: int) -> Application:
    return instance_subject(ctx, Application, "application", application_id)


def _beds(dormitory_bin: str) -> int:
    return db.session.scalar(select(func.count()).select_from(DormitoryBed)
                             .where(DormitoryBed.dormitory_bin == dormitory_bin)) or 0


@operator("dormitories/put_in_force", params={"contract_id": int, "regions": list, "amounts": list, "region_code": str},
          description=_l("Registers a contract signed on paper as in force, at the rate from the rates table for the "
                         "dormitory's region."))
def put_in_force(ctx, contract_id: int, regions: list, amounts: list, region_code: str) -> dict:
    """A contract signed on paper is registered in force at the rate of the rates table (the last row for the
    dormitory's region, else the last row for every region)."""
    contract = _contract(ctx, contract_id)
    rate = ordering.table_rate(regions, amounts, region_code)
    operations.put_in_force(contract, rate)
    return {"place_rate_tiyn": rate, "status": contract.status}


@operator("dormitories/set_terms", params={"contract_id": int, "regions": list, "amounts": list, "region_code": str},
          description=_l("Before the signatures: sets the contract's rate per place (the order's, else the rates "
                         "table's) and its caps."))
def set_terms(ctx, contract_id: int, regions: list, amounts: list, region_code: str) -> dict:
    """Before the signatures: the rate (the order's, else the table's) and the caps."""
    contract = _contract(ctx, contract_id)
    rate = ordering.set_contract_terms(contract, ordering.table_rate(regions, amounts, region_code))
    return {"place_rate_tiyn": rate, "monthly_cap_tiyn": contract.monthly_cap_tiyn}


@operator("dormitories/open_order", params={"order_id": int, "regions": list, "amounts": list, "region_code": str},
          description=_l("Records the rate per place from the rates table on the order and opens its application "
                         "window."))
def open_order(ctx, order_id: int, regions: list, amounts: list, region_code: str) -> dict:
    """Record the rate per place from the rates table on the order and open its application window."""
    order = instance_subject(ctx, StateOrder, "state_order", order_id)
    rate = ordering.table_rate(regions, amounts, region_code)
    ordering.open_dormitory_order(order, rate)
    return {"status": order.status, "place_rate_tiyn": rate}


@operator("dormitories/check_eligibility", params={"application_id": int},
          description=_l("Checks the dormitory's application: BIN, commissioning and ownership documents, beds, IBAN."))
def check_eligibility(ctx, application_id: int) -> dict:
    """Check the dormitory's application: BIN, commissioning and ownership documents, beds, IBAN."""
    application = _application(ctx, application_id)
    reasons = applications.check_eligibility(application, ordering.dormitory_eligibility_reasons)
    return {"eligible": not reasons, "reasons": reasons}


@operator("dormitories/generate_contract", params={"application_id": int},
          description=_l("Generates the dormitory's contract from the allocated places and starts its signing."))
def generate_contract(ctx, application_id: int) -> dict:
    """Generate the contract from the allocation and start its signing process."""
    contract = ordering.generate_dormitory_contract(_application(ctx, application_id), ctx.actor)
    return {"contract_id": contract.id, "number": contract.number}


@task_handler("dormitories/submit_application")
class SubmitDormitoryApplication(TaskHandler):
    template = "dormitories/_submit_application_panel.html"
    roles = DORMITORY_ROLES
    shape = {"type": "object", "required": ["places_requested", "iban"],
             "properties": {"places_requested": whole(1, 20000), "iban": IBAN}}

    def prefill(self, ctx: TaskContext) -> dict:
        """What the registries already know: the beds registered (at most the order's places) and the IBAN."""
        app_ = application_of(ctx)
        offered = min(_beds(app_.school.bin), app_.order.dormitory_terms.places)
        return {"places_requested": offered or None, "iban": app_.iban}

    def context(self, ctx: TaskContext) -> dict:
        app_ = application_of(ctx)
        return {"application": app_, "beds": _beds(app_.school.bin)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        app_ = application_of(ctx)
        ordering.submit_dormitory_application(app_, data, ctx.actor)
        return {"places_requested": app_.dormitory_terms.places_requested}


@task_handler("dormitories/allocate")
class AllocateDormitoryPlaces(TaskHandler):
    template = "dormitories/_review_application_panel.html"
    roles = DEPARTMENT_ROLES
    shape = decision_shape(["allocate", "reject"], places_allocated=whole(0, 20000))

    def prefill(self, ctx: TaskContext) -> dict:
        app_ = application_of(ctx)
        left = app_.order.dormitory_terms.places - ordering.places_allocated(app_.order, app_.id)
        return {"decision": "allocate", "places_allocated": max(0, min(app_.dormitory_terms.places_requested, left))}

    def context(self, ctx: TaskContext) -> dict:
        app_ = application_of(ctx)
        order_places = app_.order.dormitory_terms.places
        return {"application": app_, "beds": _beds(app_.school.bin), "order_places": order_places,
                "places_left": order_places - ordering.places_allocated(app_.order, app_.id)}

    # Allocating generates the contract to sign, as a school's allocation does: the same question first.
    confirm = AllocatePlaces.confirm

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        app_ = application_of(ctx)
        ordering.allocate_dormitory_places(app_, data["decision"], int(data.get("places_allocated") or 0),
                                           data.get("comment"), ctx.actor)
        return {"decision": data["decision"]}
