"""Labels in the user's language for the lifecycle's status codes, levels and audit actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

STATUS = {
    # orders
    "placed": _l("placed"), "open": _l("open for applications"), "closed": _l("closed"),
    # applications
    "draft": _l("draft"), "submitted": _lp("application", "submitted"), "eligible": _l("eligible, awaiting review"),
    "ineligible": _l("ineligible"), "allocated": _l("places allocated"), "rejected": _l("rejected"),
    "expired": _l("not submitted before the window closed"),
    # contracts
    "awaiting_director": _l("awaiting the school director's signature"),
    "awaiting_dormitory_director": _l("awaiting the dormitory director's signature"),
    "awaiting_head": _l("awaiting the department head's signature"), "active": _lp("contract", "active"),
    # year-end report
    "awaiting": _l("awaiting submission"), "returned": _l("returned for correction"), "approved": _l("approved"),
    # signers, localities
    "school_director": _l("School director"), "dormitory_director": _l("Dormitory director"),
    "department_head": _l("Department head"),
    "urban": _l("urban"), "rural": _l("rural"),
}
LEVELS = {"primary": _l("Primary (grades 1–4)"), "basic": _l("Basic (grades 5–9)"),
          "secondary": _l("General secondary (grades 10–11)")}
TASK_TITLES = {
    "submit_application": _l("Submit application"),
    "review_application": _l("Review and allocate places"),
    "sign_director": _l("Sign contract (school director)"),
    "sign_dorm_director": _l("Sign contract (dormitory director)"),
    "sign_head": _l("Sign contract (department head)"),
    "submit_report": _l("Submit year-end report"),
    "approve_report": _l("Approve year-end report"),
}
AUDIT_ACTIONS = {
    "order.placed": _l("State order placed"), "order.opened": _l("Application window opened"),
    "order.window_closed": _l("Application window closed"),
    "application.opened": _l("Application started"), "application.submitted": _l("Application submitted"),
    "application.eligible": _l("Eligibility check passed"), "application.ineligible": _l("Application ineligible"),
    "application.allocated": _l("Places allocated"),
    "application.expired": _l("Application expired: not submitted in time"),
    "application.rejected": _l("Application rejected"),
    "contract.generated": _l("Contract generated"), "contract.signed": _l("Contract signed"),
    "contract.activated": _l("Contract active"), "contract.act_opened": _l("Monthly act opened"),
    "contract.closed": _l("Contract closed"), "contract.amended": _l("Contract amended"),
    "contract.settled_outside": _l("Carried top-up settled outside the acts"),
    "contract.document_stored": _l("Signed document stored"),
    "contract.document_unmatched": _l("Signed document not found: flagged for the operator"),
    "contract.document_restored": _l("Signed document restored by the operator from the signers' file"),
    "act.escalated": _l("Acceptance overdue: department head notified"),
    "yearend.opened": _l("Year-end report opened"), "yearend.submitted": _l("Year-end report submitted"),
    "yearend.approved": _l("Year-end report approved"),
    "yearend.returned": _l("Year-end report returned"),
}


def status_label(code: str) -> str:
    return str(STATUS.get(code, code))


def contract_status(contract) -> str:
    """A contract's status in words; waiting for a signature names whose (the instrument's director)."""
    from app.instruments import instrument_of

    director = instrument_of(contract).director_role
    if contract.status == "awaiting_director" and director != "school_director":
        return status_label(f"awaiting_{director}")
    return status_label(contract.status)


def level_label(code: str) -> str:
    return str(LEVELS.get(code, code))
