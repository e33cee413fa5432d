"""The printable contract as evidence: rendered until the first signature, the stored signed bytes from then on.

What a signature signs is the SHA-256 of the printable contract's bytes. Rendered again from the templates on every
view (as before migration 0030), any change of a template, a filter, Babel's formats, Jinja's escaping or a
translation changed what was shown as "the signed document", or broke the check of every contract signed before. So
the first signature stores the bytes it signs (:class:`ContractDocument`), the second signer signs those same bytes,
and the contract is shown, downloaded and verified from them for ever; the templates only draw contracts nobody has
signed yet.

A contract signed before the bytes were kept gets them from ``flask store-signed-contracts`` or the background pass
(:func:`store_pending`), never from a page or an API read (a GET writes nothing; until then the contract says
``pending``): the layout whose rendering gives the signatures' SHA-256 is stored, audited
(``contract.document_stored``). When no layout gives it, the contract is flagged ``unmatched`` for the operator
(``contract.document_unmatched``): nothing is stored, and nobody can sign it again until the operator uploads the
file the signers hold and its SHA-256 is the one the signatures record (:mod:`app.contracts.document_restore`).

Signing signs what the person was shown: the page, the task and the API send the SHA-256 of the document they read,
and a signature whose bytes would be other ones is refused (:func:`bytes_to_sign`).

The stored content's digest is computed each time it is read: a byte changed in the database shows on the contract
page, refuses the second signature, and is reported by ``flask verify-audit``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.audit.operations import record_event
from app.contracts.models import Contract, ContractDocument, ContractSignature
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db
from app.instruments import instrument_of
from app.orders.models import LEVELS

log = logging.getLogger(__name__)

#: The media type of the printable contract's bytes (and the only one served as a page: anything else a database
#: writer put in ``media_type`` is served as a download).
HTML = "text/html; charset=utf-8"

#: The printable contract's layouts, oldest first. Since migration 0030 a signed contract is shown from its stored
#: bytes, so a layout may change freely for the contracts not signed yet; the old layouts stay only to find again the
#: bytes of contracts signed before the bytes were kept (:func:`backfill`), so keep them as they are until every such
#: contract is stored. 1: ISO dates, no viewport (a phone zoomed it out or scrolled it sideways); 2: dates as
#: 01.09.2026, fits a phone.
CONTRACT_LAYOUTS = {
    1: ("contracts/document.html", date.isoformat),
    2: ("contracts/document_v2.html", lambda day: day.strftime("%d.%m.%Y")),  # no CLDR: the same bytes on any Babel
}
CURRENT_LAYOUT = max(CONTRACT_LAYOUTS)

#: What :func:`document_of` found. ``draft``: nobody has signed, the document is rendered now; ``intact``: the stored
#: bytes are those the signatures record; ``tampered``: they are not (a changed byte, a changed digest);
#: ``unmatched``: signed before the bytes were kept and no layout gives the signatures' SHA-256; ``pending``: signed
#: before the bytes were kept, and not yet looked for (the background pass or ``flask store-signed-contracts`` does).
DRAFT, INTACT, TAMPERED, UNMATCHED, PENDING = "draft", "intact", "tampered", "unmatched", "pending"

#: How many contracts signed before 0030 one background pass looks for the bytes of (each in its own transaction).
PENDING_PER_PASS = 50


@dataclass(frozen=True)
class ShownDocument:
    """The contract's document as it is shown and downloaded, and whether it is what was signed."""

    state: str
    content: bytes | None
    media_type: str
    #: the SHA-256 of ``content`` as read now (None: nothing to show)
    sha256: str | None
    #: what the signatures record (empty for a draft)
    signed_sha256: frozenset[str] = field(default_factory=frozenset)
    #: the digest stored with the bytes when they were stored
    stored_sha256: str | None = None

    @property
    def verified(self) -> bool:
        return self.state == INTACT


def render_document(contract: Contract, layout: int = CURRENT_LAYOUT) -> bytes:
    """The printable contract in its legal languages (Kazakh, then Russian: the state language and the official one),
    one after the other in one document, on ``layout``. Only what nobody has signed yet is shown from here."""
    from app.contracts.labels import level_label

    wrapper, day = CONTRACT_LAYOUTS[layout]
    languages = current_app.config.get("CONTRACT_LANGUAGES", ("kk", "ru"))
    # Rendered without the request's context processors: the bytes depend on the contract only.
    signed = AsSigned(contract)
    body = current_app.jinja_env.get_template(instrument_of(contract).contract_body)
    sections = []
    for language in languages:
        with force_locale(language):
            sections.append((language, body.render(contract=signed, levels=LEVELS, level_label=level_label,
                                                   locale=language, day=day)))
    with force_locale(languages[0]):
        title = f"{_('Contract')} {contract.number}"
    html = current_app.jinja_env.get_template(wrapper).render(sections=sections, languages=languages, title=title)
    return html.encode("utf-8")


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class AsSigned:
    """The contract with the terms both parties signed: an amendment changes the terms in force, never the signed
    document (it is an agreement of its own, with its own digests). Used to render a draft, and to find again the
    bytes of a contract signed before they were stored."""

    def __init__(self, contract: Contract):
        from app.contracts.amendments import signed_terms

        self._contract = contract
        self._terms = signed_terms(contract) if contract.amendments else {}

    def __getattr__(self, name: str):
        if name in self._terms:
            value = self._terms[name]
            return date.fromisoformat(value) if name == "period_end" else value
        return getattr(self._contract, name)

    def places(self, level: str) -> int:
        return getattr(self, f"places_{level}")


def signed_hashes(contract: Contract) -> frozenset[str]:
    # read, not the relationship: loading it here would leave it stale for the signature being added
    if contract.id is None:
        return frozenset()
    return frozenset(db.session.scalars(select(ContractSignature.document_sha256)
                                        .where(ContractSignature.contract_id == contract.id)))


def stored_row(contract: Contract) -> ContractDocument | None:
    return db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).first()


def document_of(contract: Contract) -> ShownDocument:
    """What the contract's page shows and its download serves: the stored signed bytes once anyone has signed, else
    the draft rendered now. Reads only: a contract signed before the bytes were kept and not yet stored is
    ``pending`` (nothing to show until :func:`store_pending` or ``flask store-signed-contracts`` finds them) — a page
    view had written the row and its audit event, so an auditor's or a school's GET changed the database."""
    signed = signed_hashes(contract)
    if not signed:
        content = render_document(contract)
        return ShownDocument(DRAFT, content, HTML, sha256_of(content))
    row = stored_row(contract)
    if row is None:
        return ShownDocument(PENDING, None, HTML, None, signed)
    return _checked(row, signed)


def _checked(row: ContractDocument, signed: frozenset[str]) -> ShownDocument:
    if row.state == "unmatched":
        return ShownDocument(UNMATCHED, None, HTML, None, signed, row.sha256)
    content = bytes(row.content)
    actual = sha256_of(content)
    state = INTACT if signed == {actual} and row.sha256 == actual else TAMPERED
    if state == TAMPERED:
        log.warning("contract document %s (contract %s): stored bytes' SHA-256 %s, recorded %s, signed %s",
                    row.id, row.contract_id, actual, row.sha256, sorted(signed))
    return ShownDocument(state, content, row.media_type or HTML, actual, signed, row.sha256)


def document_sha256(contract: Contract) -> str | None:
    """The SHA-256 of the document as shown now (what a signer signs: see :func:`bytes_to_sign`)."""
    return document_of(contract).sha256


def shown_digest(value: str | None, required: bool) -> str | None:
    """The SHA-256 of the document a signer says they were shown, as sent (any case, spaces around); None when none
    was sent — refused when the signer is a person or an API client (``required``), who must say what they read."""
    value = (value or "").strip().lower() or None
    if value is None and required:
        raise DomainRefused(_("Say which document you sign: send the SHA-256 of the printable contract you read "
                              "(the signing form sends it). Nothing was signed."))
    return value


def bytes_to_sign(contract: Contract, shown_sha256: str | None = None, *, shown_required: bool = False) -> str:
    """The SHA-256 a signature about to be made signs. The first signer signs the document rendered now, and its
    bytes are stored in the same transaction as the signature; a later signer signs the stored bytes, and only when
    they are still those the first signature records (a changed byte, or a contract whose bytes could not be found
    again, is refused: nothing is signed that nobody can show).

    ``shown_sha256``: the SHA-256 of the document the signer was shown (the signing form sends it). What is signed
    must be those bytes: a template, a catalogue or the contract's data changed between the reading and the click
    gives other bytes, and the signature is refused (nothing stored, nothing signed). ``shown_required``: a person's
    form or an API client, who must send it; the system's own signatures (demo data) need not."""
    signed = signed_hashes(contract)
    if not signed:
        shown_sha256 = shown_digest(shown_sha256, shown_required)
        content = render_document(contract)
        digest = sha256_of(content)
        _same_as_shown(digest, shown_sha256)
        if _store(contract, content, digest, CURRENT_LAYOUT, "signed", alongside=False).sha256 != digest:
            raise DomainConflict(_("This contract has just been signed in this capacity (in another tab or by "
                                   "another request). Nothing more was signed."))
        return digest
    shown = document_of(contract)
    if shown.state == PENDING:
        if shown_required:  # the signer was shown no document: the page said it is being prepared
            raise DomainRefused(_("The document signed first is still being prepared (it was signed before signed "
                                  "documents were stored). Read it once it is shown, then sign. Nothing was signed."))
        backfill(contract)
        shown = document_of(contract)
    if shown.state == UNMATCHED:
        raise DomainRefused(_("The document signed first could not be found again (no layout gives its SHA-256): "
                              "the contract cannot be signed until the operator restores it. Nothing was signed."))
    if shown.state != INTACT:
        raise DomainRefused(_("The stored signed document does not match its signatures: it has been changed since "
                              "it was signed. The contract cannot be signed; tell the operator. Nothing was signed."))
    _same_as_shown(shown.sha256, shown_digest(shown_sha256, shown_required))
    return shown.sha256


def _same_as_shown(digest: str, shown_sha256: str | None) -> None:
    if shown_sha256 is not None and shown_sha256 != digest:
        log.info("signature refused: the document's SHA-256 is %s, the signer was shown %s", digest, shown_sha256)
        raise DomainConflict(_("The contract's document is not the one you were shown: its SHA-256 is now "
                               "%(now)s, you read %(shown)s. Read the document again, then sign. Nothing was signed.",
                               now=digest, shown=shown_sha256))


def backfill(contract: Contract, *, alongside: bool = True) -> ContractDocument:
    """For a contract signed before the bytes were stored (migration 0030): store the layout whose rendering gives
    the SHA-256 the signatures record, or flag the contract ``unmatched`` when none does (or the signatures record
    different digests). Never signs anything again. Audited; the caller commits."""
    signed = signed_hashes(contract)
    found, tried = _signed_layout(contract, signed)
    if found is not None:
        return _store(contract, *found, "backfilled", alongside=alongside)
    row, inserted = _insert(contract, ContractDocument(
        contract_id=contract.id, state="unmatched", origin="backfilled",
        sha256=next(iter(signed)) if len(signed) == 1 else None, stored_at=clock.now()))
    if inserted:
        log.warning("contract %s: no layout gives the signed SHA-256 %s (tried %s); flagged for the operator",
                    contract.number, sorted(signed), tried)
        record_event(audit_chain(contract), "contract.document_unmatched", "contract", contract.id, actor_id=None,
                     details={"number": contract.number, "signed_sha256": sorted(signed),
                              "layouts_tried": {str(k): v for k, v in tried.items()}}, alongside=alongside)
    return row


def _signed_layout(contract: Contract, signed: frozenset[str]) -> tuple[tuple[bytes, str, int] | None, dict[int, str]]:
    """(content, SHA-256, layout) of the layout whose rendering gives the one SHA-256 the signatures record, or None;
    and what each layout tried gave."""
    tried: dict[int, str] = {}
    if len(signed) == 1:
        for layout in sorted(CONTRACT_LAYOUTS, reverse=True):
            content = render_document(contract, layout)
            tried[layout] = sha256_of(content)
            if tried[layout] in signed:
                return (content, tried[layout], layout), tried
    return None, tried


def _store(contract: Contract, content: bytes, digest: str, layout: int, origin: str, *,
           alongside: bool) -> ContractDocument:
    row, inserted = _insert(contract, ContractDocument(
        contract_id=contract.id, state="stored", origin=origin, media_type=HTML, content=content, sha256=digest,
        layout=layout, stored_at=clock.now()))
    if inserted:
        record_event(audit_chain(contract), "contract.document_stored", "contract", contract.id, actor_id=None,
                     details={"number": contract.number, "document_sha256": digest, "media_type": HTML,
                              "bytes": len(content), "layout": layout, "origin": origin}, alongside=alongside)
    return row


def _insert(contract: Contract, row: ContractDocument) -> tuple[ContractDocument, bool]:
    """Add the row (and say so); if another request stored the contract's document first (unique contract), theirs."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        found = stored_row(contract)
        if found is None:
            raise
        return found, False
    return row, True


def audit_chain(contract: Contract) -> str:
    return f"instance:{contract.instance_id}" if contract.instance_id else f"contract:{contract.id}"


def backfill_all() -> dict[str, int]:
    """``flask store-signed-contracts``: every signed contract without stored bytes gets them (or is flagged), and
    every flagged one is tried again (the operator may have restored a layout's templates); one contract per
    transaction, so one that fails stays one failure."""
    from sqlalchemy import exists

    counts = {"stored": 0, "unmatched": 0, "failed": 0}
    has_signature = exists().where(ContractSignature.contract_id == Contract.id)
    unstored = ~exists().where(ContractDocument.contract_id == Contract.id, ContractDocument.state == "stored")
    ids = list(db.session.scalars(select(Contract.id).where(has_signature, unstored).order_by(Contract.id)))
    for contract_id in ids:
        _store_one(contract_id, counts, again=True)
    return counts


def _store_one(contract_id: int, counts: dict[str, int], *, again: bool) -> None:
    """One contract's bytes stored (or flagged) in a transaction of its own, counted; ``again``: a flagged contract is
    tried again. Its flag changes, with an audit event, only when a layout now gives its bytes: a contract still
    unmatched keeps its flag and its one ``contract.document_unmatched`` — each run had deleted the flag and flagged
    it anew, one more event in its chain every time the operator ran the command."""
    try:
        contract = db.session.get(Contract, contract_id)
        flagged = stored_row(contract) if again else None
        if flagged is not None and flagged.state == "unmatched":
            found, _tried = _signed_layout(contract, signed_hashes(contract))
            if found is None:
                db.session.rollback()
                counts["unmatched"] += 1
                return
            db.session.delete(flagged)
            db.session.flush()
            row = _store(contract, *found, "backfilled", alongside=True)
        else:
            row = backfill(contract, alongside=True)
        db.session.commit()
        counts["stored" if row.state == "stored" else "unmatched"] += 1
    except Exception:
        db.session.rollback()
        log.exception("contract %s: its signed document could not be stored", contract_id)
        counts["failed"] += 1


def store_pending(limit: int = PENDING_PER_PASS) -> dict[str, int]:
    """The background pass's part: the bytes of up to ``limit`` contracts signed before they were kept and not yet
    looked for (no row at all: a flagged contract is tried again only by ``flask store-signed-contracts``, or each
    pass would flag it again, with an audit event every time). One contract per transaction."""
    from sqlalchemy import exists

    counts = {"stored": 0, "unmatched": 0, "failed": 0}
    has_signature = exists().where(ContractSignature.contract_id == Contract.id)
    no_row = ~exists().where(ContractDocument.contract_id == Contract.id)
    ids = list(db.session.scalars(select(Contract.id).where(has_signature, no_row).order_by(Contract.id)
                                  .limit(limit)))
    for contract_id in ids:
        _store_one(contract_id, counts, again=False)
    return counts


def pending_count() -> int:
    """For ``flask verify-audit``: the contracts signed before the bytes were kept whose bytes are not stored yet (no
    row: neither stored nor flagged) — nothing is wrong with them, but until they are stored nothing shows what was
    signed, and a second signer waits."""
    from sqlalchemy import exists, func

    has_signature = exists().where(ContractSignature.contract_id == Contract.id)
    no_row = ~exists().where(ContractDocument.contract_id == Contract.id)
    return db.session.scalar(select(func.count(Contract.id)).where(has_signature, no_row)) or 0


def integrity_problems() -> list[str]:
    """For ``flask verify-audit``: the stored signed documents whose bytes are not those their signatures record,
    and the contracts flagged because no layout gave their signed SHA-256."""
    problems = []
    signed: dict[int, set[str]] = {}
    for contract_id, digest in db.session.execute(select(ContractSignature.contract_id,
                                                         ContractSignature.document_sha256)):
        signed.setdefault(contract_id, set()).add(digest)
    for row in db.session.scalars(select(ContractDocument).order_by(ContractDocument.contract_id)):
        shown = _checked(row, frozenset(signed.get(row.contract_id, ())))
        if shown.state == TAMPERED:
            problems.append(f"contract {row.contract_id}: its stored signed document's SHA-256 is {shown.sha256}, "
                            f"its signatures record {', '.join(sorted(shown.signed_sha256)) or 'none'}")
        elif shown.state == UNMATCHED:
            problems.append(f"contract {row.contract_id}: signed before the documents were stored, and no layout "
                            "gives its signatures' SHA-256 (flagged for the operator)")
    return problems
