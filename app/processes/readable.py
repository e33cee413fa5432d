"""The process data an operator or an auditor reads on the instance page: the variables the shipped models write
(an act's verification, its acceptance deadline, the department's decision…) named in the reader's language, with
their values as people write them — tenge, not ``amount_tiyn``; a date in the reader's format, not ISO; "returned for
correction", not ``return``. The raw names and JSON stay on the page, folded, for whoever repairs an instance.

A variable no shipped model writes has no name here and shows in the raw view only.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_pgettext

from app.i18n import format_day, format_moment, format_month, format_tenge, format_whole

#: A variable's (or a result's field's) dotted path and what the reader calls it.
LABELS = {
    "act_id": lazy_pgettext("process data", "Act (record number)"),
    "period": lazy_pgettext("process data", "Month of the act"),
    "revision": lazy_pgettext("process data", "Submission of the act"),
    "verification.accepted_lines": lazy_pgettext("process data", "Lines accepted by the verification"),
    "verification.excluded_lines": lazy_pgettext("process data", "Lines excluded by the verification"),
    "verification.amount_tiyn": lazy_pgettext("process data", "Amount after the verification"),
    "acceptance.due": lazy_pgettext("process data", "Acceptance due"),
    "acceptance.working_days": lazy_pgettext("process data", "Working days to accept"),
    "decision": lazy_pgettext("process data", "Decision"),
    "report_decision": lazy_pgettext("process data", "Decision on the report"),
    "nothing_to_pay": lazy_pgettext("process data", "Nothing to pay"),
    "payment_id": lazy_pgettext("process data", "Payment (record number)"),
    "amount_tiyn": lazy_pgettext("process data", "Amount"),
    "escalation.escalated": lazy_pgettext("process data", "Overdue acceptance reported to the department head"),
    "escalation.notified": lazy_pgettext("process data", "Department heads notified"),
    "eligibility.eligible": lazy_pgettext("process data", "Eligible"),
    "contract.number": lazy_pgettext("process data", "Contract number"),
    "opened_act.number": lazy_pgettext("process data", "Act number"),
    "students_total": lazy_pgettext("process data", "Students claimed"),
}

DECISIONS = {
    "accept": lazy_pgettext("process data", "accepted"),
    "return": lazy_pgettext("process data", "returned for correction"),
    "approve": lazy_pgettext("process data", "approved"),
    "allocate": lazy_pgettext("process data", "places allocated"),
    "reject": lazy_pgettext("process data", "rejected"),
}


def _moment_or_day(text: str) -> str | None:
    """An ISO date (``2026-10-01``) or moment (``2026-11-12T09:00:00+00:00``) in the reader's format; None when the
    text is neither."""
    try:
        if len(text) == 10:
            return format_day(date.fromisoformat(text))
        return format_moment(datetime.fromisoformat(text))
    except ValueError:
        return None


def readable_value(path: str, value) -> str | None:
    """``value`` of the variable at ``path`` as the reader writes it; None when it is not what the models write there
    (an administrator's edit typed something else: the raw view shows it)."""
    leaf = path.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return str(lazy_pgettext("process data", "yes") if value else lazy_pgettext("process data", "no"))
    if leaf.endswith("_tiyn"):
        return format_tenge(value) if isinstance(value, int) else None
    if leaf.endswith("decision"):
        word = DECISIONS.get(value) if isinstance(value, str) else None
        return str(word) if word else None
    if leaf == "period" and isinstance(value, str):
        try:
            return format_month(date.fromisoformat(value))
        except ValueError:
            return None
    if isinstance(value, str):
        return _moment_or_day(value) if leaf in ("due",) or leaf.endswith("_on") else value
    if isinstance(value, int):
        return format_whole(value)
    return None


def readable_variables(variables: dict) -> list[dict]:
    """The known variables of ``variables`` (already masked for the reader) as rows ``{path, label, value}``, in the
    order of :data:`LABELS`."""
    rows = []
    for path, label in LABELS.items():
        value, found = variables, True
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                found = False
                break
        if not found or value is None:
            continue
        shown = readable_value(path, value)
        if shown is not None:
            rows.append({"path": path, "label": str(label), "value": shown})
    return rows
