"""Attacker probe: ``TRUSTED_HOSTS`` compared the names only (Werkzeug drops the port), so ``Host: tapsyrys.kz:8080``
was answered where only ``tapsyrys.kz`` was trusted — a cache keyed without the port stored that answer for everyone,
and open data's absolute links carried the forged port. Now an entry without a port admits the scheme's default port
only, and an entry with a port exactly that port; the same holds for a host forwarded through the trusted proxies."""

from __future__ import annotations

from pathlib import Path

import pytest

OPEN_DATA = "/public/ocds/releases.json?per_page=1"


@pytest.fixture()
def client(app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["tapsyrys.kz", "intranet.tapsyrys.kz:8443"])
    return app.test_client()


@pytest.mark.parametrize(("host", "base", "status"), [
    ("tapsyrys.kz", "http://localhost", 200),
    ("tapsyrys.kz:80", "http://localhost", 200),
    ("tapsyrys.kz", "https://localhost", 200),
    ("tapsyrys.kz:443", "https://localhost", 200),
    ("tapsyrys.kz:8080", "http://localhost", 400),
    ("tapsyrys.kz:443", "http://localhost", 400),
    ("tapsyrys.kz:80", "https://localhost", 400),
    ("intranet.tapsyrys.kz:8443", "https://localhost", 200),
    ("intranet.tapsyrys.kz", "https://localhost", 400),
    ("intranet.tapsyrys.kz:8444", "https://localhost", 400),
    ("evil.example", "http://localhost", 400),
])
def test_a_trusted_name_on_another_port_is_refused(client, host, base, status):
    response = client.get("/login", headers={"Host": host}, base_url=base)
    assert response.status_code == status, host
    if status == 400:
        assert response.get_data(as_text=True) == "Unknown host."


def test_a_link_is_never_built_from_an_untrusted_port(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["tapsyrys.kz"])
    client = app.test_client()
    assert client.get(OPEN_DATA, headers={"Host": "tapsyrys.kz:8080"}).status_code == 400
    good = client.get(OPEN_DATA, headers={"Host": "tapsyrys.kz"})
    assert good.status_code == 200 and good.get_json()["uri"].startswith("http://tapsyrys.kz/public/")


def test_a_forwarded_host_is_held_to_the_same_rule(app_ctx, app, monkeypatch):
    """Behind one trusted proxy the host, port and scheme come from its X-Forwarded-Host and -Proto."""
    from app.security import trust_proxies

    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_HOPS", 1)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["tapsyrys.kz", "intranet.tapsyrys.kz:8443"])
    trust_proxies(app)
    client = app.test_client()

    def forwarded(host: str, proto: str = "https") -> int:
        return client.get("/login", headers={"Host": "10.0.0.5:8000", "X-Forwarded-Host": host,
                                             "X-Forwarded-Proto": proto}).status_code

    assert forwarded("tapsyrys.kz") == 200
    assert forwarded("tapsyrys.kz:443") == 200
    assert forwarded("tapsyrys.kz", proto="http") == 200
    assert forwarded("tapsyrys.kz:8080") == 400
    assert forwarded("intranet.tapsyrys.kz:8443") == 200
    assert forwarded("intranet.tapsyrys.kz") == 400
    # a client's own value before the proxy's is not believed: only the last hop counts
    assert forwarded("tapsyrys.kz:8080, tapsyrys.kz") == 200
    assert forwarded("tapsyrys.kz, tapsyrys.kz:8080") == 400


def test_a_trusted_host_with_a_port_that_cannot_be_is_refused_at_start(app, monkeypatch):
    from app.config import ConfigError, build_config

    monkeypatch.setenv("TRUSTED_HOSTS", "tapsyrys.kz:8443, .tapsyrys.kz")
    assert build_config(Path(app.instance_path))["TRUSTED_HOSTS"] == ["tapsyrys.kz:8443", ".tapsyrys.kz"]
    for wrong in ("tapsyrys.kz:0", "tapsyrys.kz:70000", "tapsyrys.kz:https", "tapsyrys.kz:"):
        monkeypatch.setenv("TRUSTED_HOSTS", wrong)
        with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
            build_config(Path(app.instance_path))
