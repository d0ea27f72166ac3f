"""The probes after the version probes: groups, signature schemes, certificates per key
type, and the features (stapling, renegotiation, fallback SCSV, ALPN, tickets, compression).

TLS 1.3 encrypts everything after ServerHello (RFC 8446 §4.3), so what only the encrypted
flight shows (certificate, ALPN, stapled OCSP, SCTs) is read from a TLS <= 1.2 handshake when the
server has one; otherwise one TLS 1.3 probe decrypts the flight with its own key share
(wire/flight13.py), and the ALPN choice comes from stdlib TLS 1.3 handshakes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.scan.enumerate import remove_in_blocks
from tlsdoctor.scan.offers import (
    ALL_SCHEMES,
    ALPN_CANDIDATES,
    ECDSA_SCHEMES,
    RSA_SCHEMES,
    TLS12_GROUPS,
    TLS13_GROUPS,
    TLS13_SCHEMES,
    Offer,
    suites_for,
    suites_with_auth,
)
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.result import CertificateResult, ScanData
from tlsdoctor.wire.codepoints import AlertDescription, CompressionMethod, ExtensionType, ProtocolVersion
from tlsdoctor.wire.registry import GROUPS, SIGNATURE_SCHEMES, SUITES, SuiteFlag

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from tlsdoctor.scan.enumerate import Chain
    from tlsdoctor.scan.prober import Prober
    from tlsdoctor.wire.handshake import ServerHello

V = ProtocolVersion
EDDSA_SCHEMES = (0x0807, 0x0808)  # ed25519, ed448 (RFC 8446 §4.2.3; RFC 8422 §5.1.3 for TLS 1.2)
LEGACY = (V.TLS1_2, V.TLS1_1, V.TLS1_0, V.SSL3)  # the versions whose flight is plaintext, best first


async def _accepted(chain: Awaitable[Chain[ProbeResult]]) -> list[int]:
    return (await chain).accepted


def _kind(group: int) -> str:
    """Groups of one kind (NIST curves, ML-KEM hybrids, FFDHE...) sit together in server lists."""
    info = GROUPS.get(group)
    return info.kind if info is not None else ""


# The signature algorithms a key of each suite authentication can sign with (RFC 8422 §5.1.3:
# an "ECDSA" suite also carries EdDSA certificates).
_SIGNS = {"RSA": ("rsa_pss_rsae", "rsa_pss_pss", "rsa_pkcs1"), "ECDSA": ("ecdsa", "eddsa"), "DSS": ("dsa",)}


def scheme_blocks(auth: str) -> tuple[tuple[int, ...], ...]:
    """The schemes a ServerKeyExchange signed by an ``auth`` key is asked for, in blocks that run
    side by side: one per algorithm that key can sign with (current ones; the deprecated
    SHA-1/SHA-224/MD5 ones together), then everything else in one block, so that a server
    signing with what its key should not still shows."""
    mine = _SIGNS.get(auth, ())
    blocks: dict[str, list[int]] = {}
    for code in ALL_SCHEMES:
        info = SIGNATURE_SCHEMES[code]
        own = info.algorithm in mine
        key = ("deprecated" if info.deprecated else info.algorithm) if own else "other"
        blocks.setdefault(key, []).append(code)
    order = [*mine, "deprecated", "other"]
    return tuple(tuple(blocks[k]) for k in order if k in blocks)


def best_legacy(supported: dict[ProtocolVersion, ProbeResult]) -> ProtocolVersion | None:
    """The highest supported version whose Certificate and extensions travel in clear."""
    return next((v for v in LEGACY if v in supported), None)


async def groups(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """TLS 1.3: an empty key_share makes the server name its group in an HRR (RFC 8446 §4.1.4);
    TLS <= 1.2: ECDHE suites only, the curve is in ServerKeyExchange (RFC 8422 §5.4)."""
    found: list[int] = []
    tested: set[int] = set()
    chains: list[Awaitable[list[int]]] = []
    if V.TLS1_3 in supported:

        async def offer13(gs: tuple[int, ...]) -> ProbeResult:
            return await prober.probe(
                Offer(version=V.TLS1_3, suites=suites_for(V.TLS1_3), groups=gs, shares=()), part="groups"
            )

        def pick13(r: ProbeResult) -> int | None:
            c = r.chosen
            return int(c.key_share_group) if c is not None and c.key_share_group is not None else None

        chains.append(
            _accepted(
                remove_in_blocks(
                    offer13, (TLS13_GROUPS,), pick13, family=_kind, idle=prober.idle, order_probe=False
                )
            )
        )
        tested |= set(TLS13_GROUPS)
    v = best_legacy(supported)
    if v is not None and v >= V.TLS1_0:
        ecdhe = tuple(c for c in suites_for(v) if SUITES[c].kx == "ECDHE")

        async def offer12(gs: tuple[int, ...]) -> ProbeResult:
            return await prober.probe(Offer(version=v, suites=ecdhe, groups=gs), part="groups")

        def pick12(r: ProbeResult) -> int | None:
            ske = r.key_exchange
            return int(ske.group) if ske is not None and ske.group is not None else None

        # At the same time as the TLS 1.3 chain, not after it: the report is the union (TLS 1.3's
        # order first), and what both find costs a probe each, not a round trip each.
        chains.append(
            _accepted(
                remove_in_blocks(
                    offer12, (TLS12_GROUPS,), pick12, family=_kind, idle=prober.idle, order_probe=False
                )
            )
        )
        tested |= set(TLS12_GROUPS)
    for accepted in await asyncio.gather(*chains):
        found += [g for g in accepted if g not in found]
    data.groups = found
    data.groups_tested = len(tested)


async def schemes(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """TLS 1.2: the scheme that signed ServerKeyExchange (RFC 5246 §7.4.1.4.1), by removal.
    TLS 1.3 only: one probe per scheme (the signature itself is encrypted); an acceptable
    one gets a ServerHello, the others a handshake_failure alert."""
    if V.TLS1_2 in supported:

        def pick(r: ProbeResult) -> int | None:
            ske = r.key_exchange
            return int(ske.signature_scheme) if ske is not None and ske.signature_scheme is not None else None

        async def chain(auth: str) -> list[int]:
            # One chain per key type: a server picks a suite first and fails if its key cannot
            # sign with what is left (OpenSSL does), which would end a mixed chain early.
            signed = tuple(
                c for c in suites_for(V.TLS1_2) if SUITES[c].kx in ("ECDHE", "DHE") and SUITES[c].auth == auth
            )

            async def offer(ss: tuple[int, ...]) -> ProbeResult:
                return await prober.probe(
                    Offer(version=V.TLS1_2, suites=signed, schemes=ss), part="signature schemes"
                )

            chain = await remove_in_blocks(
                offer, scheme_blocks(auth), pick, idle=prober.idle, order_probe=False, serial=prober.serial
            )
            return chain.accepted

        found = await asyncio.gather(*(chain(auth) for auth in ("ECDSA", "RSA", "DSS")))
        data.schemes = list(dict.fromkeys(s for per_key in found for s in per_key))
    elif V.TLS1_3 in supported:
        results = await asyncio.gather(
            *(
                prober.probe(
                    Offer(version=V.TLS1_3, suites=suites_for(V.TLS1_3), schemes=(s,)),
                    flight=False,
                    part="signature schemes",
                )
                for s in TLS13_SCHEMES
            )
        )
        data.schemes = [s for s, r in zip(TLS13_SCHEMES, results, strict=True) if r.server_hello is not None]
        data.notes.append("signature schemes from TLS 1.3 single-scheme probes (accepted, order unknown)")


async def certificates(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """One chain per key type: offer only RSA (or only ECDSA) suites and schemes (RFC 5246
    §7.4.2: the certificate must match the suite's authentication and the client's schemes);
    Ed25519 rides on the ECDSA suites with only the EdDSA schemes (RFC 8422 §5.1.3, TLS 1.2)."""
    v = best_legacy(supported)
    chains: list[tuple[str, tuple[bytes, ...]]] = []
    if v is not None:
        kinds = [("RSA", "RSA", RSA_SCHEMES), ("ECDSA", "ECDSA", ECDSA_SCHEMES)]
        if v >= V.TLS1_2:
            kinds.append(("Ed25519", "ECDSA", EDDSA_SCHEMES))
        results = await asyncio.gather(
            *(
                prober.probe(
                    Offer(version=v, suites=suites_with_auth(v, auth), schemes=ss if v >= V.TLS1_2 else ()),
                    part="certificates",
                )
                for _, auth, ss in kinds
            )
        )
        seen: set[bytes] = set()
        for (label, _, _), r in zip(kinds, results, strict=True):
            if r.server_hello is not None and r.certificates and r.certificates[0] not in seen:
                seen.add(r.certificates[0])
                chains.append((label, r.certificates))
    elif V.TLS1_3 in supported:
        chain = await _tls13_flight(prober, data)
        if chain:
            chains.append(("any", chain))
    if not chains:
        return
    t = prober.target
    now = dt.datetime.now(dt.UTC)
    if prober.helper is not None:
        from tlsdoctor.scan.helper import HelperError

        try:
            analysed = await prober.helper.call(
                "analyse", [c for _, c in chains], t.verify_name, now, timeout=prober.helper_time()
            )
        except HelperError:
            analysed = None  # the same analysis in-process, below
        if analysed is not None:
            for (kind, chain), found in zip(chains, analysed, strict=True):
                data.certificates.append(CertificateResult(key_type=kind, chain=chain, observations=found))
            return
    from tlsdoctor.certs.analysis import analyse_chain  # cryptography's x509: only once there is a chain
    from tlsdoctor.certs.trust import load_ca_file, load_system_store

    if prober.anchors is not None:  # loading already (commands/scan.py): do not parse it twice
        anchors = await prober.anchors
    else:
        anchors = await asyncio.to_thread(
            lambda: load_ca_file(Path(t.ca_file)) if t.ca_file else load_system_store()
        )
    for kind, chain in chains:
        found = analyse_chain(chain, t.verify_name, anchors.certificates, now, store=anchors.label)
        data.certificates.append(CertificateResult(key_type=kind, chain=chain, observations=found))


# The groups whose shared secret wire/keyshares.py computes: a TLS 1.3 probe that decrypts the
# flight offers only these (its shares are X25519 and P-256; an HRR may ask for the others).
DECRYPTABLE_GROUPS = (0x001D, 0x0017, 0x001E, 0x0018, 0x0019)


async def _tls13_flight(prober: Prober, data: ScanData) -> tuple[bytes, ...]:
    """A TLS 1.3-only server: one probe asks for stapling and SCTs and reads the encrypted flight
    with its own key share (wire/flight13.py): the chain, the leaf entry's stapled OCSP response
    and SCT list (RFC 8446 §4.4.2.1, where TLS <= 1.2 has them in clear). When the flight cannot
    be read (a group whose secret this tool cannot compute, a record that does not decrypt or
    parse) the note says why and a stdlib handshake still gets the chain."""
    offer = Offer(
        version=V.TLS1_3,
        suites=suites_for(V.TLS1_3),
        groups=DECRYPTABLE_GROUPS,
        status_request=True,
        sct=True,
    )
    r = await prober.probe(offer, decrypt=True, retry_hrr=True, part="certificates")
    if r.finished is not None and r.certificates:
        data.features["ocsp_stapling"] = r.certificate_status  # asked, and the whole flight read
        if r.ocsp_response or r.sct_list is not None:
            data.delivered[r.certificates[0]] = (r.ocsp_response, r.sct_list)
        data.notes.append("TLS 1.3 only: one chain, from the decrypted TLS 1.3 flight (key type not chosen)")
        if not r.finished:
            data.notes.append("the server's TLS 1.3 Finished does not match the transcript (RFC 8446 §4.4.4)")
        return r.certificates
    why = r.flight_problem or r.detail or f"the probe ended with {r.end}"
    if r.server_hello is not None:
        data.notes.append(f"TLS 1.3 flight not read ({why}): stapling and delivered SCTs unknown")
    from tlsdoctor.scan.tls13 import stdlib_chain

    chain = await stdlib_chain(prober)
    if chain:
        data.notes.append("TLS 1.3 only: one chain, from a stdlib handshake (key type not chosen)")
    return chain


async def features(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """One TLS <= 1.2 probe asking for everything, the ALPN chain, and the fallback SCSV probe.
    (A TLS 1.3-only server's stapling is read with its certificate: :func:`_tls13_flight`.)"""
    f = data.features
    for name in (
        "ocsp_stapling",
        "secure_renegotiation",
        "fallback_scsv",
        "alpn",
        "session_tickets",
        "compression",
        "extended_master_secret",
        "encrypt_then_mac",
    ):
        f.setdefault(name, None)  # unknown until a probe says (the certificates phase may already have)
    v = best_legacy(supported)
    tasks = [_fallback(prober, supported, data)]
    if v is not None:
        tasks.append(_legacy_features(prober, v, data))
    elif V.TLS1_3 in supported:
        tasks.append(_tls13_features(prober, data))
    await asyncio.gather(*tasks)


async def _tls13_features(prober: Prober, data: ScanData) -> None:
    """A TLS 1.3-only server: compression cannot exist (RFC 8446 §4.1.3: the method is 0), and
    the ALPN choice is encrypted, so its chain runs on stdlib handshakes (scan/tls13.py). The
    rest stays unknown: renegotiation, EMS and encrypt-then-MAC are TLS <= 1.2 mechanisms, and
    the tickets come after the client's Finished (the stapled OCSP response: :func:`_tls13_flight`)."""
    from tlsdoctor.scan.tls13 import AlpnAnswer, alpn_answer

    data.features["compression"] = "none"

    async def offer(idx: tuple[int, ...]) -> AlpnAnswer:
        return await alpn_answer(prober, tuple(ALPN_CANDIDATES[i] for i in idx))

    def pick(a: AlpnAnswer) -> int | None:
        return ALPN_CANDIDATES.index(a.protocol) if a.protocol in ALPN_CANDIDATES else None

    # One protocol per handshake, all at once (a wave), then their order proven (another).
    singles = [(i,) for i in range(len(ALPN_CANDIDATES))]
    chain = await remove_in_blocks(offer, singles, pick, order_probe=False)  # type: ignore[arg-type]
    if any(a.end == "hello" for a in chain.probes):  # else: no handshake, no answer either way
        data.features["alpn"] = [ALPN_CANDIDATES[i].decode() for i in chain.accepted]


async def _legacy_features(prober: Prober, v: ProtocolVersion, data: ScanData) -> None:
    f = data.features
    tls = v >= V.TLS1_0  # SSL 3.0 hellos have no extensions
    base = Offer(
        version=v,
        suites=suites_for(v),
        status_request=tls,
        sct=tls,
        session_ticket=tls,
        compression=True,
        alpn=ALPN_CANDIDATES if v >= V.TLS1_0 else (),
    )

    async def offer(idx: tuple[int, ...]) -> ProbeResult:
        return await prober.probe(
            Offer(version=v, suites=suites_for(v), alpn=tuple(ALPN_CANDIDATES[i] for i in idx)),
            part="features",
        )

    def pick(r: ProbeResult) -> int | None:
        chosen = r.server_hello.alpn if r.server_hello is not None else None
        return ALPN_CANDIDATES.index(chosen) if chosen in ALPN_CANDIDATES else None

    first = await prober.probe(base, part="features")
    sh = first.server_hello
    if sh is None:
        return
    f["secure_renegotiation"] = sh.extension(ExtensionType.RENEGOTIATION_INFO) is not None  # RFC 5746 §3.6
    f["compression"] = (
        "DEFLATE"
        if sh.compression == CompressionMethod(1)
        else ("none" if sh.compression == CompressionMethod.NULL else f"0x{int(sh.compression):02X}")
    )
    if tls:
        f["session_tickets"] = sh.extension(ExtensionType.SESSION_TICKET) is not None  # RFC 5077 §3.2
        acked = sh.extension(ExtensionType.STATUS_REQUEST) is not None  # RFC 6066 §8
        f["ocsp_stapling"] = acked and first.certificate_status
        sct = sh.extension(ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP)  # RFC 6962 §3.3.1
        if first.certificates and (first.ocsp_response or sct is not None):
            data.delivered[first.certificates[0]] = (first.ocsp_response, sct.body() if sct else None)
        f["extended_master_secret"] = sh.extension(ExtensionType.EXTENDED_MASTER_SECRET) is not None
        # The chain from the probe that offered them all (RFC 7301 §3.2: the server's choice).
        alpn, f["encrypt_then_mac"] = await asyncio.gather(
            remove_in_blocks(offer, (tuple(range(len(ALPN_CANDIDATES))),), pick, first, order_probe=False),
            _encrypt_then_mac(prober, v, sh),
        )
        f["alpn"] = [ALPN_CANDIDATES[i].decode() for i in alpn.accepted]


async def _encrypt_then_mac(prober: Prober, v: ProtocolVersion, sh: ServerHello) -> bool | None:
    """RFC 7366 §3: a server that picks an AEAD or stream suite MUST NOT answer encrypt_then_mac,
    so its absence there says nothing; then one hello offering only CBC suites asks again. None
    when the server takes no CBC suite (the extension has nothing to apply to)."""
    if sh.extension(ExtensionType.ENCRYPT_THEN_MAC) is not None:
        return True
    chosen = SUITES.get(sh.cipher_suite)
    if chosen is not None and SuiteFlag.CBC in chosen.flags:
        return False
    cbc = tuple(c for c in suites_for(v) if SuiteFlag.CBC in SUITES[c].flags)
    r = await prober.probe(Offer(version=v, suites=cbc), flight=False, part="features")
    if r.server_hello is None:
        return None
    return r.server_hello.extension(ExtensionType.ENCRYPT_THEN_MAC) is not None


async def _fallback(prober: Prober, supported: dict[ProtocolVersion, ProbeResult], data: ScanData) -> None:
    """RFC 7507 §3: a hello below the server's best version with TLS_FALLBACK_SCSV must get
    inappropriate_fallback. Only meaningful when the server has a lower version to fall to."""
    family = sorted((v for v in supported if v >= V.SSL3), reverse=True)
    if len(family) < 2:
        return
    lower = family[1]
    r = await prober.probe(
        Offer(version=lower, suites=suites_for(lower), fallback_scsv=True), flight=False, part="features"
    )
    if r.alert is not None and r.alert.description == AlertDescription.INAPPROPRIATE_FALLBACK:
        data.features["fallback_scsv"] = True
    elif r.server_hello is not None:
        data.features["fallback_scsv"] = False
