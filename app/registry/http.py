"""HTTP adapter for a live NEDB service: the same interface as :class:`TableStudentRegistry`.

Protocol (JSON over HTTP, configured by ``NEDB_API_URL``):

* ``POST {base}/enrollments/search`` with ``{"iins": [...]}`` (at most ``batch_size`` per call) →
  ``{"enrollments": [{"iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on",
  "withdrawn_on"}, ...]}`` — every enrolment of those students;
* ``GET {base}/schools/{bin}/enrollments?from=YYYY-MM-DD&to=YYYY-MM-DD`` → the same shape, the
  enrolments at that school active on at least one day of the range.

Dates are ISO strings, ``withdrawn_on`` may be null. Uses only the standard library. Every call is counted in
``tapsyrys_registry_calls_total`` by outcome, so the service being down shows on the operations dashboard and can
raise an alert before the schools' calls do.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from app.engine.errors import Said
from app.i18n import N_
from app.observability import REGISTRY_CALLS
from app.registry.adapter import Enrollment
from app.registry.cells import UnreadableIdentifier, identifier_of, whole_number_of
from app.user_input import calendar_date


class RegistryUnavailable(Said, RuntimeError):
    """The registry service did not answer or answered something we cannot use. ``str()`` is the technical
    sentence (logs); kept on an incident (a verification in a background pass), it is read in its reader's
    language with the technical sentence as its detail — it was that English sentence alone for every reader."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.msgid = N_("The national registry (NEDB) could not be used (%(detail)s). Retry the step once it "
                        "answers.")
        self.values = {"detail": detail}


def _identifier(value) -> str:
    """An IIN or a BIN as the service sent it, read as a registry file's cell is (:func:`cells.identifier_of`): a JSON
    number (a serialiser that took the identifier for one) has the leading zeros it lost — a child born in 2000–2009
    ("09…"), a BIN that starts with 0 —, a text loses what groups its digits ("150101 600107", a non-breaking space).
    Read as ``str()``, the number's child was dropped as an invalid IIN ("not in NEDB") and its school's pupils were
    another school's: legitimate children withheld. What no twelve digits can be read from (a fraction, a negative
    number, a boolean, digits of another script, 1.50101E+11) makes the answer malformed."""
    try:
        return identifier_of(value)
    except UnreadableIdentifier as unreadable:
        raise ValueError(f"an identifier {str(value)[:40]!r}: {unreadable.code}") from None


def _day(value) -> date:
    """A date as the protocol writes it (ISO, ASCII digits: app/user_input.py)."""
    day = calendar_date(value)
    if day is None:
        raise ValueError(f"a date {str(value)[:40]!r} is not YYYY-MM-DD")
    return day


def _grade(value) -> int:
    grade = whole_number_of(value, max_digits=2)
    if grade is None:
        raise ValueError(f"a grade {str(value)[:40]!r} is not a whole number")
    return grade


class HttpStudentRegistry:
    def __init__(self, base_url: str, timeout: float = 30.0, batch_size: int = 5000):
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError("NEDB_API_URL must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.batch_size = batch_size

    def _call(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method="POST" if data else "GET",  # noqa: S310
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                answer = json.loads(response.read().decode("utf-8"))
        except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, resets are OSErrors
            REGISTRY_CALLS.labels("nedb", "unavailable").inc()
            raise RegistryUnavailable(f"NEDB service error at {path}: {err}") from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            REGISTRY_CALLS.labels("nedb", "malformed").inc()
            raise RegistryUnavailable(f"NEDB service error at {path}: {err}") from err
        if not isinstance(answer, dict):
            REGISTRY_CALLS.labels("nedb", "malformed").inc()
            raise RegistryUnavailable(f"NEDB service error at {path}: the answer is not a JSON object")
        REGISTRY_CALLS.labels("nedb", "ok").inc()
        return answer

    @staticmethod
    def _enrollment(row: dict) -> Enrollment:
        try:
            return Enrollment(
                iin=_identifier(row["iin"]), full_name=str(row.get("full_name", "")),
                school_bin=_identifier(row["school_bin"]),
                school_kind=str(row.get("school_kind", "private")), grade=_grade(row["grade"]),
                enrolled_on=_day(row["enrolled_on"]),
                withdrawn_on=_day(row["withdrawn_on"]) if row.get("withdrawn_on") else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            REGISTRY_CALLS.labels("nedb", "malformed").inc()
            raise RegistryUnavailable(f"NEDB service sent a malformed enrolment: {err}") from err

    @staticmethod
    def _rows(answer: dict) -> list:
        rows = answer.get("enrollments", [])
        if not isinstance(rows, list):
            REGISTRY_CALLS.labels("nedb", "malformed").inc()
            raise RegistryUnavailable("NEDB service sent enrolments that are not a list")
        return rows

    def enrollments_for(self, iins: Iterable[str]) -> dict[str, list[Enrollment]]:
        wanted = sorted(set(iins))
        found: dict[str, list[Enrollment]] = defaultdict(list)
        for i in range(0, len(wanted), self.batch_size):
            answer = self._call("/enrollments/search", {"iins": wanted[i : i + self.batch_size]})
            for row in self._rows(answer):
                e = self._enrollment(row)
                found[e.iin].append(e)
        return found

    def enrollments_at_school(self, school_bin: str, start: date, end: date) -> list[Enrollment]:
        query = urllib.parse.urlencode({"from": start.isoformat(), "to": end.isoformat()})
        answer = self._call(f"/schools/{urllib.parse.quote(school_bin)}/enrollments?{query}")
        rows = [self._enrollment(r) for r in self._rows(answer)]
        return sorted((e for e in rows if e.active_during(start, end)), key=lambda e: e.full_name)
