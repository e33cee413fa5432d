"""The one error document of the API: ``{"code", "status", "message", "errors"}``.

Every API error — a refused token, a 404, a 405, an invalid body, a lost race — is built here, and the
OpenAPI document describes exactly this schema as every operation's ``default`` response, so a client
(and the schemathesis run in tests/api_contract) can rely on one shape.
"""

from __future__ import annotations

from http import HTTPStatus

import marshmallow as ma
from flask import Response, jsonify


class ErrorSchema(ma.Schema):
    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, in the user's language"})
    errors = ma.fields.Dict(metadata={"description": "Per-field problems of the request, when there are any"})


def error_document(code: int, message: str, errors: dict | None = None) -> dict:
    try:
        status = HTTPStatus(code).phrase
    except ValueError:
        status = "Error"
    document = {"code": code, "status": status, "message": message}
    if errors:
        document["errors"] = errors
    return document


def error_response(code: int, message: str, errors: dict | None = None, headers: dict | None = None) -> Response:
    response = jsonify(error_document(code, message, errors))
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
