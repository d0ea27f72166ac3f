"""RFC 6125 name matching."""

from __future__ import annotations

import pytest

from tlsdoctor.certs.names import covers, dns_matches, mismatch_detail


@pytest.mark.parametrize(
    ("pattern", "name", "ok"),
    [
        ("example.com", "EXAMPLE.com.", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("w*.example.com", "www.example.com", False),
        ("*.com", "example.com", False),
        ("a.*.example.com", "a.b.example.com", False),
        ("*.bücher.example", "www.xn--bcher-kva.example", True),
    ],
)
def test_dns_matches(pattern: str, name: str, ok: bool) -> None:
    assert dns_matches(pattern, name) is ok


def test_ip_only_matches_ip_sans() -> None:
    assert covers(("IP:10.0.0.1",), "10.0.0.1")
    assert covers(("IP:::1",), "[::1]")
    assert not covers(("DNS:10.0.0.1",), "10.0.0.1")
    assert not covers(("IP:10.0.0.1",), "10.0.0.2")


def test_mismatch_detail_mentions_cn_when_no_san() -> None:
    assert "no subjectAltName" in mismatch_detail((), "a.test", "a.test")
    assert "DNS:b.test" in mismatch_detail(("DNS:b.test",), "a.test", None)
