"""What you see is what you sign: every way of signing a contract (its page, the inbox task, the contract API, the
task API) sends the SHA-256 of the printable contract the signer was shown, and the signature signs exactly those
bytes or nothing. A template or the contract's data changed between the reading and the click gives other bytes: the
director's first signature was made on the rendering of the moment of the click, which nobody had read."""

from __future__ import annotations

import re

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractDocument, ContractSignature
from app.extensions import db
from tests.helpers import school
from tests.lifecycle.flow import allocate, apply, open_task_of, place_order, shown_sha256, sign


@pytest.fixture()
def change_the_layout(app_ctx, monkeypatch):
    """Call it to edit the current layout's wrapper (a new footer), as a deployment would between two requests."""
    env = app_ctx.jinja_env

    def change() -> None:
        wrapper = env.loader.get_source(env, "contracts/document_v2.html")[0]
        edited = wrapper.replace("</body>", "<footer>Tapsyrys 2.0</footer></body>")
        monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader({"contracts/document_v2.html": edited}),
                                                         env.loader]))
        if env.cache is not None:
            env.cache.clear()

    yield change
    if env.cache is not None:
        env.cache.clear()  # the edited template leaves with the fixture


def awaiting_director(browser) -> Contract:
    official = browser("official")
    return allocate(official, apply(browser("accountant"), place_order(official), school("Bilim Innovation School"),
                                    "KZ15LAA00001234"))


def written(contract: Contract) -> tuple[int, int, int]:
    """The contract's signatures and stored documents, and the audit events of its process."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ContractSignature.id)).where(ContractSignature.contract_id ==
                                                                              contract.id)),
            db.session.scalar(select(func.count(ContractDocument.id)).where(ContractDocument.contract_id ==
                                                                             contract.id)),
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.chain ==
                                                                       f"instance:{contract.instance_id}")))


def test_a_template_changed_between_reading_and_signing_refuses_the_directors_signature(frozen, browser,
                                                                                        change_the_layout):
    contract = awaiting_director(browser)
    director = browser("director")
    page = director.get(f"/contracts/{contract.id}").get_data(as_text=True)
    read = re.search(r'name="document_sha256" value="([0-9a-f]{64})"', page).group(1)
    assert read == shown_sha256(director, contract), "the form sends the SHA-256 the page shows"
    assert f"/contracts/{contract.id}/document?sha256={read}" in page, "the link opens that document"
    before = written(contract)

    change_the_layout()
    refused = director.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "pw",
                                                               "document_sha256": read}, follow_redirects=True)
    text = refused.get_data(as_text=True)
    assert "is not the one you were shown" in text and read in text and "Nothing was signed" in text
    assert written(contract) == before, "nothing signed, nothing stored, nothing audited"
    assert db.session.get(Contract, contract.id).status == "awaiting_director"
    # the link of the page read before the change does not show the new document as the one to sign
    stale = director.get(f"/contracts/{contract.id}/document?sha256={read}")
    assert stale.status_code == 409 and "not the document the signing page showed" in stale.get_data(as_text=True)

    now = shown_sha256(director, contract)
    assert now != read
    assert sign(director, contract).status_code == 303
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "awaiting_head"
    stored = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert [s.document_sha256 for s in contract.signatures] == [now] and stored.sha256 == now
    assert b"Tapsyrys 2.0" in stored.content, "the bytes stored are the ones the director read"


def test_the_inbox_task_sends_what_its_panel_showed(frozen, browser, change_the_layout):
    contract = awaiting_director(browser)
    director = browser("director")
    task = open_task_of(contract.instance_id, "sign_director")
    page = director.get(f"/tasks/{task.id}").get_data(as_text=True)
    panel = re.search(r'id="document-sha">([0-9a-f]{64})<', page).group(1)
    assert f'name="_seen" value="{panel}"' in page
    version = re.search(r'name="_version" value="(\d+)"', page).group(1)
    before = written(contract)

    without = director.post(f"/tasks/{task.id}", {"confirm": "true", "password": "pw", "_version": version})
    assert without.status_code == 422 and "Say which document you sign" in without.get_data(as_text=True)
    change_the_layout()
    refused = director.post(f"/tasks/{task.id}", {"confirm": "true", "password": "pw", "_version": version,
                                                  "_seen": panel})
    assert refused.status_code == 409 and "is not the one you were shown" in refused.get_data(as_text=True)
    assert written(contract) == before

    page = director.get(f"/tasks/{task.id}").get_data(as_text=True)
    now = re.search(r'name="_seen" value="([0-9a-f]{64})"', page).group(1)
    done = director.post(f"/tasks/{task.id}", {"confirm": "true", "password": "pw", "_version": version,
                                               "_seen": now})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert [s.document_sha256 for s in db.session.get(Contract, contract.id).signatures] == [now]


def test_the_head_signs_the_stored_bytes_only_as_read(frozen, browser):
    contract = awaiting_director(browser)
    assert sign(browser("director"), contract).status_code == 303
    head = browser("head")
    stored = shown_sha256(head, contract)
    before = written(contract)

    for sent, words in (("", "Say which document you sign"), ("0" * 64, "is not the one you were shown")):
        refused = head.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "pw",
                                                               "document_sha256": sent}, follow_redirects=True)
        assert words in refused.get_data(as_text=True)
        assert written(contract) == before
    assert head.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "pw",
                                                        "document_sha256": stored.upper()}).status_code == 303
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "active" and {s.document_sha256 for s in contract.signatures} == {stored}


def test_the_contract_api_asks_for_the_sha256_of_what_was_read(frozen, browser, change_the_layout):
    contract = awaiting_director(browser)
    director = browser("director")
    url = f"/api/v1/contracts/{contract.id}/sign"
    missing = director.post_json(url, {"password": "pw"})
    assert missing.status_code == 422 and missing.get_json()["errors"]["json"]["document_sha256"] == \
        ["This field is required."]
    malformed = director.post_json(url, {"password": "pw", "document_sha256": "abc"})
    assert malformed.status_code == 422
    assert "64 hexadecimal characters" in str(malformed.get_json()["errors"])
    read = director.get(f"/api/v1/contracts/{contract.id}/document").headers["X-Document-SHA256"]
    assert read == director.get(f"/api/v1/contracts/{contract.id}").get_json()["document_sha256"]
    before = written(contract)

    change_the_layout()
    refused = director.post_json(url, {"password": "pw", "document_sha256": read})
    assert refused.status_code == 409 and "is not the one you were shown" in refused.get_json()["message"]
    assert written(contract) == before
    now = director.get(f"/api/v1/contracts/{contract.id}/document").headers["X-Document-SHA256"]
    signed = director.post_json(url, {"password": "pw", "document_sha256": now})
    assert signed.status_code == 200 and signed.get_json()["signatures"][0]["document_sha256"] == now

    schema = director.get("/api/openapi.json").get_json()
    sign_body = schema["components"]["schemas"]["SignContract"]
    assert "document_sha256" in sign_body["required"] and "document_sha256" in sign_body["properties"]


def test_the_task_api_asks_for_it_too(frozen, browser):
    contract = awaiting_director(browser)
    director = browser("director")
    task = open_task_of(contract.instance_id, "sign_director")
    url = f"/api/v1/tasks/{task.id}/complete"
    data = {"confirm": True, "password": "pw"}
    missing = director.post_json(url, {"data": data})
    assert missing.status_code == 422 and "Say which document you sign" in missing.get_json()["message"]
    wrong = director.post_json(url, {"data": data, "document_sha256": "0" * 64})
    assert wrong.status_code == 409 and "is not the one you were shown" in wrong.get_json()["message"]
    read = director.get(f"/api/v1/contracts/{contract.id}/document").headers["X-Document-SHA256"]
    assert director.post_json(url, {"data": data, "document_sha256": read}).status_code == 200
    db.session.expire_all()
    assert [s.document_sha256 for s in db.session.get(Contract, contract.id).signatures] == [read]
