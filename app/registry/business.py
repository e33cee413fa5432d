"""The business register as the monthly rule passes of every funding instrument read it: no record, no payment.

An organisation that an instrument funds must have a record in the state business register, and the record must
be active; an instrument may also require a main activity (the schools: education, OKED 85). What the register
says becomes one *standing* per BIN, which each instrument maps to its own organisation-level rule code and
reason (the schools' ``no_business_record`` / ``non_education_org``, the dormitories' ``dorm_no_business_record``
/ ``dorm_business_inactive``). Missing evidence excludes as failing evidence does.

A liquidation with its date (``BusinessRecord.liquidated_on``) is dated evidence: asked about a month, the register
lets the organisation be funded for the days before that date (the caller pays only those, as for a licence ending
inside the month) and not for a month that starts on or after it (:data:`Standing.LIQUIDATED`). Asked about no month
(an application's eligibility, an instrument that does not count days), a liquidated record is inactive, dated or not.

The date is read only while the record's status is "liquidated" (:func:`liquidation_day`): a record the register
reinstated is active, whatever date its row still holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum

from sqlalchemy import select

from app.extensions import db
from app.registry.models import BusinessRecord

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


class Standing(StrEnum):
    MISSING = "missing"  # no record of the BIN at all
    INACTIVE = "inactive"  # liquidated or suspended
    OTHER_ACTIVITY = "other_activity"  # active, but its main activity is not the one the instrument funds
    LIQUIDATED = "liquidated"  # liquidated on a date on or before the first day of the month asked about


def business_records(bins: Iterable[str]) -> dict[str, BusinessRecord]:
    """The register's records of these BINs, in one statement per 900 BINs."""
    wanted = sorted(set(bins))
    found: dict[str, BusinessRecord] = {}
    for i in range(0, len(wanted), _CHUNK):
        found.update({r.bin: r for r in db.session.scalars(
            select(BusinessRecord).where(BusinessRecord.bin.in_(wanted[i : i + _CHUNK])))})
    return found


def liquidation_day(record: BusinessRecord | None) -> date | None:
    """The day the register says the organisation was liquidated, while it says so (status "liquidated"); None for an
    active record. Every rule that pays the days before a liquidation reads it here, never ``liquidated_on`` itself.

    A register reinstates an organisation (a liquidation annulled, a record corrected) by listing it "active" again,
    and its usual export has no ``liquidated_on`` column: the import then keeps the column it was not given
    (app.registry.importers.upsert), and the row said "active" with the old date. Read as a liquidation, the school's
    every month from that date on was ``liquidated`` (42,300.00 ₸ a month for a pupil of the basic level lost) and the
    days from it of a month already paid were clawed back (21,832.26 ₸ of October's 42,300.00 ₸ for a liquidation on
    the 16th)."""
    if record is None or record.status != "liquidated":
        return None
    return record.liquidated_on


def standing(record: BusinessRecord | None, activity: str | None = None,
             month_start: date | None = None) -> Standing | None:
    """What keeps the organisation from being funded (None: nothing). ``activity``: the OKED prefix its main
    activity must have (None: any activity). ``month_start``: the month asked about — a record liquidated on a known
    date is judged by it (see the module's docstring); None: by its status alone."""
    if record is None:
        return Standing.MISSING
    liquidated = liquidation_day(record)
    if liquidated is not None and month_start is not None:
        if liquidated <= month_start:
            return Standing.LIQUIDATED
    elif record.status != "active":
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
