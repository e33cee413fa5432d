"""Behind a TLS-terminating reverse proxy (``TRUSTED_PROXY_HOPS``): the client's address, scheme and host come from
the X-Forwarded-* headers the proxy wrote, so each client behind it has its own rate-limit bucket, the session cookie
is ``Secure`` and absolute links are https. With the default 0 nothing forwarded is believed: a client reaching the
app directly cannot forge a fresh address for every request, nor claim HTTPS."""

from __future__ import annotations

import pytest

from app.limits import limiter
from tests.conftest import Browser

PROXY = "10.0.0.5"
PUBLIC_HOST = "tapsyrys.example.kz"


def _client(app, remote: str, forwarded_for: str | None = None, proto: str | None = None) -> Browser:
    client = Browser(app)
    client.client.environ_base["REMOTE_ADDR"] = remote
    for header, value in (("HTTP_X_FORWARDED_FOR", forwarded_for), ("HTTP_X_FORWARDED_PROTO", proto)):
        if value is not None:
            client.client.environ_base[header] = value
    return client


@pytest.fixture(scope="module")
def behind_one_proxy(app, tmp_path_factory):
    """The application as deployed behind one proxy: the same database and settings, ``TRUSTED_PROXY_HOPS=1``."""
    from app import create_app

    settings = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "TESTING", "BABEL_DEFAULT_LOCALE",
                                                 "BACKGROUND_MODE", "AUDIT_KEY_FILE", "AUDIT_ANCHOR_DIR")}
    return create_app({**settings, "TRUSTED_PROXY_HOPS": 1},
                      instance_path=str(tmp_path_factory.mktemp("proxied_instance")))


@pytest.fixture()
def proxied(app_ctx, behind_one_proxy):
    """That application with its limiter on and empty counters (tests run without it)."""
    saved = behind_one_proxy.config["API_LIMIT_ANONYMOUS"]
    limiter.reset()
    limiter.enabled = True
    yield behind_one_proxy
    limiter.enabled = False
    limiter.reset()
    behind_one_proxy.config["API_LIMIT_ANONYMOUS"] = saved


def test_by_default_a_forged_forwarded_address_or_scheme_is_not_believed(throttled):
    assert throttled.config["TRUSTED_PROXY_HOPS"] == 0
    throttled.config["API_LIMIT_ANONYMOUS"] = "2/minute"
    for forged in ("198.51.100.1", "198.51.100.2"):
        assert _client(throttled, "203.0.113.7", forwarded_for=forged).get("/api/v1/tasks").status_code == 401
    third = _client(throttled, "203.0.113.7", forwarded_for="198.51.100.3").get("/api/v1/tasks")
    assert third.status_code == 429, "a forged X-Forwarded-For made a new bucket"
    login = _client(throttled, "203.0.113.7", proto="https").get("/login")
    assert "Strict-Transport-Security" not in login.headers
    assert all("Secure" not in cookie for cookie in login.headers.getlist("Set-Cookie"))


def test_behind_one_proxy_each_client_has_its_own_bucket(proxied):
    proxied.config["API_LIMIT_ANONYMOUS"] = "2/minute"
    first = [_client(proxied, PROXY, forwarded_for="203.0.113.7").get("/api/v1/tasks") for _ in range(2)]
    assert [answer.status_code for answer in first] == [401, 401]
    assert _client(proxied, PROXY, forwarded_for="203.0.113.7").get("/api/v1/tasks").status_code == 429
    # What the client wrote before the proxy's own entry is not believed: still the same client.
    forged = _client(proxied, PROXY, forwarded_for="192.0.2.99, 203.0.113.7").get("/api/v1/tasks")
    assert forged.status_code == 429
    other = _client(proxied, PROXY, forwarded_for="198.51.100.20").get("/api/v1/tasks")
    assert other.status_code == 401, "another client behind the same proxy shared the first one's bucket"


def test_behind_one_proxy_https_makes_secure_cookies_and_https_links(world, behind_one_proxy):
    client = _client(behind_one_proxy, PROXY, forwarded_for="203.0.113.7", proto="https")
    client.client.environ_base["HTTP_X_FORWARDED_HOST"] = PUBLIC_HOST
    login = client.get("/login")
    assert login.status_code == 200
    assert login.headers["Strict-Transport-Security"].startswith("max-age=")
    session = [cookie for cookie in login.headers.getlist("Set-Cookie") if cookie.startswith("session=")]
    assert session and "Secure" in session[0]
    package = client.get("/public/ocds/releases.json?per_page=1").get_json()
    assert package["uri"].startswith(f"https://{PUBLIC_HOST}/public/ocds/releases.json")
    # The next page's link is built by url_for(..., _external=True).
    assert package["links"]["next"].startswith(f"https://{PUBLIC_HOST}/public/ocds/releases.json?")
