"""The month's reconciliation under /api/v1 — the same figures, scope and checks as the page."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields

from app.api.blueprint import Blueprint
from app.api.errors import ErrorSchema, error_response
from app.api.schemas import LINES_NOT_STUDENTS
from app.reports.views import can_reconcile, reconciliation_query

blp = Blueprint("reconciliation_api", __name__, url_prefix="/api/v1",
                description="Reconciliation of a month: claimed, accepted, withheld, under review, adjusted, paid")


class ReconciliationArgs(Schema):
    period = fields.Str(load_default=None, metadata={"description": "YYYY-MM; default: the latest month"})
    region = fields.Str(load_default=None, metadata={"description": "region id; default: all visible"})
    instrument = fields.Str(load_default=None, metadata={
        "description": "funding instrument: schools (default) or dormitory; another value is a 422"})


class ReconciliationRowSchema(Schema):
    region_id = fields.Int(allow_none=True)
    acts = fields.Int()
    lines = fields.Int(metadata={"description": LINES_NOT_STUDENTS})
    claimed_tiyn = fields.Int()
    accepted_tiyn = fields.Int()
    withheld_total_tiyn = fields.Int()
    withheld_by_rule = fields.Dict(keys=fields.Str(), values=fields.Int())
    withheld_other_tiyn = fields.Int()
    under_review_tiyn = fields.Int()
    pending_tiyn = fields.Int()
    adjusted_tiyn = fields.Int()
    adjusted_under_review_tiyn = fields.Int()
    payable_tiyn = fields.Int()
    paid_tiyn = fields.Int()
    outstanding_tiyn = fields.Int()
    unsettled_tiyn = fields.Int(metadata={
        "description": "corrections of this month's decided lines that no act is to settle (the contract ended with "
                       "no act to come, or a closed academic year's top-up): owed back if negative, owed if positive; "
                       "not part of payable"})
    time_barred_tiyn = fields.Int(metadata={
        "description": "claw-backs of this month's decided lines older than the claw-back look-back "
                       "(CLAWBACK_LOOKBACK_YEARS): not claimed back by any act, money that will not come back "
                       "(negative); not part of payable"})
    settled_outside_tiyn = fields.Int(metadata={
        "description": "carried top-ups of this month's lines paid outside the acts by a payment order out of "
                       "their year's budget; not part of payable"})
    written_off_tiyn = fields.Int(metadata={
        "description": "carried top-ups of this month's lines written off as not owed, with a reason"})
    later_clawback_tiyn = fields.Int(metadata={
        "description": "claw-backs of this month's decided lines owed and not yet on any act (the rest of a claw-back "
                       "the next act could not hold — an act never goes negative — or one waiting for an act not yet "
                       "submitted): to be settled on a later act (negative); not part of payable"})
    later_top_up_tiyn = fields.Int(metadata={
        "description": "top-ups of this month's decided lines owed and not yet on any act: to be settled on a later "
                       "act (positive); not part of payable"})
    returned_tiyn = fields.Int(metadata={
        "description": "payments of this month's acts the bank sent back (closed account, wrong details, the bank's "
                       "refusal): not part of paid — the act is payable again"})
    nothing_to_pay_acts = fields.Int(metadata={
        "description": "acts accepted at 0 ₸ (every line excluded, or claw-backs as large as the month), closed "
                       "without a payment order"})


class ReconciliationSchema(Schema):
    period = fields.Str(allow_none=True)
    instrument = fields.Str(metadata={"description": "the funding instrument these figures are of"})
    regions = fields.List(fields.Nested(ReconciliationRowSchema))
    total = fields.Nested(ReconciliationRowSchema, allow_none=True)


@blp.route("/reconciliation")
@blp.arguments(ReconciliationArgs, location="query")
@blp.response(200, ReconciliationSchema)
@blp.alt_response(422, schema=ErrorSchema, description="A month or region that cannot be used, with the reason")
def reconciliation(args):
    """Money of a month per region, in tiyn; every figure is a sum of act lines, adjustments and payments."""
    if not current_user.is_authenticated:
        abort(401)
    if not can_reconcile(current_user):
        abort(403)
    data, problems = reconciliation_query(current_user, {k: v for k, v in args.items() if v is not None})
    if problems:
        # The page shows what it can and says what it left out; the API refuses the request and says why.
        said = {"period": _("Choose a month as YYYY-MM."), "region": _("Unknown region."),
                "instrument": _("Unknown funding instrument.")}
        errors = {field: said[field] for field in problems}
        return error_response(422, " ".join(errors.values()), errors)
    total = data["total"]
    return {"period": f"{data['period']:%Y-%m}" if data["period"] else None, "instrument": data["instrument"].code,
            "regions": [r.as_dict() for r in data["rows"]], "total": total.as_dict() if total else None}


def init_reconciliation_api(app) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
