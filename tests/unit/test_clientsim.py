"""Client profiles (recorded hellos, replayed) and the judging of a server's answer to them: pure code."""

from __future__ import annotations

import pytest

from tlsdoctor.clientsim.judge import Failure, Leaf, ServerSupport, judge
from tlsdoctor.clientsim.profiles import profiles, replay_hello
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules import RULES
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.clientsim import ClientSimulation
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    AlertLevel,
    CompressionMethod,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
)
from tlsdoctor.wire.extensions import KeyShareEntry, KeyShareHRR, KeyShareServer, SupportedVersionsServer
from tlsdoctor.wire.handshake import HRR_RANDOM, ServerHello, parse_client_hello
from tlsdoctor.wire.records import Alert
from tlsdoctor.wire.registry import CipherSuite
from tlsdoctor.wire.server_messages import ServerKeyExchange

V = ProtocolVersion


def test_the_table_has_the_clients_users_ask_about() -> None:
    table = profiles()
    assert len(table) >= 15
    for name in ("chrome101", "firefox100", "safari15", "android7", "android12", "java8", "java11", "java17",
                 "python-openssl3", "curl", "go117", "ie11-win7", "ie11-win10", "ie8-xp",
                 "android13", "android15", "java21", "java8u442", "chrome137", "firefox137", "edge133",
                 "safari26", "openssl35", "python-openssl111"):  # fmt: skip
        assert name in table, name
    newer = [p for p in table.values() if p.source.startswith("testssl.sh 3.3dev")]
    assert len(newer) == 9 and all(p.source.endswith("'") for p in newer)  # each cites its entry
    pq = {n for n, p in table.items() if 0x11EC in p.groups}  # X25519MLKEM768 offered
    assert {"android15", "chrome137", "firefox137", "edge133", "safari26", "openssl35"} <= pq
    assert "android13" not in pq and "java21" not in pq  # near misses: no post-quantum share yet
    for p in table.values():
        assert p.source and p.label
        assert p.versions, p.name
        if p.hello is not None:
            assert p.cipher_suites, p.name


def _body(record: bytes) -> bytes:
    return record[9 : 9 + int.from_bytes(record[6:9], "big")]


@pytest.mark.parametrize(
    "name", ["chrome101", "java8", "ie11-win7", "curl", "android9", "android15", "safari26", "java21"]
)
def test_replay_is_the_recorded_hello_with_our_name_and_a_fresh_random(name: str) -> None:
    profile = profiles()[name]
    assert profile.hello is not None
    sent = parse_client_hello(_body(replay_hello(profile, "a-much-longer-name.example.org", b"\x01" * 32)))
    assert sent.server_name == "a-much-longer-name.example.org"
    assert sent.random == b"\x01" * 32
    assert sent.cipher_suites == profile.hello.cipher_suites
    assert [e.ext_type for e in sent.extensions or ()] == [e.ext_type for e in profile.hello.extensions or ()]
    assert sent.supported_groups == profile.hello.supported_groups


def test_padding_keeps_the_recorded_size_when_the_name_grows() -> None:
    profile = profiles()["chrome101"]
    assert profile.hello is not None and profile.hello.extension(ExtensionType.PADDING) is not None
    assert len(replay_hello(profile, "x" * 40 + ".example")) == len(profile.record)


def test_a_client_that_sends_no_name_still_sends_none() -> None:
    profile = profiles()["ie8-xp"]
    assert profile.hello is not None and profile.hello.server_name is None
    assert parse_client_hello(_body(replay_hello(profile, "example.org"))).server_name is None


def test_the_sslv2_hello_is_replayed_with_a_fresh_challenge() -> None:
    profile = profiles()["ie6-xp"]
    assert profile.hello is None
    sent = replay_hello(profile, "example.org", b"\x02" * 32)
    assert sent[:-16] == profile.record[:-16] and sent[-16:] == b"\x02" * 16


def _hello(version: int, suite: int, group: int | None = None, *, hrr: bool = False) -> ServerHello:
    exts: list[object] = []
    if version == V.TLS1_3:
        exts.append(SupportedVersionsServer(V.TLS1_3))
        if group is not None:
            exts.append(
                KeyShareHRR(NamedGroup(group))
                if hrr
                else KeyShareServer(KeyShareEntry(NamedGroup(group), b""))
            )
    return ServerHello(
        V.TLS1_2 if version == V.TLS1_3 else V(version),
        HRR_RANDOM if hrr else b"\x00" * 32,
        b"",
        CipherSuite(suite),
        CompressionMethod.NULL,
        tuple(exts),  # type: ignore[arg-type]
    )


def test_a_server_hello_the_client_can_use_connects() -> None:
    out = judge(
        profiles()["chrome101"], end="hello", server_hello=_hello(V.TLS1_3, 0x1301, NamedGroup.X25519)
    )
    assert out.connects and out.negotiated is not None
    assert (out.negotiated.version, out.negotiated.cipher_suite, out.negotiated.group) == (
        "TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519",
    )  # fmt: skip


def test_java8_refuses_a_dh_group_above_2048_bits_and_java11_does_not() -> None:
    ske = ServerKeyExchange("dhe", dh_prime_bits=4096)
    hello = _hello(V.TLS1_2, 0x009E)  # TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    java8 = judge(profiles()["java8"], end="hello", server_hello=hello, key_exchange=ske)
    assert java8.kind is Failure.POLICY and "4096" in (java8.failure or "")
    near = judge(
        profiles()["java8"],
        end="hello",
        server_hello=hello,
        key_exchange=ServerKeyExchange("dhe", dh_prime_bits=2048),
    )
    assert near.connects


def test_openssl3_clients_refuse_a_1024_bit_rsa_key_and_sha1_signatures() -> None:
    hello = _hello(V.TLS1_2, 0xC02F)
    python = profiles()["python-openssl3"]
    weak = judge(python, end="hello", server_hello=hello, leaf=Leaf("RSA", 1024, "sha256"))
    assert weak.kind is Failure.POLICY and "1024" in (weak.failure or "")
    sha1 = judge(python, end="hello", server_hello=hello, leaf=Leaf("RSA", 2048, "sha1"))
    assert sha1.kind is Failure.POLICY and "SHA1" in (sha1.failure or "")
    assert judge(python, end="hello", server_hello=hello, leaf=Leaf("RSA", 2048, "sha256")).connects


def test_a_retry_for_a_group_the_client_lacks_fails_and_one_it_has_connects() -> None:
    chrome = profiles()["chrome101"]
    lacks = judge(
        chrome, end="hrr", server_hello=None, hrr=_hello(V.TLS1_3, 0x1301, NamedGroup.FFDHE2048, hrr=True)
    )
    assert lacks.kind is Failure.NO_COMMON_CIPHER
    has = judge(
        chrome, end="hrr", server_hello=None, hrr=_hello(V.TLS1_3, 0x1301, NamedGroup.SECP384R1, hrr=True)
    )
    assert has.connects and has.negotiated is not None and has.negotiated.after_retry


def test_a_refusal_is_named_by_what_the_server_supports_before_its_alert() -> None:
    ie8 = profiles()["ie8-xp"]
    alert = Alert(AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE)
    only13 = ServerSupport(versions=frozenset({V.TLS1_3}), suites=frozenset({0x1301}))
    out = judge(ie8, end="alert", server_hello=None, alert=alert, support=only13)
    assert out.kind is Failure.NO_COMMON_VERSION and "TLSv1.3" in (out.failure or "")
    # near miss: a version in common, so the same alert is about the suites
    with10 = ServerSupport(versions=frozenset({V.TLS1_0}), suites=frozenset({0xC013}))
    assert (
        judge(ie8, end="alert", server_hello=None, alert=alert, support=with10).kind
        is Failure.NO_COMMON_CIPHER
    )
    # asked only some of the client's versions: not enough to say "no version in common"
    partial = ServerSupport(versions=frozenset(), asked=frozenset({V.TLS1_0}))
    assert (
        judge(ie8, end="alert", server_hello=None, alert=alert, support=partial).kind
        is Failure.NO_COMMON_CIPHER
    )
    closed = judge(ie8, end="closed", server_hello=None)
    assert closed.kind is Failure.TRANSPORT


def _facts(sim: ClientSimulation) -> Facts:
    return Facts([CheckResult(id="client.profile", status=Status.FAIL, summary="", observations=(sim,))])


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("protocol", CauseId.PROTOCOL_MISMATCH),
        ("cipher", CauseId.CIPHER_MISMATCH),
        ("policy", CauseId.CLIENT_TLS_POLICY),
        ("trust", CauseId.CLIENT_CA_STORE),
    ],
)
def test_each_failure_kind_names_its_cause_and_a_connecting_client_names_none(
    kind: str, cause: CauseId
) -> None:
    base = {"client": "java8", "label": "Java 8u161", "source": "s", "version": None, "cipher_suite": None,
            "group": None, "offered_versions": ("TLSv1.2",)}  # fmt: skip
    rules = {r.cause: r for r in RULES}
    failed = _facts(ClientSimulation(**base, failure="why", failure_kind=kind))  # type: ignore[arg-type]
    match = rules[cause].match(failed)
    assert match is not None and match.confidence >= 0.85 and "Java 8u161 would fail" in match.summary
    fine = _facts(ClientSimulation(**base, failure=None, failure_kind=""))  # type: ignore[arg-type]
    assert rules[cause].match(fine) is None
