"""How the monthly-act workflow's tasks touch the act: task handlers and the verify operator."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.acts import operations
from app.acts.models import Act
from app.acts.shapes import act_shape, decision_shape
from app.engine.errors import DomainConflict, DomainRefused, LineRefused
from app.engine.handlers import TaskContext, TaskHandler, subject_panel, task_handler
from app.engine.operators import instance_subject, operator
from app.extensions import db
from app.instruments import instrument_of, instruments
from app.people.roles import DEPARTMENT_ROLES, DORMITORY_ROLES, SCHOOL_ROLES


def act_confirm_names(act: Act) -> dict:
    """What a confirmation of a decision on the act names: its number, organisation, month and amount."""
    from app.i18n import format_month, format_tenge

    return {"number": act.number, "organisation": act.school.name, "month": format_month(act.period),
            "amount": format_tenge(act.amount_tiyn)}


def act_of(ctx) -> Act:
    act = db.session.get(Act, ctx.instance.subject_id) if ctx.instance.subject_type == "act" else None
    if act is None:
        raise DomainRefused(_("This task is not linked to an act."))
    return act


@task_handler("acts/submit")
class SubmitAct(TaskHandler):
    template = "acts/_submit_panel.html"
    roles = SCHOOL_ROLES | DORMITORY_ROLES
    #: days attended are judged by the act's month (app.acts.instrument.school_line_values), not by the published
    #: form's fixed bounds: one answer on the page, from a file of lines and through the API
    domain_bounds = frozenset({"days_attended"})

    def data_shape(self, ctx: TaskContext) -> dict:
        return act_shape(instrument_of(act_of(ctx)))

    def model_shape(self, process_id: str | None) -> dict | None:
        """The act of the instrument whose monthly process this is (another process: known only on completion)."""
        found = [one for one in instruments() if one.monthly_process == process_id]
        return act_shape(found[0]) if found else None

    def prefill(self, ctx: TaskContext) -> dict:
        return {"lines": operations.prefill_lines(act_of(ctx))}

    def context(self, ctx: TaskContext) -> dict:
        act = act_of(ctx)
        return {"act": act, "instrument": instrument_of(act)}

    def confirm(self, ctx: TaskContext) -> dict:
        # Submitting is final for the school: the act goes to verification and to the department, and can be
        # changed again only if it is returned. Its amount is not known before verification.
        return {"question": _("Submit the act for %(month)s of %(organisation)s? It goes to verification and to "
                              "the department, and cannot be changed unless it is returned.",
                              **act_confirm_names(act_of(ctx)))}

    def shape_fields(self, ctx: TaskContext, fields: list) -> None:
        operations.shape_act_form(act_of(ctx), fields)

    def check_line(self, ctx: TaskContext, line: dict) -> tuple[str, str] | None:
        """What submit_act would refuse of this line: the instrument's own reading of it (days within the act's
        month; a dormitory's dates that meet it)."""
        values = instrument_of(act := act_of(ctx)).line_values
        if values is None:
            return None
        try:
            values(act, line)
        except LineRefused as err:
            return err.field, str(err)
        except (KeyError, TypeError, ValueError):
            # a line of a submission the form refused, missing a value or holding one as typed ("12a" days, a
            # date that is none): the form's own error marks it
            return None
        return None

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        act = act_of(ctx)
        operations.submit_act(act, data["lines"], data.get("note"), ctx.actor)
        return {"act_id": act.id, "revision": act.revision}


@task_handler("acts/decide")
class DecideAct(TaskHandler):
    template = "acts/_decide_panel.html"
    roles = DEPARTMENT_ROLES
    shape = decision_shape(["accept", "return"])

    def context(self, ctx: TaskContext) -> dict:
        return _read_only(ctx)

    def seen(self, ctx: TaskContext) -> str | None:
        return str(act_of(ctx).lock_version)

    def confirm(self, ctx: TaskContext) -> dict | None:
        # Accepting sends the amount to payment and cannot be taken back. Returning is not asked about: the school
        # corrects the act and submits it again, and the return's comment is already a deliberate step. While a
        # line awaits review the acceptance is refused anyway (with the count): no question before a certain "no".
        from app.acts.review import undecided_count

        if undecided_count(act_of(ctx)):
            return None
        return {"question": _("Accept act %(number)s: %(amount)s to %(organisation)s for %(month)s? An accepted "
                              "act goes to payment and cannot be returned.", **act_confirm_names(act_of(ctx))),
                "field": "decision", "value": "accept"}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        act = act_of(ctx)
        if data["decision"] != "return" and ctx.seen is None and ctx.seen_required:
            # An API client (or a hand-made form) accepting without saying which version it read accepted whatever
            # the act had become: a re-pricing in between went through unseen.
            raise DomainRefused(_("Say which version of the act you decided on: send the act's version as "
                                  "\"seen\" (the page sends it with its form)."))
        if data["decision"] != "return" and ctx.seen is not None and ctx.seen != str(act.lock_version):
            # Verified again since the page was opened (a month-wide pass, a line's review in another tab): the
            # amount and lines on the page may not be the act's any more. Accepting is accepting what one saw.
            from app.i18n import format_tenge

            raise DomainConflict(_("The act was verified again after you opened this page: its amount is now "
                                   "%(amount)s. Read the report below again, then decide.",
                                   amount=format_tenge(act.amount_tiyn)))
        # an act accepted at 0 ₸ has nothing to pay: its "Pay act" step completes itself (PayAct.settles_itself),
        # told so here rather than by reading the act again on every step
        nothing_to_pay = data["decision"] == "accept" and act.amount_tiyn == 0
        operations.decide(act, data["decision"], data.get("comment"), ctx.actor)
        return {"decision": data["decision"], **({"nothing_to_pay": True} if nothing_to_pay else {})}


def _read_only(ctx: TaskContext) -> dict:
    act = act_of(ctx)
    return {"act": act, "rules": instrument_of(act).rules, "instrument": instrument_of(act)}


# A step of the act's process without a handler of its own (a co-signature a process owner added) shows the act:
# its summary, amount and verification report.
subject_panel("act", "acts/_subject_panel.html", _read_only)


@operator("acts/verify", params={"act_id": int},
          description=_l("Checks every line of the act against NEDB and the contingent rules, and computes the "
                         "amount."))
def verify_contingent(ctx, act_id: int) -> dict:
    """Check every line of the act against NEDB and compute the amount (Verify contingent)."""
    act = instance_subject(ctx, Act, "act", act_id)
    summary = operations.verify(act, ctx.actor)
    return {"accepted_lines": summary.accepted, "excluded_lines": summary.excluded,
            "amount_tiyn": summary.amount_tiyn}
