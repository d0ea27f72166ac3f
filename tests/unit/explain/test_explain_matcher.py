"""Input bounds, regex safety, the knowledge files' integrity, and the report's shape."""

from __future__ import annotations

import re
import time

import pytest

from tlsdoctor.commands.explain import read_input, run_explain
from tlsdoctor.errors import InputError
from tlsdoctor.explain import detect_target, find_clues
from tlsdoctor.explain.knowledge import knowledge
from tlsdoctor.explain.matcher import MAX_CHARS
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.model import Status, Verdict


@pytest.mark.parametrize("text", ["", "   \n\t  \n"])
def test_empty_input(text: str) -> None:
    with pytest.raises(InputError, match="empty"):
        find_clues(text)


def test_binary_garbage() -> None:
    garbage = bytes(range(256)) * 64
    with pytest.raises(InputError, match="binary"):
        find_clues(garbage.decode("latin-1"))
    with pytest.raises(InputError, match="binary"):
        read_input(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00" * 100)
    with pytest.raises(InputError, match="binary"):
        find_clues(read_input(bytes([0x89, 0xFF, 0xFE, 0xC3, 0x28, 0x01, 0x02]) * 500))


def test_long_input_keeps_its_end() -> None:
    text = "x" * (MAX_CHARS + 10) + "\ncurl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL"
    report = run_explain(text)
    assert "only its end was read" in report.checks[0].summary
    assert any(c.pattern_id == "openssl.ssl-error-syscall" for c in report.checks[0].observations)


ADVERSARIAL = [
    "a" * 100_000,
    "error:" * 17_000,
    "certificate subject name " * 4_000,
    "ssl_do_handshake() failed " * 4_000,
    "x509: certificate is valid for a, " * 3_000,
    "alert " * 17_000,
    "Connection reset by peer " * 4_000,
    "ECONNRESET errno=104 " * 5_000,
]


def test_adversarial_input_is_bounded_in_time() -> None:
    """Every pattern against 100 KB of near-matches: generous bound, catches catastrophic backtracking."""
    for text in ADVERSARIAL:
        start = time.perf_counter()
        find_clues(text)
        elapsed = time.perf_counter() - start
        assert elapsed < 1.0, (text[:30], elapsed)


def test_patterns_have_no_unbounded_wildcards() -> None:
    """Gaps are written .{0,N}: an unbounded .* or a quantified group inside a quantified group is a bug."""
    risky = re.compile(r"(?<!\\)\.[*+]|\)[*+]\)?[*+{]")
    for p in knowledge().patterns:
        for rx in (p.regex, p.exact):
            assert rx is None or not risky.search(rx.regex.pattern), p.id


def test_knowledge_is_consistent() -> None:
    kb = knowledge()
    for rx in [r for p in kb.patterns for r in (p.regex, p.exact) if r is not None] + list(kb.targets):
        assert rx.regex.pattern == rx.source  # compiles (lazily compiled in production)
    valid = {c.value for c in CauseId}
    for p in kb.patterns:
        assert p.family and p.meaning and p.id.split(".")[0] in (p.family, "alert", "errno"), p.id
        assert all(cause in valid and 0 < w <= 1 for cause, w in p.causes), p.id
        assert all("{target}" in n or "tlsdoctor host" in n for n in p.next), p.id
    for alert in kb.alerts:
        if f"alert.{alert}" in kb.by_id:
            assert kb.alerts[alert].replace("_", " ") in kb.by_id[f"alert.{alert}"].meaning.replace("_", " ")


def test_pattern_counts_per_family() -> None:
    families: dict[str, int] = {}
    for p in knowledge().patterns:
        families[p.family] = families.get(p.family, 0) + 1
    for single in ("generic", "public"):  # fallbacks, and clues about targets rather than a tool's wording
        families.pop(single)
    assert all(n >= 3 for n in families.values()), families
    assert sum(families.values()) >= 150


def test_report_shape_for_decisive_text() -> None:
    report = run_explain(
        "curl: (60) SSL certificate problem: certificate has expired\n"
        "* Closing connection to https://shop.example.com/cart"
    )
    assert report.command == "explain"
    assert report.verdict is Verdict.FAULT
    assert report.causes[0].id == "cert-expired"
    assert report.causes[0].confidence >= 0.9
    assert report.causes[0].evidence[0].check == "explain.text"
    assert report.checks[0].status is Status.FAIL
    assert report.extra["detected_target"] == "shop.example.com:443"
    assert report.target is not None and report.target.host == "shop.example.com"
    assert report.extra["next_checks"][0] == "tlsdoctor diagnose shop.example.com:443"
    assert "tlsdoctor host" in report.extra["next_checks"]  # the clock, for client-clock-skew


def test_generic_verify_failure_is_moot_beside_the_specific_reason() -> None:
    clues = {
        c.pattern_id: c
        for c in find_clues(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)"  # noqa: E501
        )
    }
    assert all(w == 0 for _, w in clues["openssl.certificate-verify-failed"].causes)
    assert dict(clues["openssl.cert-expired"].causes)["cert-expired"] == 0.9


def test_same_event_counts_once() -> None:
    one = run_explain("Connection reset by peer")
    three = run_explain(
        "Error: read ECONNRESET\n  errno: -104,\n  code: 'ECONNRESET'\nConnection reset by peer"
    )
    assert one.causes[0].confidence == three.causes[0].confidence
    assert len(three.causes[0].evidence) >= 2


def test_unknown_text_is_inconclusive_with_a_placeholder() -> None:
    report = run_explain("something went wrong, please try again later")
    assert report.verdict is Verdict.INCONCLUSIVE
    assert report.causes == ()
    assert report.checks[0].status is Status.WARN
    assert report.extra == {"next_checks": ["tlsdoctor diagnose HOST:PORT"], "detected_target": None}


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("HTTPSConnectionPool(host='pypi.org', port=443): Max retries", "pypi.org:443"),
        ("connect ECONNREFUSED 127.0.0.1:8443", "127.0.0.1:8443"),
        (
            "read tcp [2001:db8::2]:51234->[2001:db8::1]:443: read: connection reset by peer",
            "[2001:db8::1]:443",
        ),
        (
            'psql: error: connection to server at "db.example.com" (10.0.0.5), port 5432 failed',
            "db.example.com:5432",
        ),
        ("host=ldap.example.com port=636 tls handshake failed", "ldap.example.com:636"),
        ("no endpoint here, not really", None),
    ],
)
def test_detect_target(text: str, target: str | None) -> None:
    found = detect_target(text)
    assert (str(found) if found else None) == target


def test_every_pattern_is_bounded_by_the_prefilter_window() -> None:
    """Long texts are searched only within WINDOW of a keyword: every match must fit in it."""
    from re import _parser  # type: ignore[attr-defined]  # private, but stable in 3.11+

    from tlsdoctor.explain.prefilter import WINDOW

    kb = knowledge()
    rxs = [rx for p in kb.patterns for rx in (p.regex, p.exact) if rx is not None]
    rxs += [*kb.targets, *kb.alert_contexts, *kb.x509_contexts, kb.code_context]
    rxs += [c.regex for c in kb.errno_contexts]
    for rx in rxs:
        if rx.keywords is not None:
            _, widest = _parser.parse(rx.regex.pattern, rx.regex.flags).getwidth()
            assert widest <= WINDOW, rx.regex.pattern


def test_prefilter_never_hides_a_match() -> None:
    """Keywords are present whenever the pattern matches; windowed search finds the same match."""
    from explain_samples_clients import CLIENT_SAMPLES
    from explain_samples_servers import SERVER_SAMPLES

    from tlsdoctor.explain.prefilter import lower_ascii

    kb = knowledge()
    pad = ". " * 10_000
    for sample in CLIENT_SAMPLES + SERVER_SAMPLES:
        low = lower_ascii(sample.text)
        for p in kb.patterns:
            if p.regex is None or (m := p.regex.regex.search(low)) is None:
                continue
            assert p.regex.possible(low), p.id
            windowed = p.regex.search(pad + low + pad)
            assert windowed is not None and windowed.start() == m.start() + len(pad), p.id


@pytest.mark.parametrize(
    ("text", "top"),
    [
        # an alert the server sent about OUR (client) certificate is not a server-certificate verdict
        (
            "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired (_ssl.c:2580)",  # noqa: E501
            "client-cert-required",
        ),
        (
            "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired",
            "client-cert-required",
        ),
        (
            "error:14094414:SSL routines:ssl3_read_bytes:sslv3 alert certificate revoked:SSL alert number 44",
            "client-cert-required",
        ),
        # while the local verifier's own "certificate has expired" is
        ("verify error:num=10:certificate has expired", "cert-expired"),
    ],
)
def test_received_alert_is_not_a_local_verify_result(text: str, top: str) -> None:
    assert run_explain(text).causes[0].id == top


def test_knowledge_cache_gives_the_same_knowledge(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsed-files cache is an optimisation only: a cached load equals a fresh one."""
    from tlsdoctor.explain import knowledge as kmod
    from tlsdoctor.explain import prefilter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kmod.knowledge.cache_clear()
    prefilter.KEYWORD_CACHE.clear()
    fresh = kmod.knowledge()
    assert list((tmp_path / "tlsdoctor").glob("explain-knowledge-*.json"))  # type: ignore[operator]
    kmod.knowledge.cache_clear()
    prefilter.KEYWORD_CACHE.clear()
    cached = kmod.knowledge()
    kmod.knowledge.cache_clear()
    assert [p.id for p in cached.patterns] == [p.id for p in fresh.patterns]
    assert [(p.regex.keywords if p.regex else None) for p in cached.patterns] == [
        (p.regex.keywords if p.regex else None) for p in fresh.patterns
    ]
    assert cached.curl_codes == fresh.curl_codes and len(cached.option_hints) == len(fresh.option_hints)
