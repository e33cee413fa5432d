"""No page, download or API answer shows a child's IIN to whom may not see personal data, wherever people wrote it.

The process owner and the administrator read acts with the children's IINs masked, and anyone reads the public portal
and its open data; the earlier tests (tests/security/test_iins_in_what_people_write.py,
tests/security/test_published_free_text.py) each mended one place a sentence carried an IIN past the mask. This one
writes a child's IIN into every free text the world has — a case comment, a return comment, a case file's name, an
act's note, an amendment's reason, an incident's message, a rejected cell of a registry file — and then walks every
route these three readers can reach (``app.url_map``, each URL argument filled with the records the IINs were written
on, and with one record of every other owner), the downloads in each of their formats too, and looks for any child's
IIN in the answer (``iins_in_text``: whole, in groups, full-width; an organisation's BIN is no IIN). The server's log
lines of the whole walk are read too: operations staff read them.
"""

from __future__ import annotations

import io
import logging
import zipfile

import pytest
from sqlalchemy import select, update

from app import clock
from app.acts.models import Act, ActLine, ActLineReview
from app.audit.models import AuditCheck
from app.contracts.models import ContractAmendment
from app.engine.incidents import record_incident
from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.runtime import complete_task
from app.extensions import db
from app.notifications.announce import announce_new_tasks
from app.people.models import Organisation, Region, User
from app.public import downloads
from app.registry.identifiers import iins_in_text
from app.registry.models import NedbEnrollment, RegistryImport
from app.reports.models import VerificationRun
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user
from tests.security.test_authorisation_sweep import _others_records, _personal_records, _scoped_records, _url

READERS = ("owner", "admin", None)


def _grouped(iin: str) -> str:
    return f"{iin[:4]} {iin[4:8]} {iin[8:]}"


def _full_width(iin: str) -> str:
    return "".join(chr(ord(ch) - ord("0") + ord("０")) for ch in iin)


def _iins_written_everywhere(app) -> dict[str, str]:
    """A child's IIN in every free text of the world; returns where → the IIN written there."""
    from tests.lifecycle.test_contract_amendments import form, samruk

    written = {}
    act = act_of_school("Alatau Lyceum")
    lines = sorted(act.lines, key=lambda li: li.id)
    task = open_task(act, "accept_act")
    official = Browser(app, "official_almaty")
    written["case comment"] = lines[0].iin
    assert official.post(f"/tasks/{task.id}/comments",
                         {"body": f"The pupil {lines[0].iin} studies elsewhere."}).status_code == 302
    written["case file's name"] = lines[1].iin
    assert official.post(f"/tasks/{task.id}/attachments", {
        "file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 100), f"withdrawal {lines[1].iin}.pdf")},
        content_type="multipart/form-data").status_code == 302
    written["act's note"] = lines[2].iin
    db.session.execute(update(Act).where(Act.id == act.id).values(note=f"{_grouped(lines[2].iin)} joined late."))
    written["line's review comment"] = lines[3].iin
    db.session.add(ActLineReview(act_id=act.id, line_id=lines[3].id, codes="name", decision="confirm",
                                 comment=f"Seen {_full_width(lines[3].iin)} on the paper register",
                                 decided_by_id=user("official_almaty").id, decided_at=clock.now()))
    written["incident"] = lines[4].iin
    record_incident(act.instance_id, RuntimeError(f"NEDB refused the pupil {lines[4].iin}"), element_id="verify")
    db.session.commit()

    from app.acts.operations import prefill_lines

    enrolled = list(dict.fromkeys(db.session.scalars(select(NedbEnrollment.iin).order_by(NedbEnrollment.id))))
    other = act_of_school("Bilim Innovation School")
    written["submitted form's note"] = enrolled[-5]
    complete_task(open_task(other, "submit_act").id, user("accountant"),
                  data={"lines": prefill_lines(other), "note": f"{enrolled[-5]} left on the 3rd."})
    db.session.commit()
    written["return comment"] = enrolled[-4]
    complete_task(open_task(other, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": f"Line 1: {enrolled[-4]} is withdrawn."})
    db.session.commit()
    announce_new_tasks()  # the school is e-mailed the comment
    db.session.commit()

    contract = samruk()
    assert Browser(app, "official_shymkent").post(f"/contracts/{contract.id}/amend",
                                                   form(contract)).status_code == 303
    written["amendment's reason"] = enrolled[-1]
    # a reason stored before amendments refused one with an IIN (tests/security/test_published_free_text.py)
    db.session.execute(update(ContractAmendment).values(rationale=f"The pupil {enrolled[-1]} moved away."))
    db.session.commit()

    # the bank returns the payment of Samruk's October act, and the operator writes why
    from app.payments.models import Payment
    from app.payments.returns import record_return
    from tests.helpers import submitted_and_accepted

    paid = db.session.scalars(select(Act).where(Act.number == "ACT-190643003326-202610")).one()
    submitted_and_accepted(paid, "accountant4", "official_shymkent")
    complete_task(open_task(paid, "pay_act").id, user("operator"),
                  form={"order_number": "PP-SAMRUK-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    written["payment's return note"] = enrolled[-8]
    record_return(db.session.get(Act, paid.id), db.session.scalars(select(Payment).where(Payment.act_id == paid.id))
                  .one(), clock.today(), "other", "BANK-SAM-1", f"The bank names the pupil {enrolled[-8]}",
                  user("operator"))
    db.session.commit()

    # the department's comment on the school's application
    from app.applications.models import Application

    written["application's review comment"] = enrolled[-9]
    db.session.execute(update(Application).values(review_comment=f"Counted {enrolled[-9]} twice; places cut by one."))
    db.session.commit()

    # the administrator imports a children's register with a row the importer rejects: the grade cell holds an IIN
    written["rejected cell"] = enrolled[-2]
    school_bin = db.session.scalar(select(Organisation.bin).where(Organisation.kind == "school"))
    body = ("iin,full_name,school_bin,grade,enrolled_on,withdrawn_on\n"
            f"{enrolled[-3]},Student,{school_bin},{enrolled[-2]},2026-09-01,\n")
    imported = Browser(app, "admin").post("/registry/imports", {
        "kind": "nedb", "file": (io.BytesIO(body.encode()), "nedb.csv")}, content_type="multipart/form-data")
    assert imported.status_code == 303
    # a job that failed says the database driver's first line, which quotes the value it could not take
    written["failed job's detail"] = enrolled[-6]
    written["registry file's name"] = enrolled[-7]
    said = f'database_error:invalid input syntax for type integer: "{enrolled[-6]}"'
    now, admin = clock.now(), user("admin")
    db.session.add_all([
        RegistryImport(kind="nedb", filename=f"nedb {enrolled[-7]}.csv", status="failed", message=said,
                       created_at=now, created_by_id=admin.id, finished_at=now),
        VerificationRun(period=act.period, status="failed", message=said, created_at=now, finished_at=now),
        AuditCheck(status="failed", message=said, created_at=now, created_by_id=admin.id, finished_at=now)])
    db.session.commit()
    return written


def _text_of(response) -> str:
    body = response.get_data()
    if body[:2] == b"PK":  # an XLSX: its cells are in the XML parts
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return body.decode("utf-8", "replace")


def _values_of_every_argument(written_on: dict) -> dict[str, list[dict]]:
    """URL argument → the values to ask with: the records the IINs were written on first, then one of each owner."""
    values = {kind: [v for v, *_ in rows] for kind, rows in _scoped_records().items()}
    values.update({kind: [v for v, _ in rows] for kind, rows in _personal_records().items()})
    for kind, mine in written_on.items():
        values[kind] = [*mine, *values.get(kind, [])]
    versions = db.session.scalars(select(ProcessModelVersion.id)).all()
    values.update({
        "version_id": [{"version_id": v} for v in versions],
        "model_id": [{"model_id": m} for m in db.session.scalars(select(ProcessModel.id))],
        "region_id": [{"region_id": r} for r in db.session.scalars(select(Region.id).limit(3))],
        "org_id": [{"org_id": o} for o in db.session.scalars(select(Organisation.id))],
        "user_id": [{"user_id": u} for u in db.session.scalars(select(User.id))],
        "import_id": [{"import_id": i} for i in db.session.scalars(select(RegistryImport.id))],
        "run_id": [{"run_id": r} for r in db.session.scalars(select(VerificationRun.id))],
        "school_bin": [{"school_bin": b} for b in db.session.scalars(
            select(Organisation.bin).where(Organisation.kind == "school"))],
        "dataset": [{"dataset": d, "fmt": f} for d in downloads.COLUMNS for f in downloads.MIMETYPES],
    })
    return values


def _urls(app, values: dict[str, list[dict]]) -> list[str]:
    skipped = {"static", "vendor.asset", "modeler.file", "api_docs.favicon"}
    urls = ["/notifications/outbox?all=1"]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in skipped:
            continue
        args = set(rule.arguments)
        if not args:
            urls.append(rule.rule)
            continue
        formats = ["csv", "xlsx"] if "fmt" in args and "dataset" not in args else [None]
        kind = next((name for name in ("dataset", "line_id", "payment_id", "settlement_id", "act_id", "contract_id",
                                       "application_id", "order_id", "instance_id", "task_id", "attachment_id",
                                       "school_id", "note_id", "filter_id", "token_id", "sub_id", "version_id",
                                       "model_id", "region_id", "org_id", "user_id", "import_id", "run_id",
                                       "school_bin") if name in args), None)
        if kind is None and args <= {"fmt"}:
            urls.extend(_url(rule, {"fmt": f}) for f in formats)
            continue
        if kind is None:
            if args == {"start_year", "end_year"}:
                from app.public import figures

                urls.extend(_url(rule, {"start_year": y[:4], "end_year": y[5:]}) for y in figures.years())
            continue
        for record in values.get(kind, []):
            for fmt in formats:
                urls.append(_url(rule, {**record, **({"fmt": fmt} if fmt else {})}))
    return urls


def _childs_iins() -> set[str]:
    return set(db.session.scalars(select(NedbEnrollment.iin))) | set(db.session.scalars(select(ActLine.iin)))


def _children_in(text: str, children: set[str]) -> set[str]:
    found = set()
    for start, end in iins_in_text(text):
        digits = "".join(str(int(ch)) for ch in text[start:end] if ch.isdigit())
        if digits in children:
            found.add(digits)
    return found


@pytest.mark.parametrize("reader", READERS)
def test_no_childs_iin_written_anywhere_reaches_the_owner_the_administrator_or_anyone(world, app, reader, caplog):
    caplog.set_level(logging.INFO)
    _others_records()
    written = _iins_written_everywhere(app)
    act = act_of_school("Alatau Lyceum")
    other = act_of_school("Bilim Innovation School")
    paid = db.session.scalars(select(Act).where(Act.number == "ACT-190643003326-202610")).one()
    task = open_task(act, "accept_act")
    from app.inbox.models import TaskAttachment

    written_on = {
        "act_id": [{"act_id": act.id}, {"act_id": other.id}, {"act_id": paid.id}],
        "instance_id": [{"instance_id": act.instance_id}, {"instance_id": other.instance_id},
                        {"instance_id": paid.instance_id}],
        "task_id": [{"task_id": task.id}, {"task_id": open_task(other, "submit_act").id}],
        "attachment_id": [{"attachment_id": a} for a in db.session.scalars(select(TaskAttachment.id))],
        "contract_id": [{"contract_id": c} for c in db.session.scalars(
            select(ContractAmendment.contract_id).distinct())],
    }
    children = _childs_iins()
    assert set(written.values()) <= children
    client = Browser(app, reader)
    leaks, asked = [], 0
    for url in _urls(app, _values_of_every_argument(written_on)):
        response = client.get(url)
        asked += 1
        # readiness answers 503 while what it checks is not ready (another test of this worker may have left the
        # background pass's heartbeat old): an answer, not a failure; its body is read for IINs all the same
        assert response.status_code < 500 or (url == "/readyz" and response.status_code == 503), url
        found = _children_in(_text_of(response), children)
        if found:
            where = sorted(place for place, iin in written.items() if iin in found)
            leaks.append((url, where or sorted(found)))
    assert asked > 100
    assert leaks == [], "\n".join(f"{url}: {where}" for url, where in leaks)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert _children_in(logged, children) == set(), "a child's IIN in the server's log lines"


def test_a_failed_re_verification_after_an_import_logs_the_errors_kind_not_its_words(world, caplog, monkeypatch):
    """The log line of a chunk of acts that failed to be verified again after a registry import wrote the error's
    repr: "invalid literal for int() with base 10: '<a child's IIN>'" reached whoever reads the server's logs. It
    says the error's kind, as the month-wide pass's line beside it does (app.engine.incidents.log_words)."""
    from types import SimpleNamespace

    from app.reports import operations as report_operations

    act = act_of_school("Alatau Lyceum")
    iin = sorted(act.lines, key=lambda li: li.id)[0].iin
    real, calls = report_operations._verify_chunk, []

    def poisoned(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ValueError(f"invalid literal for int() with base 10: '{iin}'")
        return real(*args, **kwargs)

    monkeypatch.setattr(report_operations, "_verify_chunk", poisoned)
    caplog.set_level(logging.INFO)
    report_operations.reverify_after_import(SimpleNamespace(id=1, created_by_id=None), [act.id], renew=None)
    said = [record.getMessage() for record in caplog.records if "re-verifying a chunk failed" in record.getMessage()]
    assert len(said) == 1 and "ValueError" in said[0]
    assert iin not in "\n".join(record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("logger", ["werkzeug", "gunicorn.access"])
def test_the_web_servers_line_of_a_registry_look_up_masks_the_childs_iin(app, caplog, logger):
    """An official looks a child up (GET /registry/lookup?q=<IIN>); the web server writes a line per request with the
    URL, and the child's IIN was in the log operations staff read. The line is kept, the IIN masked."""
    iin = "791028302728"  # DESIGN §2's valid example; its BIN example 950440001673 stays
    caplog.set_level(logging.INFO, logger=logger)
    logging.getLogger(logger).info('%s - - [%s] "%s" %s -', "127.0.0.1", "05/Dec/2026 18:00:00",
                                   f"GET /registry/lookup?q={_grouped(iin).replace(' ', '+')}&bin=950440001673 "
                                   "HTTP/1.1", 200)
    said = [record.getMessage() for record in caplog.records if record.name == logger]
    assert said == ['127.0.0.1 - - [05/Dec/2026 18:00:00] "GET /registry/lookup?q=••••••••2728&bin=950440001673 '
                    'HTTP/1.1" 200 -']


@pytest.mark.parametrize(("username", "action"), [("owner", "retry"), ("admin", "trigger-timer")])
def test_a_cockpit_action_whose_step_fails_says_its_words_with_the_childs_iin_masked(world, app, monkeypatch, username,
                                                                                       action):
    """The cockpit says why a retried step failed again (the incident's message) or why a step run by a fired timer
    failed (its error's words): a script's "invalid literal for int(): '<a child's IIN>'" reached the process owner
    and the administrator in that message, in full, while the instance page beside it masked it."""
    from app.engine.errors import StepFailed
    from app.processes import operations as ops

    act = act_of_school("Alatau Lyceum")
    iin = sorted(act.lines, key=lambda li: li.id)[0].iin
    words = f"Script failed: invalid literal for int() with base 10: '{iin}'"
    record_incident(act.instance_id, RuntimeError(words), element_id="verify")
    db.session.commit()
    monkeypatch.setattr(ops, "retry", lambda *args, **kwargs: False)  # the step failed again; the incident stays

    def fails(*args, **kwargs):
        raise StepFailed(words)

    monkeypatch.setattr(ops, "trigger_timer", fails)
    person = Browser(app, username)
    answer = person.post(f"/instances/{act.instance_id}/{action}", {"confirm": "yes", "reason": "Registry is back",
                                                                    "element": "sla"})
    assert answer.status_code == 302
    page = person.get(f"/instances/{act.instance_id}").get_data(as_text=True)
    assert f"••••••••{iin[-4:]}" in page and iin not in page
