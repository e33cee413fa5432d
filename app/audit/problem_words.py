"""An audit-chain problem in the reader's language.

The check (:mod:`app.audit.operations`, :mod:`app.audit.anchors`, ``flask verify-audit``) writes each problem as one
English sentence for the server's log and the command line, and a finished check keeps those sentences. A ru or kk
page read them in English. Each sentence's shape is matched here and said again in the reader's language, with the
same numbers; the English sentence stays on the page as the technical detail. A sentence of no known shape (an anchor
file's own read error) is said as "a problem this page cannot name" and keeps its English detail.
"""

from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext

_OBJECTS = {
    "act": lazy_gettext("Act"),
    "payment": lazy_gettext("Payment"),
    "contract": lazy_gettext("Contract"),
    "outside_settlement": lazy_gettext("Top-up settled outside the acts"),
}
_OBJ = r"(?P<object>act|payment|contract|outside_settlement) (?P<id>[0-9]+)"

#: The recorded facts of an act and of its payments (app/audit/facts.py) as an auditor reads them: the act's trail
#: and the check's "differs" sentence named them as stored (``amount_tiyn``, ``lines_sha256``).
FACT_NAMES = {
    "number": lazy_gettext("act's number"),
    "school_id": lazy_gettext("act's school"),
    "period": lazy_gettext("act's month"),
    "amount_tiyn": lazy_gettext("amount in tiyn"),
    "withheld_tiyn": lazy_gettext("amount withheld"),
    "total_lines": lazy_gettext("number of lines"),
    "accepted_lines": lazy_gettext("number of lines accepted"),
    "lines_sha256": lazy_gettext("the lines"),
    "adjustment_tiyn": lazy_gettext("adjustments' amount"),
    "adjustments_sha256": lazy_gettext("the adjustments"),
    "payee_iban": lazy_gettext("account (IBAN)"),
    "verified_capacity": lazy_gettext("design capacity verified against"),
    "capacity_pinned": lazy_gettext("design capacity kept with the act"),
    "act_id": lazy_gettext("act paid"),
    "order_number": lazy_gettext("payment order number"),
    "paid_on": lazy_gettext("payment date"),
    "returned_on": lazy_gettext("day the bank returned it"),
    "return_reason": lazy_gettext("reason of the return"),
    "return_reference": lazy_gettext("bank's reference of the return"),
}


def fact_name(name: str) -> str:
    """A recorded fact's name in the reader's language; a fact not listed is named as stored."""
    label = FACT_NAMES.get(name)
    return str(label) if label is not None else name

#: (the English sentence's shape, what the reader reads); the first that matches the whole sentence wins.
_SHAPES = [
    (r"gap: expected seq (?P<seq>[0-9]+)",
     lazy_gettext("An event is missing: event #%(seq)s was expected here.")),
    (r"prev_hash does not match the previous event",
     lazy_gettext("The event's link to the event before it does not match: an earlier event was changed or removed.")),
    (r"content does not match its hash \(tampered\)",
     lazy_gettext("The event's content does not match its hash: it was changed.")),
    (r"anchor (?P<number>\S+): unknown audit key id (?P<key>.+)",
     lazy_gettext("Anchor %(number)s is signed with an audit key this server does not know (%(key)s).")),
    (r"unknown audit key id (?P<key>.+)",
     lazy_gettext("The event is signed with an audit key this server does not know (%(key)s).")),
    (r"unkeyed \(sha256-legacy\) event after keyed events",
     lazy_gettext("An event without the audit key's signature comes after signed events.")),
    (r"sha256-legacy event carries facts it cannot cover",
     lazy_gettext("An event without the audit key's signature carries records it cannot vouch for.")),
    (r"sha256-legacy event written after keyed hashes began \(forged without the key\?\)",
     lazy_gettext("An event without the audit key's signature was written after signing began: it may have been "
                  "forged without the key.")),
    (r"sha256-legacy event that anchor (?P<number>\S+) does not hold .*",
     lazy_gettext("An event without the audit key's signature that anchor %(number)s does not hold.")),
    (_OBJ + r": (?P<name>\S+) differs from event (?P<chain>\S+)#(?P<seq>[0-9]+)",
     lazy_gettext("%(object)s %(id)s: its value “%(name)s” differs from what event %(chain)s #%(seq)s recorded.")),
    (_OBJ + r": no audit event vouches for its facts",
     lazy_gettext("%(object)s %(id)s: no audit event vouches for its record.")),
    (_OBJ + r": vouched for by the event but missing",
     lazy_gettext("%(object)s %(id)s: an event vouches for it, but the record is missing.")),
    (r"act (?P<id>[0-9]+): vouched for by the event as accepted, but no longer accepted or paid",
     lazy_gettext("Act %(id)s: an event records it as accepted, but it is no longer accepted or paid.")),
    (r"act (?P<id>[0-9]+): a payment pays it, but its status is '(?P<status>[^']*)', not paid",
     lazy_gettext("Act %(id)s: a payment pays it, but the act is not marked as paid (its status is “%(status)s”).")),
    (r"act (?P<id>[0-9]+): its status is 'paid', but no payment pays it .*",
     lazy_gettext("Act %(id)s: it is marked as paid, but no payment pays it (none registered, or the bank "
                  "returned it).")),
    (r"payment (?P<id>[0-9]+): sent to (?P<paid_to>.+), but act (?P<act>[0-9]+) was accepted to be paid to "
     r"(?P<accepted_to>.+)",
     lazy_gettext("Payment %(id)s was sent to %(paid_to)s, but act %(act)s was accepted to be paid to "
                  "%(accepted_to)s.")),
    (r"contract (?P<id>[0-9]+): its stored signed document's SHA-256 is .*",
     lazy_gettext("Contract %(id)s: its stored signed document is not the one its signatures record.")),
    (r"contract (?P<id>[0-9]+): signed before the documents were stored, and no layout gives .*",
     lazy_gettext("Contract %(id)s: signed before signed documents were stored, and its document cannot be "
                  "rebuilt (flagged for the operator).")),
    (r"chain deleted: anchor (?P<number>\S+) vouched for (?P<count>[0-9]+) event\(s\)",
     lazy_gettext("The chain was deleted: anchor %(number)s vouched for its events (%(count)s).")),
    (r"truncated: anchor (?P<number>\S+) vouched for events up to #(?P<upto>[0-9]+), the database ends at "
     r"#(?P<ends>[0-9]+)",
     lazy_gettext("The chain was cut short: anchor %(number)s vouched for events up to #%(upto)s, the database ends "
                  "at #%(ends)s.")),
    (r"event differs from anchor (?P<number>\S+) \(rewritten\)",
     lazy_gettext("The event differs from what anchor %(number)s holds: it was rewritten.")),
    (r"anchor (?P<number>\S+): signature does not verify",
     lazy_gettext("Anchor %(number)s: its signature does not verify.")),
    (r"anchor (?P<number>\S+): the previous anchor file was changed",
     lazy_gettext("Anchor %(number)s: the anchor file before it was changed.")),
    (r"anchor (?P<number>\S+): its link to the anchor before it is not checked: .*",
     lazy_gettext("Anchor %(number)s: its link to the anchor before it could not be checked.")),
    (r"anchor file\(s\) missing: (?P<files>.+)",
     lazy_gettext("Anchor files are missing: %(files)s.")),
    (r"anchor: .*",
     lazy_gettext("An anchor file cannot be read.")),
]
_COMPILED = [(re.compile(shape, re.S), words) for shape, words in _SHAPES]


def problem_in_words(reason: str) -> str:
    """The problem ``reason`` (the check's English sentence) in the reader's language."""
    for shape, words in _COMPILED:
        found = shape.fullmatch(reason or "")
        if found:
            values = found.groupdict()
            if "object" in values:
                values["object"] = str(_OBJECTS[values["object"]])
            if "name" in values:
                values["name"] = fact_name(values["name"])
            return str(words) % values
    return gettext("A problem this page cannot name in your language; the technical detail says it.")
