"""Settings of issue 13 §3 come from the environment; login counters go to Redis in the scale-out mode."""

from __future__ import annotations

import pytest

from app.config import build_config


def test_embedded_mode_counts_logins_in_memory(monkeypatch, tmp_path):
    for name in ("BACKGROUND_MODE", "RATELIMIT_STORAGE_URI", "SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS"):
        monkeypatch.delenv(name, raising=False)
    config = build_config(tmp_path)
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert (config["SESSION_IDLE_MINUTES"], config["SESSION_ABSOLUTE_HOURS"]) == (30, 12)
    assert config["WTF_CSRF_CHECK_DEFAULT"] is False  # app.people.tokens checks CSRF itself


def test_scale_out_mode_counts_logins_in_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKGROUND_MODE", "celery")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("PASSWORD_MIN_LENGTH", "14")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    config = build_config(tmp_path)
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/11"
    assert (config["SESSION_IDLE_MINUTES"], config["PASSWORD_MIN_LENGTH"]) == (15, 14)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/12")
    assert build_config(tmp_path)["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/12"


def test_forwarded_headers_are_believed_only_for_the_proxies_named(monkeypatch, tmp_path):
    monkeypatch.delenv("TRUSTED_PROXY_HOPS", raising=False)
    assert build_config(tmp_path)["TRUSTED_PROXY_HOPS"] == 0  # a direct deployment: nothing forwarded is believed
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "2")
    assert build_config(tmp_path)["TRUSTED_PROXY_HOPS"] == 2
    for wrong in ("-1", "yes"):
        monkeypatch.setenv("TRUSTED_PROXY_HOPS", wrong)
        with pytest.raises(ValueError, match="TRUSTED_PROXY_HOPS"):
            build_config(tmp_path)
