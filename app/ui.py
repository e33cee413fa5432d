"""Template helpers: labels in the user's language for codes stored in the database."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user

from app.people.roles import ROLE_LABELS

TASK_TITLES = {
    "submit_act": _l("Submit monthly act"),
    "accept_act": _l("Accept act"),
    "pay_act": _l("Pay act"),
}
ACT_STATUS = {
    "awaiting_submission": _l("awaiting submission"),
    "submitted": _lp("act", "submitted"),
    "verified": _l("verified, awaiting acceptance"),
    "returned": _l("returned for correction"),
    "accepted": _l("accepted, awaiting payment"),
    "paid": _l("paid"),
}
#: The word for an act accepted at 0 ₸ and closed without a payment order: its status is "paid" (one status, one
#: meaning for the process: done), but nothing was paid, and "paid" beside 0 ₸ read as money sent
#: (app.payments.operations.close_without_payment). Derived, never stored: :func:`act_status_label`.
NOTHING_TO_PAY = _l("closed with nothing to pay")
#: An organisation's kind and a role's reach, as the administrator's pages name them (they showed the codes).
ORG_KIND = {"school": _l("School"), "dormitory": _l("Dormitory"), "department": _l("Education department"),
            "operator": _l("Operator"), "ministry": _l("Ministry")}
SCOPE = {"organisation": _l("own organisation"), "region": _l("own region"), "national": _l("whole country")}
INSTANCE_STATUS = {"running": _l("running"), "completed": _l("completed"), "error": _l("error"),
                   "suspended": _l("suspended"), "cancelled": _l("cancelled")}
AUDIT_ACTIONS = {
    "instance.started": _l("Process started"),
    "instance.completed": _l("Process completed"),
    "task.completed": _l("Task completed"),
    "timer.fired": _l("Timer fired"),
    "act.opened": _l("Act opened"),
    "act.submitted": _l("Act submitted"),
    "act.verified": _l("Contingent verified"),
    "act.accepted": _l("Act accepted"),
    "act.returned": _l("Act returned for correction"),
    "act.paid": _l("Payment registered"),
    # Events of an act's history that were shown by their key ("payment.returned") in every language: the operator
    # and the school read an act's page after the bank sent its payment back.
    "payment.returned": _l("Payment order returned by the bank"),
    "act.payee_changed": _l("New account confirmed for the payment"),
    "act.closed_nothing_to_pay": _l("Closed with nothing to pay"),
    "task.due_corrected": _l("Due date corrected"),
    "timer.due_corrected": _l("Timer's due time corrected"),
    "task.claimed": _l("Task claimed"),
    "task.unclaimed": _l("Task released"),
    "task.reassigned": _l("Task reassigned"),
    "task.bulk_accepted": _l("Accepted in a bulk action"),
    "task.commented": _l("Comment added"),
    "task.attachment_added": _l("File attached"),
    "task.overdue": _l("Task overdue"),
    "instance.failed": _l("Automatic step failed"),
    "instance.retried": _l("Failed step retried"),
    "instance.migration_failed": _l("Migration to a new version failed"),
    "incident.retried": _l("Incident retried"),
    "incident.resolved": _l("Incident resolved"),
    "instance.cancelled": _l("Process cancelled"),
    "instance.suspended": _l("Process suspended"),
    "instance.resumed": _l("Process resumed"),
    "timer.triggered": _l("Timer triggered by an administrator"),
    "variable.edited": _l("Variable changed by an administrator"),
    "instance.migrated": _l("Moved to another model version"),
    "instance.migration_reverted": _l("Move to another model version undone"),
    "act.line_reviewed": _l("Line reviewed"),
    "act.review_exclusion_lapsed": _l("Exclusion after review no longer holds (NEDB changed)"),
    "act.review_exclusion_restored": _l("Exclusion after review holds again"),
    "trial.deleted": _l("Trial instance deleted"),
    "verification.started": _l("Verification of the month started"),
    "verification.finished": _l("Verification of the month finished"),
    "verification.failed": _l("Verification of the month failed"),
    "verification.stopped": _l("Verification of the month stopped on the command line"),
    "registry.import_started": _l("Registry import started"),
    "registry.imported": _l("Registry imported"),
    "registry.import_failed": _l("Registry import failed"),
    "registry.import_stopped": _l("Registry import stopped on the command line"),
    "substitution.created": _l("Deputy named"),
    "substitution.revoked": _l("Deputy ended"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "inbox.filter_saved": _l("Inbox filter saved"),
    "inbox.filter_deleted": _l("Inbox filter deleted"),
    "user.login": _l("Logged in"),
    # An account's own events, read on its administration page (they were shown by their key: "user.deactivated").
    "user.created": _l("Account created"),
    "user.updated": _l("Account changed (name, e-mail, role or organisation)"),
    "user.activated": _l("Account reactivated"),
    "user.deactivated": _l("Account deactivated"),
    "user.password_reset": _l("Temporary password set by an administrator"),
    "user.password_changed": _l("Password changed"),
    "user.logout": _l("Logged out"),
    "user.sessions_ended": _l("Signed out everywhere"),
    "notices.withdrawn": _l("Notices withdrawn"),
    "api_tokens.revoked": _l("API tokens revoked"),
}


def personal(value):
    """A child's IIN or name as this user may see it: in full, or masked (``app.people.access``)."""
    from app.people.access import sees_personal_data
    from app.processes.masking import mask_value

    return value if sees_personal_data(current_user) else mask_value(value)


def personal_text(value):
    """What a person wrote (a comment, a reason) as this user may see it: in full, or with the IINs written in it
    masked (``app.processes.masking.mask_text``) — a case's comments reach a process owner and an administrator too."""
    from app.people.access import sees_personal_data
    from app.processes.masking import mask_text

    if not isinstance(value, str) or sees_personal_data(current_user):
        return value
    return mask_text(value)


def _sees_personal_data() -> bool:
    from app.people.access import sees_personal_data

    return sees_personal_data(current_user)


def task_label(spec_name: str, title: str, language: str | None = None, translate=None,
               version_id: int | None = None) -> str:
    """A task's title in the reader's language: the model's own name in that language, else the catalogue's.
    ``version_id``: read only that version's words, and only if already read (no query; see ``own_name``)."""
    from app.words import own_name, tr

    language = language or str(get_locale() or "en").split("_")[0]
    own = own_name(title, language, version_id)
    if own:
        return own
    if translate is not None:  # another reader's language (an e-mail): task titles are the BPMN names, msgids
        return translate(title or "")
    # The catalogue's title of a shipped step, unless the model names it otherwise (an owner renamed it: then the
    # model's name, translated if the catalogue knows it).
    shipped = TASK_TITLES.get(spec_name)
    if shipped is not None and (not title or title == getattr(shipped, "_args", (str(shipped),))[0]):
        return str(shipped)
    return tr(title, language, models=version_id is None)


def progress_step(percent: int | None) -> int:
    """A progress bar's width as one of app.css's ``progress-0`` … ``progress-100`` classes (steps of 5): the page's
    Content-Security-Policy applies no inline ``style`` attribute, so the width cannot be written there. The exact
    figure is the bar's text."""
    return min(100, max(0, int(percent or 0))) // 5 * 5


def init_ui(app: Flask) -> None:
    app.jinja_env.filters["personal"] = personal
    app.jinja_env.filters["personal_text"] = personal_text
    app.jinja_env.filters["progress_step"] = progress_step
    from app.audit.problem_words import fact_name, problem_in_words

    app.jinja_env.filters["audit_problem"] = problem_in_words
    app.jinja_env.filters["fact_name"] = fact_name

    @app.context_processor
    def helpers() -> dict:
        from app.i18n import date_words, field_words
        from app.inbox.queries import count_open_tasks

        count = count_open_tasks(current_user) if current_user.is_authenticated else 0
        return {
            "current_locale": str(get_locale()),
            "date_words": date_words,
            "field_words": field_words,
            "inbox_count": count,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "task_title": lambda task: task_label(task.spec_name, task.title),
            "act_status_label": act_status_label,
            "org_kind_label": lambda k: ORG_KIND.get(k, k),
            "scope_label": lambda s: SCOPE.get(s, s),
            "instance_status_label": lambda s: INSTANCE_STATUS.get(s, s),
            "audit_action_label": lambda a: AUDIT_ACTIONS.get(a, a),
            "may_see_personal_data": _sees_personal_data,
        }


def act_status_label(act) -> str:
    """An act's status as the user reads it. Given the act (or a month row of the year-end report: a mapping with
    ``status``, ``amount_tiyn`` and ``act_id``), a paid act of 0 ₸ with no standing payment says it was closed with
    nothing to pay (:func:`app.payments.operations.nothing_to_pay`: status, amount and no payment the bank has not
    returned — one look-up, for such acts only). Given a status code alone, its word."""
    from collections.abc import Mapping

    status = act if isinstance(act, str) else act.get("status") if isinstance(act, Mapping) else act.status
    amount = None if isinstance(act, str) else act.get("amount_tiyn") if isinstance(act, Mapping) else act.amount_tiyn
    if status == "paid" and amount == 0:
        from app.acts.models import Act
        from app.extensions import db
        from app.payments.operations import nothing_to_pay

        if isinstance(act, Mapping):
            act = db.session.get(Act, act["act_id"]) if act.get("act_id") else None
        if act is not None and nothing_to_pay(act):
            return str(NOTHING_TO_PAY)
    return str(ACT_STATUS.get(status, status))
