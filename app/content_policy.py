"""The Content-Security-Policy: no inline script and no inline style, anywhere but where a page names the exact text.

Every page gets :data:`CONTENT_SECURITY_POLICY` (app.security sets it): scripts and styles only from our origin. Our
own sizes and colours are classes in app/static/app.css; htmx is told not to inject its indicator rules (base.html's
``htmx-config``). Two kinds of page need more, and get it by hash, never ``'unsafe-inline'``:

* the printable contract and act (:func:`document_policy`) carry their rules in a ``<style>`` element of their own —
  the contract's bytes are what its signatures' SHA-256 covers, so the rules cannot move to a file; the hash of each
  template's ``<style>`` text is allowed, and nothing else;
* the BPMN/DMN editor (:data:`MODELER_POLICY`): bpmn-js and dmn-js write a few ``style`` attributes of their own in
  markup (dmn-js's "powered by bpmn.io" logo, which its licence keeps visible and placed; bpmn-js's align icons;
  dmn-js's drag image). Those exact values are allowed in attributes (``'unsafe-hashes'`` with their hashes,
  :data:`VENDOR_STYLE_ATTRIBUTES`); an injected ``<style>`` element or any other attribute stays refused. bpmn-js's
  other styles (the canvas, the "powered by" lightbox of bpmn-js 18) are set through the CSSOM, which a policy does
  not govern.

Style cannot run script, but an injected stylesheet reads a page's values out through selectors and background
URLs and redraws the page over a form; with ``'unsafe-inline'`` any HTML injection could do that.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from flask import current_app, make_response


def _policy(style_src: tuple[str, ...] = (), style_src_attr: tuple[str, ...] = ()) -> str:
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        " ".join(["style-src 'self'", *style_src]),
        *([" ".join(["style-src-attr", *style_src_attr])] if style_src_attr else []),
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def source_hash(text: str) -> str:
    """The CSP source expression of an exact inline text (a ``<style>`` element's content, a ``style`` attribute)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = _policy()

#: The ``style`` attribute values bpmn-js 18 and dmn-js 17 write in markup in the editor (their prebuilt bundles,
#: ``grep -o 'style="[^"]*"'``). A new version that writes others shows as a violation in
#: tests/e2e/test_content_security_policy.py; the page then still works, the element is unstyled.
VENDOR_STYLE_ATTRIBUTES = (
    # dmn-js: the "powered by bpmn.io" logo, bottom right of the canvas, and its image
    "position: absolute; bottom: 15px; right: 15px; z-index: 100;",
    "vertical-align:middle",
    # dmn-js: the logo's lightbox (a click on the logo)
    "z-index: 1001;position: fixed;top: 0;left: 0;right: 0;bottom: 0",
    "width: 100%;height: 100%;background: rgba(40,40,40,0.2)",
    "position: absolute;left: 50%;top: 40%;transform: translate(-50%);width: 260px;padding: 10px;"
    "background: white;box-shadow: 0 1px 4px rgba(0,0,0,0.3);font-family: Helvetica, Arial, sans-serif;"
    "font-size: 14px;display: flex;line-height: 1.3",
    "margin: 15px 20px 15px 10px; align-self: center;",
    # dmn-js: the image a dragged table column leaves hidden
    "\n          visibility: hidden;\n          position: fixed;\n          top: -10000px\n      ",
    # bpmn-js: the align and distribute icons of several selected elements
    "fill:currentColor;stroke:currentColor;stroke-width:100;opacity:.5;",
    "fill:none;stroke:currentColor;stroke-width:100;",
    "fill:none;stroke:currentColor;stroke-width:100;stroke-linejoin:round;",
    "stroke:currentColor;stroke-width:100;stroke-linecap:round;",
)

MODELER_POLICY = _policy(style_src_attr=("'unsafe-hashes'", *(source_hash(v) for v in VENDOR_STYLE_ATTRIBUTES)))

_STYLE_ELEMENT = re.compile(r"<style>(.*?)</style>", re.S)


@functools.cache
def _template_style_hashes(template: str) -> tuple[str, ...]:
    source, _filename, _uptodate = current_app.jinja_loader.get_source(current_app.jinja_env, template)
    return tuple(source_hash(text) for text in _STYLE_ELEMENT.findall(source))


def document_policy(*templates: str) -> str:
    """The policy of a self-contained printable document: its templates' own ``<style>`` elements, by hash (their
    text holds no template expression, so the rendered text is the template's)."""
    return _policy(style_src=tuple(h for t in templates for h in _template_style_hashes(t)))


def stored_document_policy(content: bytes) -> str:
    """The policy of a stored signed document (app.contracts.documents): data, never a page of our origin — sandboxed,
    no script, nothing loaded, no form posts, never framed; its own ``<style>`` elements, as they are in the stored
    bytes, are allowed by hash (the bytes outlive the templates that rendered them, so the hashes come from them)."""
    styles = tuple(source_hash(text) for text in _STYLE_ELEMENT.findall(content.decode("utf-8", "replace")))
    return "; ".join(["default-src 'none'", " ".join(["style-src", *(styles or ("'none'",))]),
                      "img-src data:", "font-src data:", "object-src 'none'", "base-uri 'none'", "form-action 'none'",
                      "frame-ancestors 'none'", "sandbox"])


def with_policy(policy):
    """The view's responses carry ``policy`` (a string, or a function called per request) in place of the site's."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            response.headers["Content-Security-Policy"] = policy() if callable(policy) else policy
            return response
        return wrapped
    return decorate
