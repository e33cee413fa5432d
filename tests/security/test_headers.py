"""Issue 13 §2: every page sends a Content-Security-Policy without inline script, and the other headers.

The crawl starts at each demo role's inbox and follows every same-site link one level deep, so a new
page reached from the navigation is covered without listing it here.
"""

from __future__ import annotations

import re

import pytest

ROLES = ["accountant", "director", "official", "head", "operator", "owner", "auditor", "admin"]
LINK = re.compile(r'href="(/[^"#]*)"')
NOT_PAGES = ("/static/", "/vendor/", "/logout", "/api/")


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in csp.split(";")) if part}


def _assert_headers(response, url: str) -> None:
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"{url} has no Content-Security-Policy"
    directives = _directives(csp)
    script_src = directives.get("script-src", directives.get("default-src"))
    # our origin's scripts only; a stored signed document (sandboxed data) runs none
    assert script_src in (["'self'"], ["'none'"]), f"{url}: script-src {script_src}"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    for styles in ("style-src", "style-src-elem", "style-src-attr"):  # no inline style but by hash (content_policy)
        assert "'unsafe-inline'" not in directives.get(styles, []), f"{url}: {styles} {directives.get(styles)}"
    assert directives.get("frame-ancestors") == ["'none'"], url
    assert directives.get("object-src") == ["'none'"], url
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_each_role_sends_the_security_headers(world, browser, role):
    person = browser(role)
    start = ["/", "/inbox"]
    seen: set[str] = set()
    pages = 0
    for url in start:
        response = person.get(url, follow_redirects=True)
        _assert_headers(response, url)
        for link in LINK.findall(response.get_data(as_text=True)):
            link = link.replace("&amp;", "&")
            if link in seen or link.startswith(NOT_PAGES):
                continue
            seen.add(link)
            page = person.get(link)
            assert page.status_code < 500, link
            _assert_headers(page, link)
            pages += 1
    assert pages >= 5, f"the crawl of {role} reached only {pages} pages"


def test_no_template_has_inline_script_or_event_handlers(project_root):
    """The CSP forbids them; keeping them out of templates keeps every page working under it."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
    javascript_url = re.compile(r"(href|src|action)\s*=\s*\"\s*javascript:", re.I)
    offenders = []
    for path in sorted((project_root / "app" / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (inline_script, handler, javascript_url):
            offenders += [f"{path.name}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert offenders == []


def test_no_template_has_inline_style_but_the_printable_documents(project_root):
    """The policy applies no inline style: a style attribute is dropped by the browser (a progress bar without its
    width), a <style> element too. The printable documents keep theirs (the contract's bytes are what is signed),
    allowed by hash (app/content_policy.py document_policy)."""
    attribute = re.compile(r"<[^>]+\sstyle\s*=", re.I)
    element = re.compile(r"<style\b", re.I)
    documents = {"contracts/document.html", "contracts/document_v2.html", "acts/document.html"}
    offenders = []
    root = project_root / "app" / "templates"
    for path in sorted(root.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(root)}: {m.group(0)[:60]}" for m in attribute.finditer(text)]
        if str(path.relative_to(root)) not in documents:
            offenders += [f"{path.relative_to(root)}: <style>" for _m in element.finditer(text)]
    assert offenders == []


def test_a_printable_documents_own_style_is_allowed_by_its_hash_and_no_other(world, browser):
    from app.acts.models import Act
    from app.content_policy import source_hash
    from app.contracts.models import Contract
    from app.extensions import db

    person = browser("operator")
    act = db.session.scalars(db.select(Act).order_by(Act.id)).first()
    contract = db.session.scalars(db.select(Contract).order_by(Contract.id)).first()
    for url in (f"/acts/{act.id}/document", f"/contracts/{contract.id}/document"):
        response = person.get(url)
        assert response.status_code == 200, url
        _assert_headers(response, url)
        styles = re.findall(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S)
        style_src = _directives(response.headers["Content-Security-Policy"])["style-src"]
        hashes = {source_hash(text) for text in styles}
        if "/contracts/" in url:  # the stored signed bytes: their own <style> by its hash, nothing else (no 'self')
            assert styles and set(style_src) == hashes, url
            continue
        # the document's own <style> by its hash
        assert styles and style_src[0] == "'self'" and hashes <= set(style_src), url
        assert len(style_src) <= 3 and all(source.startswith("'sha256-") for source in style_src[1:]), url
    assert _directives(person.get("/acts").headers["Content-Security-Policy"])["style-src"] == ["'self'"]


def test_the_editor_allows_only_the_vendors_own_style_attributes(world, browser):
    from app.content_policy import VENDOR_STYLE_ATTRIBUTES, source_hash
    from app.engine.models import ProcessModelVersion
    from app.extensions import db

    version = db.session.scalars(db.select(ProcessModelVersion).order_by(ProcessModelVersion.id)).first()
    response = browser("owner").get(f"/modeler/versions/{version.id}")
    assert response.status_code == 200
    directives = _directives(response.headers["Content-Security-Policy"])
    assert directives["style-src"] == ["'self'"]
    assert directives["style-src-attr"] == ["'unsafe-hashes'", *(source_hash(v) for v in VENDOR_STYLE_ATTRIBUTES)]


def test_login_page_and_errors_carry_the_headers_too(app_ctx, app):
    client = app.test_client()
    for url, status in (("/login", 200), ("/no-such-page", 404), ("/acts/2147483648", 404)):
        response = client.get(url)
        assert response.status_code == status
        _assert_headers(response, url)


def test_hsts_only_over_https(app_ctx, app):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_what_a_signed_in_person_reads_is_not_cached_but_the_assets_are(world, browser):
    from app.acts.models import Act
    from app.extensions import db
    from app.people.models import Organisation

    person = browser("accountant")
    school = db.session.scalars(db.select(Organisation).where(Organisation.name.like("Bilim%"))).first()
    act = db.session.scalars(db.select(Act).where(Act.school_id == school.id)).first()
    for url in ("/inbox", f"/acts/{act.id}", f"/acts/{act.id}/lines.csv", f"/api/v1/acts/{act.id}"):
        response = person.get(url)
        assert response.status_code == 200, url
        assert response.headers.get("Cache-Control") == "no-store", url
    for url in ("/static/app.js", "/vendor/bootstrap/css/bootstrap.min.css"):
        response = person.get(url)
        assert response.status_code == 200, url
        assert "no-store" not in (response.headers.get("Cache-Control") or ""), url


def test_a_signed_in_persons_error_pages_are_not_cached_either(world, browser):
    """Attacker probe: a 404 or 405 answer (no route, so no endpoint) went out without ``no-store`` although its menu
    names the person; 404 and 405 are cacheable by heuristics, so a shared proxy could hand it to the next caller."""
    from tests.helpers import user

    person = browser("accountant")
    for response, status in ((person.get("/no-such-page"), 404), (person.get("/static/no-such-file.js"), 404),
                             (person.post("/inbox"), 405)):
        assert response.status_code == status
        assert response.headers.get("Cache-Control") == "no-store", status
    assert user("accountant").full_name in person.get("/no-such-page").get_data(as_text=True)


def test_the_session_cookie_is_secure_over_https(app_ctx, app):
    """Over HTTPS the login cookie never travels without ``Secure`` (a plain-HTTP request would give it away),
    whatever SESSION_COOKIE_SECURE says; over plain HTTP (the embedded demo) it still works."""
    client = app.test_client()
    secure = client.get("/login", base_url="https://localhost").headers.get("Set-Cookie", "")
    assert secure.startswith("session=") and "Secure" in secure
    with app.test_request_context("/login", base_url="http://localhost"):
        assert not app.session_interface.get_cookie_secure(app)


def test_every_cookie_set_over_https_is_secure(world, app):
    """Not only the session: the login device cookie (the accounts this browser logged in to, and what lets it past
    the per-account login limit) and the chosen language are ``Secure`` over HTTPS too, whatever
    SESSION_COOKIE_SECURE says — the device cookie went out without the flag and a plain-HTTP request to the host
    gave it away."""
    from tests.conftest import CSRF_RE

    def sign_in_and_choose_kazakh(scheme: str) -> list[str]:
        client = app.test_client()
        where = {"base_url": f"{scheme}://localhost", "headers": {"Referer": f"{scheme}://localhost/login"}}

        def ask(method: str, url: str, **kwargs):
            with app.app_context():  # each request its own context, as in production (tests/conftest.py Browser)
                return getattr(client, method)(url, **where, **kwargs)

        def token(url: str) -> str:
            return CSRF_RE.search(ask("get", url).get_data(as_text=True)).group(1)

        login = ask("post", "/login", data={"username": "official", "password": "pw", "csrf_token": token("/login")})
        assert login.status_code == 302
        language = ask("post", "/locale", data={"locale": "kk", "csrf_token": token("/inbox")})
        assert language.status_code == 302
        cookies = login.headers.getlist("Set-Cookie") + language.headers.getlist("Set-Cookie")
        assert {"session", "login_device", "locale"} <= {cookie.split("=", 1)[0] for cookie in cookies}
        return cookies

    cookies = sign_in_and_choose_kazakh("https")
    assert [cookie.split(";")[0][:20] for cookie in cookies if "; Secure" not in cookie] == []
    # over plain HTTP (the embedded demo) the same cookies are set without the flag, and work
    assert not any("; Secure" in cookie for cookie in sign_in_and_choose_kazakh("http"))


def test_the_packages_html_pages_are_not_served_from_our_origin(app_ctx, app):
    """swagger-ui-dist ships index.html and oauth2-redirect.html; our pages load only its script and style."""
    client = app.test_client()
    for url in ("/vendor/swagger-ui/index.html", "/vendor/swagger-ui/oauth2-redirect.html",
                "/vendor/swagger-ui/INDEX.HTML", "/vendor/swagger-ui/package.json"):
        assert client.get(url).status_code == 404, url
    for url in ("/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css",
                "/vendor/bpmn-js/assets/bpmn-font/css/bpmn-embedded.css"):
        assert client.get(url).status_code == 200, url


def test_a_file_attached_to_a_case_is_not_kept_by_the_browser_either(world, browser):
    """A case's files (a list of children, a signed scan) are served by send_file, which marks every file
    ``no-cache`` (kept, only asked again before use) with its ETag and date: the browser kept the document on a
    shared computer's disk after the person logged out. A signed-in download is ``no-store`` like the pages."""
    import io

    from app.extensions import db
    from app.inbox.models import TaskAttachment
    from tests.helpers import act_of_school, open_task

    person = browser("accountant")
    task = open_task(act_of_school("Bilim Innovation School"), "submit_act")
    sent = person.post(f"/tasks/{task.id}/attachments", {"file": (io.BytesIO(b"%PDF-1.4 children"), "list.pdf")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302
    attachment = db.session.scalars(db.select(TaskAttachment)).one()
    response = person.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") == "no-store"
