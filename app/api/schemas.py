"""Marshmallow schemas for every JSON document the app emits."""

from datetime import UTC

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

#: the documents' word on a count of act lines, which is not a count of students (those are the public figures')
LINES_NOT_STUDENTS = ("act lines, not students: a student on two lines of the month (moved to another room; "
                      "transferred between schools, a line in each act) counts twice; each line is paid its own days")


class UtcDateTime(fields.DateTime):
    """Every stored timestamp is UTC, but SQLite hands it back without its offset; the document says
    ``format: date-time`` (RFC 3339), which requires one, so add it rather than send a local-looking time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class HumanTaskSchema(Schema):
    id = fields.Int()
    instance_id = fields.Int()
    spec_name = fields.Str()
    title = fields.Str(metadata={"description": "The task's name as the model writes it"})
    title_localized = fields.Method("_title_localized", metadata={
        "description": "The task's name in the request's language (the user's choice or Accept-Language): the "
                       "model's own name in that language, else the catalogue's"})
    subject_title = fields.Str()
    role = fields.Str()
    region_id = fields.Int(allow_none=True)
    organisation_id = fields.Int(allow_none=True)
    status = fields.Str()
    created_at = UtcDateTime()
    due_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)

    def _title_localized(self, task) -> str:
        from sqlalchemy.orm.util import identity_key

        from app.engine.models import ProcessInstance
        from app.extensions import db
        from app.ui import task_label

        # A task whose instance is at hand (a step's answer) reads that version's words without a query.
        instance = db.session.identity_map.get(identity_key(ProcessInstance, task.instance_id))
        version_id = instance.model_version_id if instance is not None else None
        return task_label(task.spec_name, task.title, version_id=version_id)


class PersonalStr(fields.Str):
    """A child's IIN or name: in full for the roles whose work needs it, masked for the others — the same rule and
    mask as the act's page (``app.ui.personal``; the roles in ``app.people.access.PERSONAL_DATA_ROLES``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        from app.ui import personal

        return super()._serialize(personal(value) if value is not None else None, attr, obj, **kwargs)


class PersonalText(fields.Str):
    """What a person wrote (a reason, a note): in full for the roles whose work needs children's data, with the IINs
    written in it masked for the others — the pages' rule (``app.ui.personal_text``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        from app.ui import personal_text

        return super()._serialize(personal_text(value), attr, obj, **kwargs)


class ActLineSchema(Schema):
    line_no = fields.Int()
    iin = PersonalStr(metadata={"description": "The child's IIN; masked (••••••••1234) for roles that may not see "
                                               "it"})
    full_name = PersonalStr(metadata={"description": "The child's name; masked (•••) for roles that may not see "
                                                     "it"})
    grade = fields.Int()
    days_attended = fields.Int()
    outcome = fields.Str()
    rule_code = fields.Str(allow_none=True)
    amount_tiyn = fields.Int()
    id = fields.Int(metadata={"description": "The line's id (to decide its review)"})
    review_codes = fields.Str(allow_none=True, metadata={
        "description": "What needs an official's review before the act can be accepted: name, age, days "
                       "(comma-separated); null: nothing"})
    registry_name = PersonalStr(allow_none=True, metadata={
        "description": "The name NEDB has for the child, when it differs from the line's; masked like full_name"})


class LineReviewSchema(Schema):
    decision = fields.Str(required=True, metadata={"description": "confirm (keep the line as it is) or exclude"})
    comment = fields.Str(load_default=None, metadata={"description": "Why (required to exclude)"})
    seen = fields.Int(load_default=None, strict=True, metadata={
        "description": "the act's ``version`` you read: if it has changed since (a colleague decided a line, the act "
                       "was verified again), the decision is refused with 409 and nothing changes"})


class ActPaymentSchema(Schema):
    order_number = fields.Str()
    paid_on = fields.Date()
    amount_tiyn = fields.Int()
    payee_iban = fields.Str(allow_none=True, metadata={
        "description": "The account the payment was sent to (as the payments register says)"})


class ActPaymentRecordSchema(Schema):
    """A payment of the act as the payments register lists it, returned by the bank or not."""

    id = fields.Int(metadata={"description": "The payment's id (to record its return)"})
    order_number = fields.Str()
    paid_on = fields.Date()
    amount_tiyn = fields.Int()
    payee_iban = fields.Str(allow_none=True, metadata={
        "description": "The account it was sent to; null for a payment registered before accounts were kept on it"})
    returned_on = fields.Date(allow_none=True, metadata={"description": "The day the bank returned it; null: not "
                                                                        "returned"})
    return_reason = fields.Str(allow_none=True, metadata={
        "description": "account_closed, wrong_details, bank_refused or other; null: not returned"})
    return_reference = fields.Str(allow_none=True, metadata={"description": "The bank's reference of the return"})


class ActSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    school_id = fields.Int()
    region_id = fields.Int()
    period = fields.Date()
    status = fields.Str()
    revision = fields.Int()
    instance_id = fields.Int(allow_none=True)
    total_lines = fields.Int(metadata={"description": LINES_NOT_STUDENTS})
    accepted_lines = fields.Int(metadata={"description": LINES_NOT_STUDENTS})
    amount_tiyn = fields.Int()
    withheld_tiyn = fields.Int()
    version = fields.Int(attribute="lock_version", metadata={
        "description": "moves whenever the act is verified or decided: give it as ``seen`` when completing its "
                       "acceptance, to accept only the act as you read it"})
    lines = fields.List(fields.Nested(ActLineSchema))
    payee_iban = fields.Str(allow_none=True, metadata={
        "description": "The account (IBAN) the education department accepted the act to be paid to; the payment "
                       "goes there. null: not accepted yet, or accepted before accounts were pinned (then paid to "
                       "the account on record at payment)"})
    payment = fields.Method("_payment", allow_none=True, metadata={
        "description": "The registered payment (null: not paid)", "type": "object"})
    payments = fields.Method("_payments", metadata={
        "description": "Every payment of the act, oldest first, with the bank's return when it sent one back (the "
                       "act is then paid again by a new payment order)",
        "type": "array", "items": {"type": "object"}})
    account_to_confirm = fields.Method("_account_to_confirm", allow_none=True, metadata={
        "description": "After a return, the account on record that a department official of the act's region is "
                       "to confirm before the act is paid again to it (POST /acts/{act_id}/confirm-account); null: "
                       "none waits", "type": "string"})

    def _payment(self, act):
        from app.payments.operations import payment_of

        found = payment_of(act)
        return None if found is None else ActPaymentSchema().dump(found)

    def _payments(self, act):
        from sqlalchemy import select

        from app.extensions import db
        from app.payments.models import Payment

        return ActPaymentRecordSchema(many=True).dump(
            db.session.scalars(select(Payment).where(Payment.act_id == act.id).order_by(Payment.id)))

    def _account_to_confirm(self, act):
        from app.payments.returns import account_to_confirm

        change = account_to_confirm(act)
        return None if change is None else change.now


class AuditEventSchema(Schema):
    seq = fields.Int()
    at = UtcDateTime()
    actor_id = fields.Int(allow_none=True)
    action = fields.Str()
    object_type = fields.Str()
    object_id = fields.Int(allow_none=True)
    details = fields.Dict()
    hash = fields.Str()


class InstanceSchema(Schema):
    id = fields.Int()
    process_id = fields.Str()
    title = fields.Str()
    status = fields.Str()
    lock_version = fields.Int()
    started_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    open_tasks = fields.List(fields.Nested(HumanTaskSchema))
    events = fields.List(fields.Nested(AuditEventSchema))


class CompleteTaskSchema(Schema):
    data = fields.Dict(required=True, metadata={
        "description": "the step's form data as JSON, checked against the task's form schema; a date is written "
                       "YYYY-MM-DD (ISO 8601), not as a page's field takes it typed"})
    lock_version = fields.Int(load_default=None, strict=True)  # a whole JSON number: "3" or 2.5 is 422
    seen = fields.Int(load_default=None, strict=True, metadata={
        "description": "the version of the step's record you read (an act's ``version``): if it has changed "
                       "since, the step is refused with 409 and nothing changes"})
    document_sha256 = fields.Str(load_default=None, validate=validate.Regexp(
        r"^[0-9a-fA-F]{64}$", error=_l("Enter the SHA-256 of the printable contract you read: 64 hexadecimal "
                                       "characters.")), metadata={
        "description": "signing a contract (its sign_director, sign_dorm_director or sign_head task): the SHA-256 of "
                       "the printable contract you read (GET /contracts/{contract_id}/document). Required there: "
                       "without it 422; if the document is now another one, 409 and nothing is signed"})
