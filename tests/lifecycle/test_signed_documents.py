"""A signed contract's document is evidence: the bytes its first signer signed are stored, and from then on it is
shown, downloaded, signed by the department head and verified from those bytes — whatever happens to the templates,
the filters or the translations afterwards. A byte changed in the database is found and said, never hidden."""

from __future__ import annotations

import hashlib

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select, text, update

from app.audit.models import AuditEvent
from app.contracts import operations
from app.contracts.models import Contract, ContractDocument, ContractSignature
from app.engine.errors import DomainRefused
from app.extensions import db
from tests.helpers import user

SAMRUK = "C-SHYMKENT-2026-00001"


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == SAMRUK)).one()


def stored(contract: Contract) -> ContractDocument:
    return db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()


def signed_hashes(contract: Contract) -> set[str]:
    return set(db.session.scalars(select(ContractSignature.document_sha256)
                                  .where(ContractSignature.contract_id == contract.id)))


def page_sha(browser, contract: Contract) -> str:
    page = browser("official_shymkent").get(f"/contracts/{contract.id}").get_data(as_text=True)
    return page.split('id="document-sha">', 1)[1].split("<", 1)[0]


@pytest.fixture()
def templates_changed(app_ctx, monkeypatch):
    """After the signatures: the tenge format changes and the current layout's wrapper is edited (a new footer)."""
    env = app_ctx.jinja_env
    wrapper = env.loader.get_source(env, "contracts/document_v2.html")[0]
    edited = wrapper.replace("</body>", "<footer>Tapsyrys 2.0</footer></body>")
    monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader({"contracts/document_v2.html": edited}), env.loader]))
    monkeypatch.setitem(env.filters, "tenge", lambda tiyn: f"KZT {tiyn}")
    yield
    if env.cache is not None:
        env.cache.clear()  # the edited template leaves with the fixture


def test_the_first_signature_stores_the_bytes_it_signs_and_the_head_signs_the_same(world):
    contract = samruk()
    row = stored(contract)
    assert row.state == "stored" and row.origin == "signed" and row.media_type == "text/html; charset=utf-8"
    assert hashlib.sha256(row.content).hexdigest() == row.sha256
    assert signed_hashes(contract) == {row.sha256}, "both signatures sign the stored bytes"
    assert row.content.decode("utf-8").count("01.09.2026 — 31.05.2027") == 2  # the current layout, kk and ru
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.chain == f"instance:{contract.instance_id}").order_by(AuditEvent.seq))]
    assert actions.index("contract.document_stored") < actions.index("contract.signed")
    stored_event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.document_stored",
                                                               AuditEvent.object_id == contract.id)).one()
    assert stored_event.details["document_sha256"] == row.sha256 and stored_event.details["origin"] == "signed"


def test_a_template_change_after_signing_changes_neither_what_is_shown_nor_its_check(world, browser,
                                                                                      templates_changed):
    from app.contracts.documents import render_document

    contract = samruk()
    (signed,) = signed_hashes(contract)
    assert hashlib.sha256(render_document(contract)).hexdigest() != signed, "the change reaches a rendering"
    response = browser("official_shymkent").get(f"/contracts/{contract.id}/document")
    assert response.status_code == 200
    assert hashlib.sha256(response.get_data()).hexdigest() == signed
    assert "Tapsyrys 2.0" not in response.get_data(as_text=True) and "KZT " not in response.get_data(as_text=True)
    assert page_sha(browser, contract) == signed
    page = browser("official_shymkent").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="document-verified"' in page and 'id="document-tampered"' not in page


def test_after_a_template_change_the_head_signs_what_the_director_signed(world, templates_changed):
    contract = samruk()
    director, head = sorted(contract.signatures, key=lambda s: s.signed_at)
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.commit()

    operations.sign_contract(samruk(), user("head_shymkent"), "pw")
    db.session.commit()
    db.session.expire_all()
    contract = samruk()
    assert contract.status == "active"
    assert signed_hashes(contract) == {stored(contract).sha256}


def _change_a_stored_byte(contract: Contract) -> None:
    content = bytearray(stored(contract).content)
    at = bytes(content).index(b"300")  # the design capacity, in the Kazakh text
    content[at] = ord("9")
    db.session.execute(update(ContractDocument).where(ContractDocument.contract_id == contract.id)
                       .values(content=bytes(content)))
    db.session.commit()
    db.session.expire_all()


def test_a_changed_stored_byte_is_found_and_said(world, browser):
    contract = samruk()
    (signed,) = signed_hashes(contract)
    _change_a_stored_byte(contract)

    official = browser("official_shymkent")
    page = official.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="document-tampered"' in page and 'id="document-verified"' not in page
    assert signed in page
    shown = official.get(f"/contracts/{contract.id}/document")
    assert shown.status_code == 409 and "Stored document changed" in shown.get_data(as_text=True)
    evidence = official.get(f"/contracts/{contract.id}/document?download=1")
    assert evidence.status_code == 200 and evidence.headers["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(evidence.get_data()).hexdigest() != signed
    assert b"900" in evidence.get_data()

    from app.audit.operations import verify_all_chains

    _chains, problems = verify_all_chains()
    assert any(f"contract {contract.id}: its stored signed document's SHA-256" in str(p) for p in problems)


def test_the_head_cannot_sign_a_changed_stored_document(world):
    contract = samruk()
    head = max(contract.signatures, key=lambda s: s.signed_at)
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.commit()
    _change_a_stored_byte(contract)

    with pytest.raises(DomainRefused, match="changed since it was signed"):
        operations.sign_contract(samruk(), user("head_shymkent"), "pw")
    db.session.rollback()
    assert samruk().status == "awaiting_head" and len(samruk().signatures) == 1


def test_the_stored_document_is_served_as_data_that_runs_no_script(world, browser):
    contract = samruk()
    official = browser("official_shymkent")
    for url in (f"/contracts/{contract.id}/document", f"/contracts/{contract.id}/document?download=1"):
        response = official.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        policy = [p.strip() for p in response.headers["Content-Security-Policy"].split(";")]
        assert "sandbox" in policy and "default-src 'none'" in policy, policy
        assert not any("allow-scripts" in p or p.startswith("script-src") for p in policy)
    assert official.get(f"/contracts/{contract.id}/document?download=1").headers["Content-Disposition"] == \
        f'attachment; filename="{SAMRUK}.html"'
    # a media type a database writer put in is not believed: the bytes go out as a file, not a page
    db.session.execute(update(ContractDocument).where(ContractDocument.contract_id == contract.id)
                       .values(media_type="image/svg+xml"))
    db.session.commit()
    response = official.get(f"/contracts/{contract.id}/document")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{SAMRUK}.bin"'


def test_a_school_of_another_region_cannot_read_the_stored_document(world, browser):
    contract = samruk()
    assert browser("accountant").get(f"/contracts/{contract.id}/document").status_code == 404
    assert browser("official").get(f"/contracts/{contract.id}/document?download=1").status_code == 404


def test_the_api_says_whether_the_document_is_what_was_signed(world, browser):
    contract = samruk()
    (signed,) = signed_hashes(contract)
    official = browser("official_shymkent")
    doc = official.get(f"/api/v1/contracts/{contract.id}").get_json()
    assert doc["document_sha256"] == signed and doc["document_state"] == "intact"
    _change_a_stored_byte(contract)
    doc = official.get(f"/api/v1/contracts/{contract.id}").get_json()
    assert doc["document_state"] == "tampered" and doc["document_sha256"] != signed


def test_export_writes_the_stored_bytes_and_their_signed_digests(world, app_ctx, tmp_path):
    contract = samruk()
    result = app_ctx.test_cli_runner().invoke(args=["export-signed-contracts", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / f"{SAMRUK}.html").read_bytes()
    assert written == stored(contract).content
    assert f"{stored(contract).sha256}  {SAMRUK}.html\n" in (tmp_path / "out" / "SHA256SUMS").read_text()
    assert db.session.execute(text("SELECT count(*) FROM contract_document")).scalar() >= 1


def test_an_export_cut_by_a_file_size_limit_leaves_no_part_of_a_file_and_names_it(world, app_ctx, tmp_path):
    """A quota or a full disk under the export (here the process's own file-size limit, RLIMIT_FSIZE, smaller than the
    document): the command exits 1 naming the document, and no part of it is left — a document cut short had been
    left under its contract's number, beside the SHA256SUMS of an earlier export."""
    import resource
    import signal

    contract = samruk()
    size = len(stored(contract).content)
    assert size > 2048
    out = tmp_path / "out"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a quota
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, hard))
    try:
        result = app_ctx.test_cli_runner().invoke(args=["export-signed-contracts", str(out)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert result.exit_code == 1, result.output
    assert f"{SAMRUK}.html" in result.output and "no part of it was left" in result.output
    assert sorted(p.name for p in out.iterdir()) == [], "no file cut short, no temporary file"


def test_the_api_serves_the_document_bytes_with_the_pages_rules_and_headers(world, browser):
    contract = samruk()
    (signed,) = signed_hashes(contract)
    official = browser("official_shymkent")
    url = f"/api/v1/contracts/{contract.id}/document"
    response = official.get(url)
    assert response.status_code == 200 and response.get_data() == stored(contract).content
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{SAMRUK}.html"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = [p.strip() for p in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert (response.headers["X-Document-SHA256"], response.headers["X-Document-State"]) == (signed, "intact")
    assert browser("accountant").get(url).status_code == 404, "a school of another region"
    assert browser("official").get(url).status_code == 404, "another region's department"
    assert browser(None).get(url).status_code == 401

    _change_a_stored_byte(contract)
    evidence = official.get(url)
    assert evidence.status_code == 200 and evidence.headers["X-Document-State"] == "tampered"
    assert evidence.headers["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(evidence.get_data()).hexdigest() == evidence.headers["X-Document-SHA256"] != signed

    spec = official.get("/api/openapi.json").get_json()["paths"]["/api/v1/contracts/{contract_id}/document"]["get"]
    assert "text/html" in spec["responses"]["200"]["content"] and "409" in spec["responses"]
