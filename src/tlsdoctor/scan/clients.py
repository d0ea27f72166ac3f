"""Client simulation: each well-known client's recorded hello, replayed once against the server.

The probes go out with the scan's other phases (one wave, under the Prober's connection gate);
the judging waits for the rest of the scan, because why a client fails ("no version in common:
the server accepts TLS 1.3 only") and whether it would accept the certificate (TLS 1.3 sends it
encrypted, so the scan's own certificate probes supply it) come from the other phases' findings.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tlsdoctor.clientsim.judge import Outcome, ServerSupport, judge
from tlsdoctor.clientsim.profiles import ClientProfile, profiles, replay_hello
from tlsdoctor.scan.offers import VERSIONS
from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.result import ScanData
from tlsdoctor.wire.registry import SIGNATURE_SCHEMES

if TYPE_CHECKING:
    from tlsdoctor.scan.prober import Prober

PART = "client simulation"
Answers = list[tuple[ClientProfile, ProbeResult]]


async def probe_clients(prober: Prober) -> Answers:
    """Send every profile's hello (with our SNI) and read the server's first flight."""

    table = list(profiles().values())
    results = await asyncio.gather(
        *(prober.send(replay_hello(p, prober.target.servername), part=PART) for p in table)
    )
    return list(zip(table, results, strict=True))


def judge_clients(data: ScanData, answers: Answers) -> list[Outcome]:
    """Each client's outcome, with what the rest of the scan found about the server."""
    support = _support(data)
    outcomes: list[Outcome] = []
    for profile, result in answers:
        if result.end == "deadline":
            continue
        outcomes.append(
            judge(
                profile,
                end=result.end,
                server_hello=result.server_hello,
                hrr=result.hrr,
                alert=result.alert,
                key_exchange=result.key_exchange,
                leaf=_leaf(result, data, profile),
                support=support,
                detail=result.detail,
            )
        )
    return outcomes


def _support(data: ScanData) -> ServerSupport | None:
    codes = dict(VERSIONS)
    versions = frozenset(int(codes[p.version]) for p in data.supported() if p.version in codes)
    if not versions:
        return None
    suites = frozenset(s for p in data.supported() if p.version != "SSLv2" for s in p.suites)
    return ServerSupport(versions=versions, suites=suites, groups=frozenset(data.groups))


def _leaf(result: ProbeResult, data: ScanData, profile: ClientProfile) -> x509.Certificate | None:
    """The certificate the client would be sent: the one in its probe's flight (TLS <= 1.2), else
    (TLS 1.3, encrypted) the scan's certificate whose key the client's signature schemes allow."""
    if result.certificates:
        return _load(result.certificates[0])
    if result.server_hello is None and result.hrr is None:
        return None
    allowed = {
        SIGNATURE_SCHEMES[s].name.split("_")[0] for s in profile.signature_schemes if s in SIGNATURE_SCHEMES
    }
    for cert in data.certificates:
        leaf = _load(cert.chain[0]) if cert.chain else None
        if leaf is not None and _key_family(leaf) in allowed:
            return leaf
    return None


def _key_family(cert: x509.Certificate) -> str:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # undecodable: no family to match
        return "?"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "?"


def _load(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None
