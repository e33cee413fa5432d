"""The data shapes the act and application steps write into the domain's records (``TaskHandler.data_shape``).

The step's form is the process owner's to publish; these are the domain's, checked after it on completion, so a
form loosened to take a grade as text, any twelve characters as an IIN or 50,000 lines cannot loosen the records.
Objects leave other properties open: a form may ask more than the domain reads.
"""

from __future__ import annotations

#: the most lines one act holds (as the shipped act forms)
MAX_ACT_LINES = 3000

IIN = {"type": "string", "format": "iin"}
BIN = {"type": "string", "format": "bin"}
IBAN = {"type": "string", "format": "iban-kz"}
DATE = {"type": "string", "format": "date"}
FULL_NAME = {"type": "string", "minLength": 2, "maxLength": 200}
NOTE = {"type": "string", "maxLength": 1000}
COMMENT = {"type": "string", "maxLength": 2000}


def whole(minimum: int, maximum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


#: a school's act line: the student, the grade (1–11) and the days attended (within the month: line_values)
SCHOOL_LINE = {"type": "object", "required": ["iin", "full_name", "grade", "days_attended"],
               "properties": {"iin": IIN, "full_name": FULL_NAME, "grade": whole(1, 11),
                              "days_attended": whole(1, 31)}}


_ACT_SHAPES: dict[str, dict] = {}


def act_shape(instrument) -> dict:
    """The submitted act of ``instrument``: 1 to MAX_ACT_LINES lines of its line shape and an optional note (one
    dict per instrument, built once: its validator is compiled once)."""
    shape = _ACT_SHAPES.get(instrument.code)
    if shape is None:
        lines = {"type": "array", "minItems": 1, "maxItems": MAX_ACT_LINES,
                 "items": dict(instrument.line_shape or SCHOOL_LINE)}
        shape = _ACT_SHAPES[instrument.code] = {"type": "object", "required": ["lines"],
                                                "properties": {"lines": lines, "note": NOTE}}
    return shape


def decision_shape(decisions: list[str], comment: dict = COMMENT, **fields: dict) -> dict:
    """A decision step's data: one of ``decisions``, an optional comment, and ``fields`` as far as given."""
    return {"type": "object", "required": ["decision"],
            "properties": {"decision": {"type": "string", "enum": decisions}, "comment": comment, **fields}}
