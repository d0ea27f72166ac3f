"""tlsdoctor.inputs and the parsers of target.py, as pure functions: what is accepted, what is
refused, and what an error line may repeat of the input."""

from __future__ import annotations

import math

import pytest

from tlsdoctor.errors import UsageError
from tlsdoctor.inputs import count, resolver_address, seconds
from tlsdoctor.net.proxy import parse_proxy_url
from tlsdoctor.target import normalize_host, parse_target, redact_userinfo, shown


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("http://user:pass@h:3128", "http://***@h:3128"),
        ("socks5://user:p@ss@[::1", "socks5://***@[::1"),  # an '@' in the password, and unparsable
        ("user:pass@h:3128", "***@h:3128"),  # no scheme, as HTTPS_PROXY often is
        ("http://h:3128", "http://h:3128"),
        ("http://token@h", "http://***@h"),  # a token as the user name is a secret too
    ],
)
def test_redact_userinfo(url: str, safe: str) -> None:
    assert redact_userinfo(url) == safe


def test_proxy_url_keeps_credentials_but_never_shows_them() -> None:
    proxy = parse_proxy_url("http://us%40er:pa%3Ass@proxy.example:3128", "HTTPS_PROXY")
    assert proxy.credentials == ("us@er", "pa:ss")
    assert "pa" not in repr(proxy) and "pa" not in proxy.display
    assert (proxy.host, proxy.port) == ("proxy.example", 3128)


def test_shown_cuts_long_input_and_says_how_long() -> None:
    assert shown("abc") == "'abc'"
    cut = shown("x" * 100_000)
    assert len(cut) < 100 and cut.endswith("(100000 characters)")
    assert shown("\x1b[2J") == "'\\x1b[2J'"  # control characters escaped


@pytest.mark.parametrize("text", ["٤٤٣", "1" * 4301, "", "+1", " 1 1", "0", "65536", "1e3", "\uff11"])
def test_port_refused(text: str) -> None:
    with pytest.raises(UsageError):
        count(text, 1, 65535, "--port")


@pytest.mark.parametrize(("text", "value"), [("443", 443), ("00443", 443), (" 8443 ", 8443), (443, 443)])
def test_port_accepted(text: object, value: int) -> None:
    assert count(text, 1, 65535, "--port") == value


@pytest.mark.parametrize(
    "value", ["٢", "nan", "inf", "-1", "0", "1e3", "3601", math.nan, math.inf, 0, -2, True]
)
def test_seconds_refused(value: object) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        seconds(value)


@pytest.mark.parametrize(("value", "expected"), [("2", 2.0), ("0.5", 0.5), (".5", 0.5), (3, 3.0), (2.5, 2.5)])
def test_seconds_accepted(value: object, expected: float) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("127.0.0.1", "127.0.0.1"), ("127.0.0.1:53", "127.0.0.1"), ("[::1]:5353", "[::1]:5353"), ("::1", "::1")],
)
def test_resolver_accepted(text: str, canonical: str) -> None:
    assert resolver_address(text) == canonical


@pytest.mark.parametrize("text", ["[::1]junk", "[::1", "host.example", "127.0.0.1:0", "[::1]:٥٣", ""])
def test_resolver_refused(text: str) -> None:
    with pytest.raises(UsageError):
        resolver_address(text)


@pytest.mark.parametrize(
    ("name", "ascii_name"),
    [
        ("straße.de", "xn--strae-oqa.de"),  # IDNA 2008 / UTS 46 nontransitional, not strasse.de
        ("Straße.DE", "xn--strae-oqa.de"),
        ("fa\u00df\uff0ede", "xn--fa-hia.de"),  # full-width dot mapped (UTS 46)
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--strae-oqa.de", "xn--strae-oqa.de"),
    ],
)
def test_idna2008_names(name: str, ascii_name: str) -> None:
    assert normalize_host(name) == (ascii_name, False)


@pytest.mark.parametrize("name", ["☃.example", "a\u200db.example", "⒈.example"])
def test_idna2008_disallowed(name: str) -> None:
    with pytest.raises(UsageError, match="internationalised"):
        normalize_host(name)


@pytest.mark.parametrize("target", ["https://[::1/", "https://[::1]x/", "https://h:٤٤٣/", "https://h:0/"])
def test_url_targets_refused(target: str) -> None:
    with pytest.raises(UsageError):
        parse_target(target)


def test_url_target_port_and_user() -> None:
    parsed = parse_target("https://user:pw@[2001:db8::1]:8443/path?q#f")
    assert (parsed.host, parsed.port, parsed.is_ip) == ("2001:db8::1", 8443, True)
    assert parse_target("https://straße.de").host == "xn--strae-oqa.de"


def test_library_explain_callable_again_after_its_subpackage_is_imported() -> None:
    """The first call imports tlsdoctor.explain (the subpackage), which used to replace the
    library function of that name: the second call raised "'module' object is not callable"."""
    import tlsdoctor
    import tlsdoctor.explain.matcher  # what the first call, or any import, does

    assert callable(tlsdoctor.explain)
    first = tlsdoctor.explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    second = tlsdoctor.explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    assert first.causes[0].id == second.causes[0].id
