"""Scan hellos parse back to what was offered (the same codec the server sees)."""

from __future__ import annotations

import pytest

from tlsdoctor.scan.offers import TLS12_GROUPS, TLS13_GROUPS, VERSIONS, Offer, build, suites_for
from tlsdoctor.wire.codepoints import ExtensionType, NamedGroup, ProtocolVersion
from tlsdoctor.wire.extensions import SupportedGroups
from tlsdoctor.wire.handshake import parse_client_hello
from tlsdoctor.wire.registry import SUITES, SuiteFlag

V = ProtocolVersion


def parsed(offer: Offer):  # type: ignore[no-untyped-def]
    record = build(offer)
    assert record[0] == 22
    return parse_client_hello(record[9:])  # 5-byte record header + 4-byte handshake header


@pytest.mark.parametrize(("name", "version"), [v for v in VERSIONS if v[1] != V.SSL2])
def test_every_suite_of_the_version_is_offered(name: str, version: ProtocolVersion) -> None:
    suites = suites_for(version)
    hello = parsed(Offer(version=version, suites=suites, sni="localhost"))
    offered = [int(s) for s in hello.cipher_suites]
    assert set(suites) <= set(offered)
    assert all(SUITES[s].min_version <= version <= SUITES[s].max_version for s in suites)
    assert not any(SUITES[s].flags & SuiteFlag.SCSV for s in suites)


def test_candidates_cover_pq_hybrids_and_legacy_curves() -> None:
    assert NamedGroup.X25519MLKEM768 in TLS13_GROUPS and NamedGroup.SECP256R1MLKEM768 in TLS13_GROUPS
    assert NamedGroup.SECP384R1MLKEM1024 in TLS13_GROUPS
    assert NamedGroup.SECT163K1 in TLS12_GROUPS and NamedGroup.X25519MLKEM768 not in TLS12_GROUPS
    assert len(suites_for(V.TLS1_2)) > 300


def test_group_probe_has_an_empty_key_share_and_the_asked_groups() -> None:
    hello = parsed(Offer(version=V.TLS1_3, suites=suites_for(V.TLS1_3), groups=(0x11EC, 0x1D), shares=()))
    groups = next(e for e in hello.extensions if isinstance(e, SupportedGroups))
    assert [int(g) for g in groups.groups] == [0x11EC, 0x1D]
    key_share = next(e for e in hello.extensions if e.ext_type == ExtensionType.KEY_SHARE)
    assert key_share.body() == b"\x00\x00"


def test_fallback_scsv_and_deflate_are_offered_when_asked() -> None:
    hello = parsed(Offer(version=V.TLS1_1, suites=(0x002F,), fallback_scsv=True, compression=True))
    assert int(hello.cipher_suites[-1]) == 0x5600  # RFC 7507 §4: after the real suites
    assert [int(c) for c in hello.compression_methods] == [1, 0]


def test_sslv2_hello_is_the_v2_format() -> None:
    record = build(Offer(version=V.SSL2, suites=()))
    assert record[0] & 0x80 and record[2] == 1  # 2-byte header, CLIENT-HELLO


def test_spliced_hellos_are_the_codecs_bytes() -> None:
    """build() splices suites, groups and schemes into a cached template; the bytes must be
    exactly what the codec builds for the same offer (same random and key shares), padding
    out of the F5 range included (short TLS 1.0 suite lists land in it)."""
    import random

    from tlsdoctor.scan.offers import ALL_SCHEMES, ALPN_CANDIDATES, _build

    rng = random.Random(7)
    for _, version in VERSIONS:
        if version == V.SSL2:
            continue
        candidates = suites_for(version)
        groups = TLS13_GROUPS if version >= V.TLS1_3 else TLS12_GROUPS
        for k in (0, 1, 2, 5, 20, 60, 100, 150, len(candidates)):
            k = min(k, len(candidates))
            offers = [
                Offer(version=version, suites=tuple(rng.sample(candidates, k))),
                Offer(
                    version=version,
                    suites=candidates[:k],
                    groups=tuple(rng.sample(groups, rng.randint(1, len(groups)))),
                    shares=rng.choice([None, (), (0x001D,)]),
                    schemes=tuple(rng.sample(ALL_SCHEMES, rng.randint(1, len(ALL_SCHEMES)))),
                    sni=rng.choice([None, "localhost"]),
                ),
                Offer(
                    version=version,
                    suites=candidates[-k:] if k else (),
                    alpn=ALPN_CANDIDATES[: rng.randint(0, 5)],
                    status_request=True,
                    session_ticket=True,
                    compression=True,
                    fallback_scsv=True,
                    sni="example.org",
                ),
            ]
            for offer in offers:
                assert build(offer) == _build(offer), (version, k, offer)


def test_blocks_cover_every_suite_once() -> None:
    from tlsdoctor.scan.offers import suite_blocks

    for _, version in VERSIONS:
        flat = [c for block in suite_blocks(version) for c in block]
        assert sorted(flat) == sorted(suites_for(version)) and len(set(flat)) == len(flat)
