"""Every hello the builder makes parses back to what was asked (hypothesis round trips)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsdoctor.wire.codepoints import ExtensionType, NamedGroup, is_grease
from tlsdoctor.wire.extensions import KeyShareClient, RawExtension
from tlsdoctor.wire.handshake import ClientHello, HandshakeReassembler, parse_client_hello
from tlsdoctor.wire.hello import (
    EMPTY_RENEGOTIATION_INFO_SCSV,
    FALLBACK_SCSV,
    HelloSpec,
    build_client_hello,
    grease_values,
)
from tlsdoctor.wire.records import RecordBuffer, detect_sslv2
from tlsdoctor.wire.registry import GROUPS
from tlsdoctor.wire.variants import MINIMAL, MODERN, PADDED_300, PQ_LARGE, SSL3, SSLV2, TLS13, VARIANTS

G = NamedGroup
GENERATED = [
    G.X25519,
    G.SECP256R1,
    G.SECP384R1,
    G.X448,
    G.X25519MLKEM768,
    G.SECP256R1MLKEM768,
    G.MLKEM768,
    G.FFDHE2048,
]


def parse(wire: bytes) -> tuple[ClientHello, list[int], int]:
    """ClientHello, record versions, handshake message length."""
    buf, hs = RecordBuffer(), HandshakeReassembler(max_message=1 << 20)
    buf.feed(wire)
    versions = []
    while (rec := buf.next_record()) is not None:
        assert rec.content_type == 22
        versions.append(int(rec.version))
        hs.feed(rec.fragment)
    assert buf.buffered == 0
    msg = hs.next_message()
    assert msg is not None and msg.msg_type == 1 and hs.next_message() is None and hs.pending == 0
    return parse_client_hello(msg.body), versions, 4 + len(msg.body)


u16 = st.integers(0, 0xFFFF)
hostnames = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}\.){0,3}[a-z]{1,10}", fullmatch=True)

specs = st.builds(
    HelloSpec,
    record_version=st.sampled_from([0x0300, 0x0301, 0x0303]),
    client_version=st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303]),
    cipher_suites=st.lists(u16, min_size=1, max_size=60).map(tuple),
    groups=st.lists(u16, max_size=20).map(tuple),
    key_share_groups=st.lists(st.sampled_from(GENERATED), max_size=3, unique=True).map(tuple),
    signature_schemes=st.lists(u16, max_size=20).map(tuple),
    sni=st.none() | hostnames,
    alpn=st.lists(st.binary(min_size=1, max_size=20), max_size=4).map(tuple),
    supported_versions=st.lists(st.sampled_from([0x0301, 0x0302, 0x0303, 0x0304]), max_size=4).map(tuple),
    grease=st.booleans(),
    compression=st.sampled_from([(0,), (1, 0)]),
    extra_extensions=st.lists(st.integers(0x7000, 0x7FFF), max_size=3, unique=True).map(
        lambda ts: tuple(RawExtension(ExtensionType(t), bytes([t & 0xFF]) * (t % 5)) for t in ts)
    ),
    fallback_scsv=st.booleans(),
    renegotiation=st.sampled_from(["extension", "scsv", "none"]),
    session_ticket=st.booleans(),
    status_request=st.booleans(),
    extended_master_secret=st.booleans(),
    encrypt_then_mac=st.booleans(),
    session_id_len=st.sampled_from([0, 8, 32]),
    pad_f5_range=st.booleans(),
)


def no_grease(values: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(v for v in values if not is_grease(v))


def check(spec: HelloSpec, ch: ClientHello, versions: list[int]) -> None:
    assert set(versions) == {spec.record_version}
    assert ch.legacy_version == spec.client_version and len(ch.session_id) == spec.session_id_len
    suites = [int(s) for s in ch.cipher_suites]
    if spec.grease:
        assert is_grease(suites.pop(0))
    tail = [FALLBACK_SCSV] if spec.fallback_scsv else []
    if spec.renegotiation == "scsv":
        tail.insert(0, EMPTY_RENEGOTIATION_INFO_SCSV)
    assert suites == [*spec.cipher_suites, *tail]
    assert tuple(ch.compression_methods) == spec.compression
    assert ch.server_name == spec.sni
    assert (
        no_grease(ch.supported_groups) == no_grease(spec.groups)
        if spec.grease
        else ch.supported_groups == spec.groups
    )
    assert ch.signature_schemes == spec.signature_schemes
    assert ch.alpn == spec.alpn
    if spec.supported_versions:
        sv = ch.supported_versions
        assert (no_grease(sv) if spec.grease else sv) == (
            no_grease(spec.supported_versions) if spec.grease else spec.supported_versions
        )
        ks = ch.extension(ExtensionType.KEY_SHARE)
        assert isinstance(ks, KeyShareClient)
        real = [e for e in ks.entries if not is_grease(e.group)]
        assert tuple(e.group for e in real) == spec.key_share_groups
        for e in real:
            assert len(e.key_exchange) == GROUPS[e.group].client_share
    for ext_type, wanted in [
        (ExtensionType.RENEGOTIATION_INFO, spec.renegotiation == "extension"),
        (ExtensionType.SESSION_TICKET, spec.session_ticket),
        (ExtensionType.STATUS_REQUEST, spec.status_request),
        (ExtensionType.EXTENDED_MASTER_SECRET, spec.extended_master_secret),
        (ExtensionType.ENCRYPT_THEN_MAC, spec.encrypt_then_mac),
    ]:
        assert (ch.extension(ext_type) is not None) == wanted, ext_type
    for raw in spec.extra_extensions:
        assert ch.extension(raw.ext_type) == raw


@settings(max_examples=150, deadline=None)
@given(specs, st.binary(min_size=32, max_size=32))
def test_every_built_hello_parses_back(spec: HelloSpec, random: bytes) -> None:
    ch, versions, size = parse(build_client_hello(spec, random=random))
    check(spec, ch, versions)
    assert ch.random == random
    if spec.pad_f5_range:
        assert size not in range(256, 512)


@settings(max_examples=60, deadline=None)
@given(specs, st.binary(min_size=32, max_size=32), st.integers(0, 20_000))
def test_padding_hits_the_exact_size(spec: HelloSpec, random: bytes, extra: int) -> None:
    spec = replace(spec, pad_f5_range=False)
    _, _, natural = parse(build_client_hello(spec, random=random))
    target = natural + (0 if extra < 4 else extra)
    padded = replace(spec, padding_target=target)
    ch, versions, size = parse(build_client_hello(padded, random=random))
    assert size == target  # more than 16 KiB spans records: reassembly is exercised too
    check(padded, ch, versions)


def test_padding_impossible_target_is_our_bug() -> None:
    _, _, natural = parse(build_client_hello(MINIMAL, random=bytes(32)))
    with pytest.raises(ValueError):
        build_client_hello(replace(MINIMAL, padding_target=natural + 2), random=bytes(32))


def test_grease_extensions_step_around_a_callers_grease_type() -> None:
    """Found by the property test above: an extra extension of a GREASE type (0x7A7A) the
    builder also drew made a hello with a duplicate extension."""
    random = bytes(32)
    drawn = grease_values(random)
    extra = (RawExtension(ExtensionType(drawn[2]), b""), RawExtension(ExtensionType(drawn[4]), b"\x01"))
    spec = replace(MINIMAL, grease=True, extra_extensions=extra)
    ch, _, _ = parse(build_client_hello(spec, random=random))
    types = [int(e.ext_type) for e in ch.extensions or ()]
    assert len(types) == len(set(types))
    assert sum(map(is_grease, types)) == 4  # the caller's two and the builder's two


def test_fixed_random_is_deterministic() -> None:
    assert build_client_hello(PQ_LARGE, random=bytes(32)) == build_client_hello(PQ_LARGE, random=bytes(32))


@pytest.mark.parametrize(
    "spec", [v for v in VARIANTS.values() if v.record_format == "tls"], ids=lambda v: v.name
)
def test_named_variants(spec: HelloSpec) -> None:
    ch, _, size = parse(build_client_hello(replace(spec, sni="localhost")))
    check(replace(spec, sni=None if not spec.extensions else "localhost"), ch, [spec.record_version])
    if spec is not PADDED_300:
        assert size not in range(256, 512)


def test_variant_sizes() -> None:
    assert len(build_client_hello(replace(MINIMAL, sni="example.com"))) < 200
    assert 1700 <= len(build_client_hello(replace(PQ_LARGE, sni="example.com"))) <= 1900
    assert len(build_client_hello(replace(PADDED_300, sni="www.example.com"))) == 305
    ch, _, _ = parse(build_client_hello(PQ_LARGE))
    assert NamedGroup.X25519MLKEM768 in ch.key_share_groups
    assert ch.extension(ExtensionType.ENCRYPTED_CLIENT_HELLO) is not None
    assert NamedGroup.X25519 in parse(build_client_hello(MODERN))[0].key_share_groups
    assert parse(build_client_hello(TLS13))[0].supported_versions == (0x0304,)
    assert parse(build_client_hello(SSL3))[0].extensions is None


def test_sslv2_hello() -> None:
    wire = build_client_hello(SSLV2, random=bytes(range(32)))
    header = detect_sslv2(wire)
    assert header is not None and header.msg_type == 1 and header.length == len(wire) - 2
    assert wire[3:5] == b"\x00\x02"  # SSL 2.0
    assert wire[-16:] == bytes(range(16))  # challenge
