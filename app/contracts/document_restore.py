"""The operator restores the signed document of a contract flagged ``unmatched`` (signed before migration 0030, and no
layout renders the SHA-256 its signatures record) from the file its signers kept — the only way such a contract gets
its bytes back, and only when the file's SHA-256 proves it is them."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from app import clock
from app.audit.operations import record_event
from app.contracts.documents import HTML, audit_chain, sha256_of, signed_hashes, stored_row
from app.contracts.models import Contract, ContractDocument
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db

#: The largest signed document the operator may upload to restore a flagged contract's bytes (a rendered contract is
#: some tens of kilobytes).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def restore_uploaded(contract: Contract, actor, content: bytes, filename: str) -> ContractDocument:
    """The operator restores a flagged contract's signed document from the file its signers hold (the download they
    kept): taken only if its SHA-256 is the one the signatures record — then it *is* the signed document, byte for
    byte — stored (origin ``uploaded``) and audited (``contract.document_restored``). Anything else is refused with
    the reason and changes nothing. The caller checks the person is the operator and commits."""
    row = stored_row(contract)
    if row is None or row.state != "unmatched":
        raise DomainRefused(_("This contract's signed document is not flagged as missing: there is nothing to "
                              "restore. Nothing was stored."))
    signed = signed_hashes(contract)
    if len(signed) != 1:
        raise DomainRefused(_("The signatures of this contract record different SHA-256 values, so no single file "
                              "can be what both parties signed. Nothing was stored."))
    if not content:
        raise DomainRefused(_("Choose the signed document's file (the printable contract the signers downloaded)."))
    if len(content) > MAX_UPLOAD_BYTES:
        raise DomainRefused(_("The file is larger than %(mb)s MB; a signed contract is much smaller. Nothing was "
                              "stored.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    (expected,) = signed
    digest = sha256_of(content)
    if digest != expected:
        raise DomainRefused(_("This file is not the signed document: its SHA-256 is %(actual)s, the signatures "
                              "record %(signed)s. Nothing was stored.", actual=digest, signed=expected))
    # guarded by the state: two operators uploading at once store it once, and the second is told
    done = db.session.execute(update(ContractDocument).where(ContractDocument.id == row.id,
                                                             ContractDocument.state == "unmatched")
                              .values(state="stored", origin="uploaded", media_type=HTML, content=content,
                                      sha256=digest, layout=None, stored_at=clock.now())
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise DomainConflict(_("Someone restored this contract's signed document meanwhile. Nothing more was "
                               "stored."))
    db.session.expire(row)
    record_event(audit_chain(contract), "contract.document_restored", "contract", contract.id, actor_id=actor.id,
                 details={"number": contract.number, "document_sha256": digest, "media_type": HTML,
                          "bytes": len(content), "filename": (filename or "")[:200], "origin": "uploaded"},
                 alongside=True)
    db.session.flush()
    return row


def unmatched_ids(contract_ids: list[int] | None = None):
    """The contracts flagged because no layout gave their signed SHA-256 (the contracts list's badge and filter): a
    select of their ids, restricted to ``contract_ids`` when given."""
    query = select(ContractDocument.contract_id).where(ContractDocument.state == "unmatched")
    if contract_ids is not None:
        query = query.where(ContractDocument.contract_id.in_(contract_ids))
    return query
