"""The dormitory-places rules: each has a code (stored on the act line) and a reason shown in kk/ru/en.

Ordered by precedence, as the schools' ``app.acts.rules.RULES``: a line excluded by several rules carries the first
one's code; dormitory-level rules (the dormitory itself may not be funded this month) come first and exclude every
line. Every outcome is a function of the act's own lines, the registries, the contract's terms and the other
dormitories' claims on the same student — never of which act was verified first (``two_dormitories`` excludes the
line on both acts).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.acts.rules import RULES as SCHOOL_RULES
from app.acts.rules import Rule

DORM_RULES: dict[str, Rule] = {r.code: r for r in (
    # No record, no payment, as for schools: a dormitory the business register does not know is not funded.
    Rule("dorm_no_business_record", _l("Not in the business register"),
         _l("The dormitory's BIN has no record in the state business register: no record, no payment."),
         school_level=True),
    Rule("dorm_business_inactive", _l("Not active in the business register"),
         _l("In the business register the dormitory's BIN is liquidated or suspended."), school_level=True),
    Rule("dorm_liquidated", _l("Dormitory liquidated"),
         _l("In the business register the dormitory's BIN was liquidated before this month began (or on its first "
            "day), or before the place was occupied. A dormitory liquidated within the month is paid only the days "
            "before its liquidation."), school_level=True),
    Rule("dorm_no_documents", _l("No commissioning or ownership document"),
         _l("The dormitory registry has no commissioning act or no ownership (or lease) document of this dormitory."),
         school_level=True),
    Rule("dorm_documents_expired", _l("Dormitory documents not valid"),
         _l("The dormitory's commissioning and ownership documents are not both valid on any day of this month. "
            "Documents that start or end within the month pay only the days they cover."), school_level=True),
    SCHOOL_RULES["iin_checksum"],
    Rule("dorm_duplicate_line", _l("Student listed twice"),
         _l("The same student appears more than once in this act; only one line counts — the one no other check "
            "excludes (the first of them if several pass), whatever its place in the act.")),
    Rule("student_not_found", _l("Not in the student registry"),
         _l("No student with this IIN is registered at any college or university in the student registry.")),
    Rule("not_enrolled", _l("Not enrolled at the institution"),
         _l("In the student registry the student is not enrolled at the named college or university on any day "
            "the place was occupied this month.")),
    Rule("not_full_time", _l("Not a full-time student"),
         _l("The student studies part-time or by distance learning; only full-time students are placed under "
            "the order.")),
    Rule("local_resident", _l("Local resident"),
         _l("The student's registered address is in the dormitory's region, and the order excludes local "
            "residents.")),
    Rule("bed_unknown", _l("Bed not in the dormitory"),
         _l("The room and bed are not in the contracted dormitory's list of beds.")),
    Rule("two_dormitories", _l("Placed in two dormitories"),
         _l("Another dormitory's act places the same student on the same days; neither place is paid until the "
            "registries or the acts are corrected.")),
    Rule("bed_shared", _l("Bed occupied twice"),
         _l("Another line of this act places a student on the same bed on the same days; the earlier move-in "
            "keeps the bed.")),
    Rule("dorm_over_capacity", _l("Over contracted places"),
         _l("The act lists more occupied places than the contract's places; the most recent move-ins are not "
            "paid.")),
)}

DORM_LEVEL_RULES = tuple(code for code, r in DORM_RULES.items() if r.school_level)
