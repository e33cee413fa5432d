"""The shipped models' words — process, lane and task names as written in bpmn/ — marked for translation.

A BPMN file carries its names in one language; the pages show them in the user's. Every name of a shipped model
is listed here (``tests/i18n`` fails when a model gains a name this list lacks) and translated in the catalogues;
:func:`tr` translates exactly these and leaves everything else (a process owner's new model, a school's name) as
written.
"""

from __future__ import annotations

from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "extract, translate later"
    return text


MODEL_WORDS = frozenset({
    # processes
    N_("Application to the state order"), N_("Monthly act of services rendered"), N_("State order contract"),
    N_("State order placement"), N_("Year-end report"), N_("Monthly act"),
    # lanes
    N_("Department head"), N_("Department official"), N_("Operator"), N_("School accountant"),
    N_("School director"), N_("System"),
    # user tasks
    N_("Accept act"), N_("Approve year-end report"), N_("Pay act"), N_("Review and allocate places"),
    N_("Sign contract (department head)"), N_("Sign contract (school director)"), N_("Submit application"),
    N_("Submit monthly act"), N_("Submit year-end report"),
    # automatic steps
    N_("Activate contract"), N_("Close application window"), N_("Close contract"), N_("Eligibility check"),
    N_("Expire unsubmitted application"), N_("Generate contract"), N_("Notify department head"),
    N_("Open application window"), N_("Open monthly act"), N_("Plan next month"), N_("Set acceptance deadline"),
    N_("Start year-end report"), N_("Verify contingent"), N_("Determine per-student norms"),
    # events and gateways (timers and history name them)
    N_("Acceptance overdue"), N_("Application window closed"), N_("Act paid"), N_("Application rejected"),
    N_("Contract closed"), N_("Contract generated"), N_("Every month's act opened"), N_("Head notified"),
    N_("Ineligible: reasons shown to the school"), N_("Not submitted in time"), N_("Window closed"),
    N_("Accepted?"), N_("Allocated?"), N_("Approved?"), N_("Eligible?"), N_("Last month?"),
    N_("Application window closes"), N_("Month ended"), N_("Last month's act opened"), N_("Order placed"),
    N_("School applies"),
    # the dormitory-places instrument's models (bpmn/dorm_*.bpmn)
    N_("Monthly act of occupied dormitory places"), N_("Dormitory places contract"), N_("Dormitory accountant"),
    N_("Determine the rate per place"),
})


def tr(text: str | None) -> str:
    """A model word in the user's language; any other text unchanged."""
    if not text:
        return text or ""
    return gettext(text) if text in MODEL_WORDS else text
