"""server-not-tls from STARTTLS observations: a positive and a near miss per reading."""

from __future__ import annotations

import dataclasses

from helpers import facts, hs

from tlsdoctor.inference.rules import tls
from tlsdoctor.observations.starttls import StarttlsOutcome as S
from tlsdoctor.observations.starttls import StarttlsResult
from tlsdoctor.observations.tls import HandshakeAttempt
from tlsdoctor.observations.tls import HandshakeOutcome as H


def on_5432(variant: str) -> HandshakeAttempt:
    """A handshake closed (FIN, no byte) on PostgreSQL's port."""
    return dataclasses.replace(hs(variant, H.EOF), port=5432)


PG_REFUSED = StarttlsResult(
    protocol="postgres",
    outcome=S.REFUSED,
    stage="the answer to SSLRequest",
    reason="the server does not support SSL: it answered 'N' to SSLRequest",
    reply="N",
)


def test_refused_upgrade_is_server_not_tls_naming_the_protocol() -> None:
    m = tls.server_not_tls(facts(PG_REFUSED))
    assert m is not None and m.confidence >= 0.9
    assert "PostgreSQL" in m.summary and "does not support SSL" in m.summary
    assert "'N'" in m.evidence[0].observation


def test_near_miss_upgrade_ready_then_tls_ok_is_not_server_not_tls() -> None:
    ready = StarttlsResult(protocol="smtp", outcome=S.READY, stage="the STARTTLS reply")
    assert tls.server_not_tls(facts(ready, hs("default", H.OK, version="TLSv1.3"))) is None


def test_wrong_protocol_names_the_right_starttls() -> None:
    wrong = StarttlsResult(protocol="imap", outcome=S.NOT_THIS_PROTOCOL, first_bytes=b"+OK POP3 ready\r\n")
    m = tls.server_not_tls(facts(wrong))
    assert m is not None and "--starttls pop3" in m.summary and "--starttls imap was asked for" in m.summary


def test_near_miss_starttls_on_an_implicit_tls_port_is_not_server_not_tls() -> None:
    tls_bytes = StarttlsResult(
        protocol="postgres", outcome=S.NOT_THIS_PROTOCOL, first_bytes=b"\x15\x03\x03\x00\x02"
    )
    assert tls.server_not_tls(facts(tls_bytes)) is None
    assert "drop --starttls" in tls_bytes.describe()


def test_plaintext_after_an_agreed_starttls_says_so() -> None:
    ready = StarttlsResult(protocol="smtp", outcome=S.READY)
    m = tls.server_not_tls(facts(ready, hs("default", H.NOT_TLS, first_bytes=b"500 5.5.2 what?\r\n")))
    assert m is not None and "agreed to smtp STARTTLS" in m.summary


def test_ambiguous_220_banner_offers_smtp_or_ftp() -> None:
    m = tls.server_not_tls(facts(hs("default", H.NOT_TLS, first_bytes=b"220 welcome\r\n")))
    assert m is not None and "--starttls smtp (or ftp)" in m.summary


def test_silent_close_on_postgres_port_suggests_starttls_postgres() -> None:
    runs = [on_5432(v) for v in ("default", "no-verify", "no-sni")]
    m = tls.server_not_tls(facts(*runs))
    assert m is not None and "--starttls postgres" in m.summary
    assert m.confidence > tls.server_closed(facts(*runs)).confidence  # type: ignore[union-attr]


def test_near_miss_silent_close_on_443_is_not_server_not_tls() -> None:
    runs = [hs(v, H.EOF) for v in ("default", "no-verify", "no-sni")]
    assert tls.server_not_tls(facts(*runs)) is None


def test_near_miss_silent_close_on_postgres_port_with_starttls_given() -> None:
    closed = StarttlsResult(protocol="postgres", outcome=S.EOF, stage="the answer to SSLRequest")
    assert tls.server_not_tls(facts(closed, *[on_5432(v) for v in ("default", "no-sni")])) is None
