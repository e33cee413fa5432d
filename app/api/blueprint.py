"""The API's blueprint: flask-smorest's, reading a number in a query string as the pages read it (app/user_input.py).

marshmallow's ``Integer`` field is Python's ``int``: ``?page=１`` (full-width), ``?page=١`` (Arabic-Indic),
``?page_size= 2 ``, ``+1`` and ``1_0`` were read as numbers. A query or form value of an integer field is now
written in the digits 0–9 (after an optional minus, which the field's range then judges), else it is the field's
own error ("Not a valid integer.", said in the reader's language by app/errors.py) in the API's 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser

from app.user_input import whole_number

#: where a value arrives as text a person or a program typed; a JSON body carries its numbers as numbers
_TYPED_LOCATIONS = frozenset({"query", "querystring", "form"})


class DigitsParser(FlaskParser):
    """webargs' parser, refusing an integer field's text that is not ASCII digits before marshmallow reads it."""

    def pre_load(self, location_data: Mapping, *, schema: ma.Schema, req: Any, location: str) -> Mapping:
        if location not in _TYPED_LOCATIONS:
            return location_data
        wrong = {}
        for name, field in schema.fields.items():
            key = field.data_key or name
            raw = location_data.get(key)
            if isinstance(field, ma.fields.Integer) and isinstance(raw, str) \
                    and whole_number(location_data, key, lenient=True) is None:
                wrong[key] = [field.error_messages["invalid"]]
        if wrong:
            raise ma.ValidationError(wrong)
        return location_data


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: its arguments and its pages read by :class:`DigitsParser`."""

    ARGUMENTS_PARSER = DigitsParser()
    PAGINATION_ARGUMENTS_PARSER = DigitsParser()
