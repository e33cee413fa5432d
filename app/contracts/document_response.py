"""The printable contract's bytes as an HTTP answer, the same for the page's address and the API's: data, never a page
of our origin."""

from __future__ import annotations

import re

from flask import Response

from app.content_policy import stored_document_policy
from app.contracts.documents import HTML, ShownDocument

#: How long a client is asked to wait before it asks again for a document still being prepared (the background pass
#: stores the bytes of contracts signed before 0030 a few at a time).
RETRY_PENDING_SECONDS = 60


def document_response(number: str, shown: ShownDocument, *, attachment: bool) -> Response:
    """The bytes of ``shown`` (which has content). Served with its media type only if it is the HTML we store (a
    media type a database writer put in is not believed: the bytes go out as a file), always ``nosniff`` and the
    sandboxing policy; as an attachment when asked, or when not our HTML."""
    servable = shown.media_type == HTML
    response = Response(shown.content, content_type=shown.media_type if servable else "application/octet-stream")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # data, never a page of our origin: sandboxed, no script, nothing loaded, its own <style> by the stored bytes' hash
    response.headers["Content-Security-Policy"] = stored_document_policy(shown.content)
    response.headers["X-Document-SHA256"] = shown.sha256
    response.headers["X-Document-State"] = shown.state
    if attachment or not servable:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", number)[:100] or "contract"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.{"html" if servable else "bin"}"'
    return response
