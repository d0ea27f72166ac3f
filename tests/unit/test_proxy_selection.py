"""Which proxy applies: --proxy, --no-proxy, HTTPS_PROXY and NO_PROXY, as curl and requests read them."""

from __future__ import annotations

import pytest

from tlsdoctor.errors import UsageError
from tlsdoctor.net.proxy import parse_proxy_url, proxy_for


def test_no_environment_means_direct() -> None:
    assert proxy_for("example.test", None, False) is None


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy"])
def test_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "http://user:p%40ss@198.18.0.1:3128")
    proxy = proxy_for("example.test", None, False)
    assert proxy is not None
    assert (proxy.host, proxy.port, proxy.credentials) == ("198.18.0.1", 3128, ("user", "p@ss"))
    assert proxy.display == "http://198.18.0.1:3128"  # credentials never printed


def test_no_proxy_bypasses_and_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://198.18.0.1:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.test")
    assert proxy_for("api.internal.test", None, False) is None
    assert proxy_for("example.test", None, True) is None
    assert proxy_for("example.test", None, False) is not None


def test_explicit_proxy_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://198.18.0.1:3128")
    proxy = proxy_for("example.test", "198.18.0.2:8080", False)
    assert proxy is not None and (proxy.host, proxy.port, proxy.source) == ("198.18.0.2", 8080, "--proxy")


@pytest.mark.parametrize("bad", ["socks5://198.18.0.1:1080", "http://", "http://198.18.0.1:99999"])
def test_bad_proxy_urls(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_proxy_url(bad)
