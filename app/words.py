"""Model words in the user's language: process, lane, task and event names.

A BPMN element's ``name`` is written in one language; its other languages are kept in the model itself
(:mod:`app.engine.names`, edited in the modeler's side panel). :func:`tr` shows a name in the user's language:
the name the published models give it in that language, else the catalogue's translation of the shipped models'
words (``MODEL_WORDS``: every name of a shipped model is listed here, ``tests/i18n`` fails when a model gains a
name this list lacks), else the name as written (a school's name, a process owner's word nobody translated).
"""

from __future__ import annotations

from flask import g, has_app_context, has_request_context, request
from flask_babel import get_locale, gettext
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.i18n import N_

MODEL_WORDS = frozenset({
    # processes
    N_("Application to the state order"), N_("Monthly act of services rendered"), N_("State order contract"),
    N_("State order placement"), N_("Year-end report"), N_("Monthly act"),
    # lanes
    N_("Department head"), N_("Department official"), N_("Operator"), N_("School accountant"),
    N_("School director"), N_("System"),
    # user tasks
    N_("Accept act"), N_("Approve year-end report"), N_("Pay act"), N_("Review and allocate places"),
    N_("Sign contract (department head)"), N_("Sign contract (school director)"), N_("Submit application"),
    N_("Submit monthly act"), N_("Submit year-end report"),
    # automatic steps
    N_("Activate contract"), N_("Close application window"), N_("Close contract"), N_("Eligibility check"),
    N_("Expire unsubmitted application"), N_("Generate contract"), N_("Notify department head"),
    N_("Open application window"), N_("Open monthly act"), N_("Plan next month"), N_("Set acceptance deadline"),
    N_("Start year-end report"), N_("Verify contingent"), N_("Determine per-student norms"),
    # events and gateways (timers and history name them)
    N_("Acceptance overdue"), N_("Application window closed"), N_("Act paid"), N_("Application rejected"),
    N_("Contract closed"), N_("Contract generated"), N_("Every month's act opened"), N_("Head notified"),
    N_("Ineligible: reasons shown to the school"), N_("Not submitted in time"), N_("Window closed"),
    N_("Accepted?"), N_("Allocated?"), N_("Approved?"), N_("Eligible?"), N_("Last month?"),
    N_("Application window closes"), N_("Month ended"), N_("Last month's act opened"), N_("Order placed"),
    N_("School applies"),
    # the dormitory-places instrument's models (bpmn/dorm_*.bpmn)
    N_("Monthly act of occupied dormitory places"), N_("Dormitory places contract"), N_("Dormitory accountant"),
    N_("Determine the rate per place"), N_("Dormitory places order placement"),
    N_("Application to the dormitory places order"), N_("Dormitory applies"), N_("Dormitory director"),
    N_("Ineligible: reasons shown to the dormitory"), N_("Signed on paper?"), N_("Register contract signed on paper"),
    N_("Set the rate and the caps"), N_("Sign contract (dormitory director)"), N_("In force"),
    N_("Dormitory year-end report"), N_("Academic year's last month?"), N_("Start the academic year's year-end report"),
    N_("The academic year's last act opened"), N_("The contract's last academic year?"), N_("Academic year approved"),
    # the labels of the flows out of a gateway (a diagram showed "accepted" and "returned" in English in kk and ru)
    N_("accepted"), N_("returned"), N_("allocated"), N_("rejected"), N_("approved"), N_("eligible"), N_("ineligible"),
    N_("last month"), N_("more months"), N_("last year"), N_("more years"), N_("academic year ended"),
    N_("year goes on"), N_("signed on paper"), N_("signed on screen"),
})


#: names of published versions, by (version id, content hash): a published version never changes
_VERSION_NAMES: dict[tuple[int, str], dict[str, dict[str, str]]] = {}
_BOOK_KEY = "tapsyrys.model_names"


def model_book() -> dict[str, dict[str, str]]:
    """``{name as written: {language: name}}`` from every published or retired version (the newest version's word
    wins when two models translate the same name differently). Read once per request (one small query)."""
    if not has_app_context():
        return {}
    holder = _holder()
    book = holder.get(_BOOK_KEY)
    if book is None:
        book = holder[_BOOK_KEY] = _build_book()
    return book


def _holder() -> dict:
    """A request's own store, else the application context's (a background pass, a command)."""
    return request.environ if has_request_context() else g.__dict__


@event.listens_for(Session, "after_flush")
def _forget_book_on_publication(session: Session, _context) -> None:
    """A version published (or retired) in this request or pass: its words count from the next name shown."""
    from app.engine.models import ProcessModelVersion

    if has_app_context() and any(isinstance(obj, ProcessModelVersion) and obj.status != "draft"
                                 for obj in (*session.new, *session.dirty)):
        _holder().pop(_BOOK_KEY, None)


def _build_book() -> dict[str, dict[str, str]]:
    from app.engine.models import ProcessModelVersion
    from app.engine.names import model_names
    from app.extensions import db

    keys = [tuple(row) for row in db.session.execute(
        select(ProcessModelVersion.id, ProcessModelVersion.content_hash).where(
            ProcessModelVersion.status.in_(("published", "retired"))).order_by(ProcessModelVersion.id))]
    missing = {key[0]: key for key in keys if key not in _VERSION_NAMES}
    if missing:
        for version_id, files in db.session.execute(select(ProcessModelVersion.id, ProcessModelVersion.files)
                                                    .where(ProcessModelVersion.id.in_(list(missing)))):
            _VERSION_NAMES[missing[version_id]] = model_names(files)
    book: dict[str, dict[str, str]] = {}
    for key in keys:
        for words in _VERSION_NAMES.get(key, {}).values():
            if words.get(""):
                book.setdefault(words[""], {}).update({k: v for k, v in words.items() if k})
    return book


def tr(text: str | None, language: str | None = None, *, models: bool = True) -> str:
    """A model word in the user's language (or ``language``); any other text unchanged. ``models=False``: the
    catalogue only (the caller has already asked the models)."""
    if not text:
        return text or ""
    own = own_name(text, language or str(get_locale() or "en").split("_")[0]) if models else None
    if own:
        return own
    return gettext(text) if text in MODEL_WORDS else text


def own_name(text: str | None, language: str, version_id: int | None = None) -> str | None:
    """The name the published models themselves give ``text`` in ``language`` (None if they give none).

    With ``version_id``: that version's own words if this process has read them already (any page that showed
    a model word did), without a query — else None, and the catalogue speaks (a step's confirmation stays
    within its statement budget, tests/test_query_budget.py)."""
    if not text:
        return None
    if version_id is not None:
        names = next((n for (vid, _hash), n in reversed(list(_VERSION_NAMES.items())) if vid == version_id), {})
        return next((words.get(language) for words in names.values() if words.get("") == text), None)
    return (model_book().get(text) or {}).get(language)


def diagram_in_language(text: str) -> str:
    """A stored diagram with its names in the user's language, for the viewers (never for the editor)."""
    from app.engine.names import localized_diagram

    return localized_diagram(text, str(get_locale() or "en").split("_")[0], tr)
