"""The HTTP adapter speaks JSON to an NEDB service; here a stand-in server on 127.0.0.1 plays the service."""

from __future__ import annotations

import json
import threading
import unicodedata
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from app.acts.verification import verify_act
from app.extensions import db
from app.registry.adapter import TableStudentRegistry, student_registry
from app.registry.http import HttpStudentRegistry, RegistryUnavailable
from tests.registry.conftest import bad_iin, iin


def digits_of(identifier) -> str:
    """The digits an identifier of the stand-in's rows stands for, however a row writes them (grouped, in another
    script): the service finds a child by the IIN it was asked for, and answers with the IIN as it keeps it."""
    if isinstance(identifier, int):
        return f"{identifier:012d}"
    return "".join(str(unicodedata.digit(ch)) for ch in str(identifier) if ch.isdigit())


class StandIn:
    """A tiny NEDB service: serves the rows it was given, records the requests it got."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.requests: list[tuple[str, str, object]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, payload) -> None:
                body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append(("POST", self.path, data))
                if self.path == "/api/enrollments/search":
                    wanted = set(data["iins"])
                    return self._send(200, {"enrollments": [r for r in stand_in.rows if digits_of(r["iin"]) in wanted]})
                return self._send(404, {"error": "no such endpoint"})

            def do_GET(self):
                url = urlparse(self.path)
                stand_in.requests.append(("GET", url.path, parse_qs(url.query)))
                if url.path.startswith("/api/schools/") and url.path.endswith("/enrollments"):
                    bin_ = url.path.split("/")[3]
                    return self._send(200, {"enrollments": [r for r in stand_in.rows if r["school_bin"] == bin_]})
                if url.path == "/api/broken":
                    return self._send(200, b"<html>not json")
                return self._send(404, {"error": "no such endpoint"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def row(student: str, school_bin: str, grade=5, enrolled="2026-09-01", withdrawn=None, kind="private") -> dict:
    return {"iin": student, "full_name": f"Student {student}", "school_bin": school_bin, "school_kind": kind,
            "grade": grade, "enrolled_on": enrolled, "withdrawn_on": withdrawn}


def test_adapter_returns_the_same_enrolments_as_the_table(country):
    school = country.school()
    country.enrol(iin(1), school.bin)
    country.enrol(iin(2), school.bin, withdrawn=date(2026, 10, 1))
    with StandIn([row(iin(1), school.bin), row(iin(2), school.bin, withdrawn="2026-10-01")]) as service:
        http = HttpStudentRegistry(service.url, batch_size=1)
        table = TableStudentRegistry()
        assert http.enrollments_for([iin(1), iin(2), iin(3)]) == table.enrollments_for([iin(1), iin(2), iin(3)])
        # batch_size=1: one request per IIN, never more IINs per request than allowed
        assert [len(r[2]["iins"]) for r in service.requests] == [1, 1, 1]
        start, end = date(2026, 10, 1), date(2026, 10, 31)
        assert http.enrollments_at_school(school.bin, start, end) == table.enrollments_at_school(school.bin, start, end)
        assert service.requests[-1][2] == {"from": ["2026-10-01"], "to": ["2026-10-31"]}


def test_verification_through_the_http_adapter_matches_the_table(country, app_ctx):
    school, other = country.school(), country.school()
    rows = [row(iin(1), school.bin), row(iin(2), other.bin), row(iin(3), school.bin, withdrawn="2026-09-20"),
            row(iin(4), school.bin, grade=3)]
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 5), (iin(4), 7), (iin(5), 5), (bad_iin(6), 5)])
    with StandIn(rows) as service:
        app_ctx.config["NEDB_API_URL"] = service.url
        try:
            registry = student_registry()
            assert isinstance(registry, HttpStudentRegistry)
            verify_act(act, registry)
        finally:
            app_ctx.config.pop("NEDB_API_URL")
    db.session.expire_all()
    assert [ln.rule_code for ln in sorted(act.lines, key=lambda ln: ln.line_no)] == [
        None, "other_school", "withdrawn", "grade_mismatch", "not_in_nedb", "iin_checksum"]
    asked = {i for method, path, data in service.requests if method == "POST" for i in data["iins"]}
    assert asked == {iin(n) for n in range(1, 6)}, "only the act's valid IINs are sent to the service"


def _calls(outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("tapsyrys_registry_calls_total", {"registry": "nedb", "outcome": outcome}) or 0


def test_service_errors_become_a_clear_registry_error_and_are_counted(app_ctx):
    """The service being down was only logged: nothing on the dashboard said the schools' submissions failed."""
    before = {o: _calls(o) for o in ("ok", "unavailable", "malformed")}
    with StandIn([{"iin": iin(1), "school_bin": "x", "grade": "not a grade", "enrolled_on": "2026-09-01"}]) as service:
        with pytest.raises(RegistryUnavailable):
            HttpStudentRegistry(service.url)._call("/broken")
        with pytest.raises(RegistryUnavailable):
            HttpStudentRegistry(service.url)._call("/missing")
        with pytest.raises(RegistryUnavailable, match="malformed enrolment"):
            HttpStudentRegistry(service.url).enrollments_for([iin(1)])
    with pytest.raises(RegistryUnavailable):
        HttpStudentRegistry("http://127.0.0.1:9/api", timeout=2).enrollments_for([iin(1)])
    after = {o: _calls(o) for o in before}
    assert after["unavailable"] - before["unavailable"] == 2, "the 404 and the refused connection"
    assert after["malformed"] - before["malformed"] == 2, "the page that is not JSON and the bad enrolment"
    assert after["ok"] - before["ok"] == 1


@pytest.mark.parametrize("answer", [{"enrollments": None}, {"enrollments": "x"}, {"enrollments": [None]}])
def test_an_answer_of_the_wrong_shape_is_a_registry_error(app_ctx, answer):
    """``{"enrollments": null}`` was a TypeError out of the adapter (a 500), not the registry's error."""
    registry = HttpStudentRegistry("http://127.0.0.1:9/api")
    registry._call = lambda path, payload=None: answer
    with pytest.raises(RegistryUnavailable):
        registry.enrollments_for([iin(1)])
    with pytest.raises(RegistryUnavailable):
        registry.enrollments_at_school("123456789012", date(2026, 9, 1), date(2026, 9, 30))


def test_the_registry_service_down_is_said_plainly_on_the_task_page_and_on_submit(world, browser):
    """NEDB's service down: opening the act's task was a 500, and submitting it said "<urlopen error [Errno 111]
    Connection refused>"."""
    from app.acts.operations import prefill_lines
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    lines = prefill_lines(act)  # read while the table registry answers
    accountant = browser("accountant")
    world_app = accountant.client.application
    world_app.config["NEDB_API_URL"] = "http://127.0.0.1:9/api"  # nobody listens there
    try:
        page = accountant.get(f"/tasks/{task.id}")
        assert page.status_code == 503 and "cannot be reached just now" in page.get_data(as_text=True)
        form = {"note": "", **{f"lines.{i}.{k}": str(v) for i, line in enumerate(lines) for k, v in line.items()}}
        answer = accountant.post(f"/tasks/{task.id}", form)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 503 and "cannot be reached just now" in text and "Errno" not in text
    finally:
        world_app.config.pop("NEDB_API_URL")
    assert open_task(act, "submit_act").id == task.id, "nothing was saved: the step still waits"
