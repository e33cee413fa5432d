"""The business register as the monthly rule passes of every funding instrument read it: no record, no payment.

An organisation that an instrument funds must have a record in the state business register, and the record must
be active; an instrument may also require a main activity (the schools: education, OKED 85). What the register
says becomes one *standing* per BIN, which each instrument maps to its own organisation-level rule code and
reason (the schools' ``no_business_record`` / ``non_education_org``, the dormitories' ``dorm_no_business_record``
/ ``dorm_business_inactive``). Missing evidence excludes as failing evidence does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from sqlalchemy import select

from app.extensions import db
from app.registry.models import BusinessRecord

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


class Standing(StrEnum):
    MISSING = "missing"  # no record of the BIN at all
    INACTIVE = "inactive"  # liquidated or suspended
    OTHER_ACTIVITY = "other_activity"  # active, but its main activity is not the one the instrument funds


def business_records(bins: Iterable[str]) -> dict[str, BusinessRecord]:
    """The register's records of these BINs, in one statement per 900 BINs."""
    wanted = sorted(set(bins))
    found: dict[str, BusinessRecord] = {}
    for i in range(0, len(wanted), _CHUNK):
        found.update({r.bin: r for r in db.session.scalars(
            select(BusinessRecord).where(BusinessRecord.bin.in_(wanted[i : i + _CHUNK])))})
    return found


def standing(record: BusinessRecord | None, activity: str | None = None) -> Standing | None:
    """What keeps the organisation from being funded (None: nothing). ``activity``: the OKED prefix its main
    activity must have (None: any activity)."""
    if record is None:
        return Standing.MISSING
    if record.status != "active":
        return Standing.INACTIVE
    if activity is not None and not (record.oked or "").startswith(activity):
        return Standing.OTHER_ACTIVITY
    return None


def organisation_rules(bins: Iterable[str], rule_of: Mapping[Standing, str],
                       activity: str | None = None) -> dict[str, str]:
    """BIN → the instrument's organisation-level rule code, for the BINs the register does not let be funded."""
    records = business_records(bins)
    ruled = {}
    for bin_ in set(bins):
        found = standing(records.get(bin_), activity)
        if found is not None:
            ruled[bin_] = rule_of[found]
    return ruled
