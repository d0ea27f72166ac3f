"""The certificate check: the server's chain, judged against the client's anchors at ``ctx.clock.now()``.

It runs after the handshakes (the diagnose playbook hands it their PeerChain and
HandshakeAttempt observations) and never connects to the target itself. Its one network
use is fetching a missing issuer from the AIA caIssuers URL (RFC 5280 section 4.2.2.1),
to tell "the server left out an intermediate" from "the client does not trust the root".

Whether the chain is trusted is the client's call: when the default handshake (the
user's OpenSSL, with --ca-file when given) verified it, our own findings are notes and
the check at most warns; when it refused, our findings say why, and a refusal none of
them explains is reported with the client's own verify error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from tlsdoctor.certs.analysis import analyse_chain, validation
from tlsdoctor.certs.mint import minted_for_any_name
from tlsdoctor.certs.trust import TrustAnchors, load_ca_file, load_system_store
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import (
    WARNING_KINDS,
    WEAK_KINDS,
    CertificateInfo,
    CertificateProblem,
    FetchOutcome,
    IssuerFetch,
    ProblemKind,
    TrustStoreInfo,
)
from tlsdoctor.observations.tls import UNRELATED_VARIANT, HandshakeAttempt, HandshakeOutcome, PeerChain

PREFERRED_VARIANTS = ("default", "no-verify")  # the chain the default client saw, else the unverified one
MAX_FETCHES = 3  # AIA hops: leaf -> intermediate -> (second intermediate) -> root
#: Findings that are interception evidence whatever the client decided.
INTERCEPTION_KINDS = frozenset(
    {ProblemKind.INTERCEPTION, ProblemKind.FINGERPRINT_MISMATCH, ProblemKind.LEAKED_ROOT}
)


class CertificateCheck:
    """The server's chain: validity at the local time, name, path to an anchor, strength, interception."""

    id = "certificate"
    layer = "cert"

    def __init__(
        self,
        chains: Sequence[PeerChain],
        *,
        attempts: Sequence[HandshakeAttempt] = (),
        expect_fingerprint: str | None = None,
        fetch_issuers: bool = True,
    ) -> None:
        self.chains = tuple(chains)
        self.client = next((a for a in attempts if a.variant == "default"), None)
        self.expect_fingerprint = expect_fingerprint
        self.fetch_issuers = fetch_issuers

    def budget(self, ctx: Context) -> float:
        """Parsing is milliseconds; the AIA fetch may take one timeout."""
        return ctx.timeout + 5.0

    def pick(self) -> PeerChain | None:
        """The chain to judge: the default client's, else the no-verify variant's, else any non-empty one."""
        with_certs = [c for c in self.chains if c.chain]
        for variant in PREFERRED_VARIANTS:
            for chain in with_certs:
                if chain.variant == variant:
                    return chain
        return with_certs[0] if with_certs else None

    async def run(self, ctx: Context) -> CheckResult:
        peer = self.pick()
        if peer is None:
            return CheckResult(
                id=self.id, status=Status.SKIP, summary="no handshake received a certificate chain"
            )
        anchors, system = await asyncio.to_thread(trust_for, ctx)  # the first load reads ~150 files
        at = ctx.clock.now()
        name = ctx.verify_name
        obs: list[Observation] = [store_info(anchors)]
        if system is not anchors:
            obs.append(store_info(system))
        # Parsing and path building take tens of milliseconds of CPU: in a worker thread, so that the
        # probes still in flight beside this check (diagnose's playbook) keep their event loop.
        found = await asyncio.to_thread(
            analyse_chain,
            peer.chain,
            name,
            anchors.certificates,
            at,
            store=anchors.label,
            expect_fingerprint=self.expect_fingerprint,
        )
        if self.fetch_issuers:
            found, fetched = await self._complete(ctx, peer, found, anchors, name)
            obs += fetched
        obs += found
        if system is not anchors:
            roots, label = system.certificates, system.label
            obs.append(await asyncio.to_thread(validation, peer.chain, name, roots, at, store=label))
        minted = self._minted(peer, name, at)
        if minted is not None:
            found.append(minted)
            obs.append(minted)
        refused = self._unexplained_refusal(found)
        if refused is not None:
            found.append(refused)
            obs.append(refused)
        status, summary = judge(
            found, name, client_accepted=self.client_accepted, client_refused=self.client_refused
        )
        return CheckResult(
            id=self.id,
            status=status,
            summary=summary,
            observations=tuple(obs),
        )

    @property
    def client_accepted(self) -> bool:
        """The default handshake, which verifies as the user's client does, completed."""
        return self.client is not None and self.client.outcome is HandshakeOutcome.OK

    @property
    def client_refused(self) -> bool:
        """The default handshake's certificate verification failed (X509_V_ERR_*, which includes
        the security level's EE_KEY_TOO_SMALL and CA_MD_TOO_WEAK). With no handshake of the
        user's client to go by (``scan`` judges the chain as served), a weak key or signature is
        judged as OpenSSL's default security level judges it: our weak kinds are exactly what
        level 2 refuses (RSA/DSA/DH under 2048 bits, ECC under 224, SHA-1/MD5 signatures)."""
        if self.client is None:
            return True
        return self.client.outcome is HandshakeOutcome.VERIFY_FAILED

    def _unexplained_refusal(self, found: Sequence[Observation]) -> CertificateProblem | None:
        """The client refused the chain and none of our findings says why: its own error is the finding."""
        client = self.client
        if client is None or client.outcome is not HandshakeOutcome.VERIFY_FAILED:
            return None
        if any(isinstance(o, CertificateProblem) and o.problem not in WARNING_KINDS for o in found):
            return None
        if any(isinstance(o, CertificateProblem) and o.problem in WEAK_KINDS for o in found):
            return None
        code = f" (X509 error {client.verify_code})" if client.verify_code is not None else ""
        leaf = next((o for o in found if isinstance(o, CertificateInfo) and o.index == 0), None)
        return CertificateProblem(
            problem=ProblemKind.REJECTED,
            index=-1,
            subject=leaf.subject if leaf is not None else "",
            detail=f"the client refused the chain: {client.verify_message or client.error}{code}",
        )

    def _minted(self, peer: PeerChain, name: str, at: dt.datetime) -> CertificateProblem | None:
        """Compare the target's leaf with the one sent for an unrelated name (checks/handshake.py)."""
        other = next((c for c in self.chains if c.variant == UNRELATED_VARIANT and c.chain), None)
        if other is None or other.servername is None:
            return None
        return minted_for_any_name(peer.chain, other.chain, other.servername, name, at)

    async def _complete(
        self, ctx: Context, peer: PeerChain, found: list[Observation], anchors: TrustAnchors, name: str
    ) -> tuple[list[Observation], list[Observation]]:
        """When an issuer is missing, fetch it from the last certificate's AIA and analyse again."""
        gap = next(
            (
                o
                for o in found
                if isinstance(o, CertificateProblem) and o.problem is ProblemKind.INCOMPLETE_CHAIN
            ),
            None,
        )
        if gap is None:
            return found, []
        info = next(o for o in found if isinstance(o, CertificateInfo) and o.index == gap.index)
        url = next((u for u in info.ca_issuers if u.lower().startswith("http://")), None)
        if url is None:
            return found, []
        from tlsdoctor.certs import fetch  # PKCS#7 and the HTTP client: only for a missing issuer
        from tlsdoctor.net import http

        fetched: list[bytes] = []
        notes: list[IssuerFetch] = []
        for _ in range(MAX_FETCHES):
            result = await http.get(url, ctx.timeout)
            certs = fetch.certificates_in(result.body) if result.outcome is FetchOutcome.OK else []
            if not certs:
                outcome = (
                    result.outcome if result.outcome is not FetchOutcome.OK else FetchOutcome.NOT_CERTIFICATE
                )
                detail = (
                    result.detail
                    if result.outcome is not FetchOutcome.OK
                    else "the body is not DER, PEM or PKCS#7"
                )
                notes.append(
                    IssuerFetch(
                        url=url, outcome=outcome, status=result.status, size=len(result.body), detail=detail
                    )
                )
                break
            fetched += [fetch.der_of(c) for c in certs]
            notes.append(
                IssuerFetch(
                    url=url,
                    outcome=FetchOutcome.OK,
                    status=result.status,
                    size=len(result.body),
                    subject=certs[0].subject.rfc4514_string(),
                )
            )
            url = next_issuer_url(certs[0], anchors)
            if url is None:
                break
        if not fetched:
            return found, list(notes)
        again = analyse_chain(
            peer.chain,
            name,
            anchors.certificates,
            ctx.clock.now(),
            store=anchors.label,
            fetched=fetched,
            expect_fingerprint=self.expect_fingerprint,
        )
        gap_after = next(
            (
                o
                for o in again
                if isinstance(o, CertificateProblem) and o.problem is ProblemKind.INCOMPLETE_CHAIN
            ),
            None,
        )
        completes = gap_after.confirmed if gap_after is not None else False
        notes = [
            dataclasses.replace(n, completes_chain=completes) if n.outcome is FetchOutcome.OK else n
            for n in notes
        ]
        return again, list(notes)


def next_issuer_url(cert: x509.Certificate, anchors: TrustAnchors) -> str | None:
    """Where to fetch the issuer of a fetched certificate, unless it is a root or an anchor issued it."""
    from tlsdoctor.certs.info import aia, is_self_signed

    if is_self_signed(cert) or any(a.subject == cert.issuer for a in anchors.certificates):
        return None
    return next((u for u in aia(cert)[0] if u.lower().startswith("http://")), None)


async def check_served_chain(ctx: Context, chain: tuple[bytes, ...], servername: str | None) -> CheckResult:
    """The certificate check on one chain as a server sent it for ``servername``: what ``scan``
    reports (in its helper process or in-process, the same call), without fetching missing
    issuers (a scan reports the chain as served)."""
    from tlsdoctor import runner  # runner imports the checks' protocol, not this module

    peer = PeerChain(variant="default", servername=servername, chain=chain)
    return await runner.run_one(CertificateCheck([peer], fetch_issuers=False), ctx)


def trust_for(ctx: Context) -> tuple[TrustAnchors, TrustAnchors]:
    """(the anchors to judge against, the system store): the same object when there is no --ca-file."""
    system = load_system_store()
    if ctx.options.ca_file is not None:
        return load_ca_file(ctx.options.ca_file), system
    return system, system


def store_info(anchors: TrustAnchors) -> TrustStoreInfo:
    return TrustStoreInfo(
        source=anchors.source,
        anchors=len(anchors.certificates),
        cafile=anchors.cafile,
        capath=anchors.capath,
        detail=anchors.detail,
    )


def judge(
    found: Sequence[Observation], name: str, *, client_accepted: bool = False, client_refused: bool = False
) -> tuple[Status, str]:
    """fail on any problem, warn on notes (weak, soon-expiring, strict-profile), pass otherwise.

    When the client accepted the chain, only interception evidence fails: any other finding
    of ours is a note beside the client's verdict, not a fault. When it refused the chain, a
    weak key or signature is what its security level refused, so it fails."""
    problems = [o for o in found if isinstance(o, CertificateProblem)]
    failing = [
        p for p in problems if p.problem not in WARNING_KINDS or (client_refused and p.problem in WEAK_KINDS)
    ]
    if client_accepted:
        failing = [p for p in failing if p.problem in INTERCEPTION_KINDS]
    if failing:
        more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
        return Status.FAIL, failing[0].detail + more
    if problems and client_accepted:
        noted = "; ".join(p.detail for p in problems[:2])
        return Status.WARN, f"verified by the client for {name}; {noted}"
    if problems:
        return Status.WARN, "; ".join(p.detail for p in problems[:2])
    leaf = next((o for o in found if isinstance(o, CertificateInfo) and o.index == 0), None)
    if leaf is None:
        return Status.PASS, f"certificate chain valid for {name}"
    return Status.PASS, (
        f"certificate chain valid for {name}, issued by {leaf.issuer}, {leaf.days_left:.0f} days left"
    )
