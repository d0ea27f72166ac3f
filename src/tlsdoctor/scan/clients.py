"""Client simulation: each well-known client's recorded hello, replayed once against the server.

The probes go out with the scan's other phases (one wave, under the Prober's connection gate);
the judging waits for the rest of the scan, because why a client fails ("no version in common:
the server accepts TLS 1.3 only") and whether it would accept the certificate (TLS 1.3 sends it
encrypted, so the scan's own certificate probes supply it) come from the other phases' findings.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

from tlsdoctor.clientsim.judge import Leaf, Outcome, ServerSupport, judge
from tlsdoctor.clientsim.profiles import ClientProfile, profiles, replay_hello
from tlsdoctor.observations.cert import CertificateInfo
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


def _leaf(result: ProbeResult, data: ScanData, profile: ClientProfile) -> Leaf | None:
    """The certificate the client would be sent, as the scan's certificate analysis described it:
    the one in its probe's flight (TLS <= 1.2), else (TLS 1.3, encrypted) the scan's certificate
    whose key the client's signature schemes allow."""
    leaves = [infos[0] for c in data.certificates if (infos := c.infos())]
    if result.certificates:
        sent = hashlib.sha256(result.certificates[0]).hexdigest()
        return next((_facts(i) for i in leaves if i.sha256.lower() == sent), None)
    if result.server_hello is None and result.hrr is None:
        return None
    names = (SIGNATURE_SCHEMES[s].name for s in profile.signature_schemes if s in SIGNATURE_SCHEMES)
    allowed = {_FAMILY.get(n.split("_")[0], "") for n in names}
    return next((_facts(i) for i in leaves if i.key_type in allowed), None)


_FAMILY = {"rsa": "RSA", "ecdsa": "EC", "ed25519": "Ed25519", "ed448": "Ed448"}


def _facts(info: CertificateInfo) -> Leaf:
    return Leaf(info.key_type, info.key_bits, info.signature_hash)
