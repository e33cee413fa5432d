"""Marshmallow schemas for the lifecycle's JSON documents (orders, applications, contracts)."""

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api.schemas import PersonalText, UtcDateTime


class OrderNormSchema(Schema):
    level = fields.Str()
    locality = fields.Str()
    monthly_tiyn = fields.Int()


class StateOrderSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    region_id = fields.Int()
    academic_year = fields.Str()
    budget_tiyn = fields.Int()
    period_start = fields.Date()
    period_end = fields.Date()
    window_opens = fields.Date()
    window_closes = fields.Date()
    status = fields.Str()
    instance_id = fields.Int(allow_none=True)
    norms = fields.List(fields.Nested(OrderNormSchema))


class ApplicationSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    order_id = fields.Int()
    school_id = fields.Int()
    status = fields.Str()
    licence_number = fields.Str(allow_none=True)
    locality = fields.Str()
    students_primary = fields.Int()
    students_basic = fields.Int()
    students_secondary = fields.Int()
    design_capacity = fields.Int(allow_none=True)
    reasons = fields.List(fields.Str(), allow_none=True)
    places_primary = fields.Int()
    places_basic = fields.Int()
    places_secondary = fields.Int()
    instance_id = fields.Int(allow_none=True)


class SignatureSchema(Schema):
    capacity = fields.Str()
    signer_id = fields.Int()
    document_sha256 = fields.Str()
    signed_at = UtcDateTime()


class ContractActSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    period = fields.Date()
    status = fields.Str()
    amount_tiyn = fields.Int()


class ContractSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    order_id = fields.Int()
    application_id = fields.Int()
    school_id = fields.Int()
    region_id = fields.Int()
    period_start = fields.Date()
    period_end = fields.Date()
    places_primary = fields.Int()
    places_basic = fields.Int()
    places_secondary = fields.Int()
    monthly_cap_tiyn = fields.Int()
    amount_cap_tiyn = fields.Int()
    status = fields.Str()
    instance_id = fields.Int(allow_none=True)
    signatures = fields.List(fields.Nested(SignatureSchema))


class AmendmentSchema(Schema):
    seq = fields.Int()
    number = fields.Str()
    effective_from = fields.Date()
    rationale = PersonalText()
    before = fields.Dict()
    after = fields.Dict()
    before_sha256 = fields.Str()
    after_sha256 = fields.Str()
    amended_by_id = fields.Int()
    amended_at = UtcDateTime()


class ContractDetailSchema(ContractSchema):
    iban = fields.Str(allow_none=True, metadata={
        "description": "The account the contract's acts are paid to (the one both parties signed, or the one a "
                       "later agreement names: POST /contracts/{contract_id}/account)"})
    amendments = fields.List(fields.Nested(AmendmentSchema))
    acts = fields.List(fields.Nested(ContractActSchema))
    paid_tiyn = fields.Int()
    document_sha256 = fields.Str(allow_none=True, metadata={
        "description": "SHA-256 of the printable contract as stored when first signed (as rendered now before that): "
                       "the value to send as document_sha256 when signing; null when a contract signed before "
                       "documents were stored is not stored yet (pending) or could not be found again (unmatched)"})
    document_state = fields.Str(metadata={
        "description": "draft (nobody has signed), intact (the stored bytes are what the signatures record), "
                       "tampered (they are not), pending (signed before documents were stored; being prepared), "
                       "unmatched (signed before documents were stored, no layout gives the signed SHA-256; "
                       "flagged for the operator)"})


class SignContractSchema(Schema):
    password = fields.Str(required=True, load_only=True)
    document_sha256 = fields.Str(required=True, load_only=True, validate=validate.Regexp(
        r"^[0-9a-fA-F]{64}$", error=_l("Enter the SHA-256 of the printable contract you read: 64 hexadecimal "
                                          "characters.")), metadata={
        "description": "SHA-256 of the printable contract you read (GET /contracts/{contract_id}/document, its "
                       "X-Document-SHA256 header, or the detail's document_sha256): the signature signs those bytes "
                       "or nothing — 409 if the document is now another one, nothing signed"})


class AmendContractSchema(Schema):
    """An amendment: the new places, amount cap and end of term, the first month it applies to and why.
    ``revision`` is the number of amendments the client saw (optimistic lock: another amendment first → 409)."""

    # strict: a whole JSON number or 422 — 1.5 tiyn was cut to 1 and "10" read as 10 (marshmallow 4 refuses true)
    revision = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=10_000))
    places_primary = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    places_basic = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    places_secondary = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    amount_cap_tiyn = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10**17))
    period_end = fields.Date(required=True)
    effective_from = fields.Date(required=True, metadata={"description": "Any day of the first month it applies to"})
    rationale = fields.Str(required=True, validate=validate.Length(min=10, max=1000))
