"""CertificateCheck end to end: --ca-file trust, a FixedClock, an issuer fetched from 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from certkit import DAY, NOW, Pki, der, key, make, name, pem

from tlsdoctor.checks.certificate import CertificateCheck
from tlsdoctor.clock import FixedClock
from tlsdoctor.context import Context, Options
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.cert import (
    CertificateProblem,
    ChainValidation,
    FetchOutcome,
    IssuerFetch,
    ProblemKind,
    TrustStoreInfo,
)
from tlsdoctor.observations.tls import PeerChain


@asynccontextmanager
async def http_server(status: int, body: bytes) -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.0 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def context(ca_file: Path) -> Context:
    return Context(options=Options(host="example.test", ca_file=ca_file, timeout=2.0), clock=FixedClock(NOW))


def ca_file(tmp_path: Path, pki: Pki) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(pem(pki.root))
    return path


def run(check: CertificateCheck, ctx: Context) -> CheckResult:
    return asyncio.run(check.run(ctx))


def problems(result: CheckResult) -> set[ProblemKind]:
    return {o.problem for o in result.observations if isinstance(o, CertificateProblem)}


def test_good_chain_passes(tmp_path: Path, pki: Pki) -> None:
    chain = PeerChain(variant="default", servername="example.test", chain=pki.chain(pki.leaf("example.test")))
    result = run(CertificateCheck([chain]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.PASS, result.summary
    stores = [o for o in result.observations if isinstance(o, TrustStoreInfo)]
    assert [s.source for s in stores] == ["ca-file", "system"] and stores[0].anchors == 1
    validations = [o for o in result.observations if isinstance(o, ChainValidation)]
    assert validations[0].valid and validations[0].store.startswith("ca-file")
    assert validations[-1].store == "system" and not validations[-1].valid  # our test root is not in it


def test_expired_fails_at_the_fixed_time(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_before=NOW - 90 * DAY, not_after=NOW - DAY)
    chain = PeerChain(variant="no-verify", servername="example.test", chain=pki.chain(leaf))
    result = run(CertificateCheck([chain]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.FAIL and "expired" in result.summary
    assert problems(result) == {ProblemKind.EXPIRED}


def test_weak_only_warns(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf("example.test", not_after=NOW + 3 * DAY)
    chain = PeerChain(variant="default", servername="example.test", chain=pki.chain(leaf))
    result = run(CertificateCheck([chain]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.WARN


def test_missing_intermediate_fetched_from_aia(tmp_path: Path, pki: Pki) -> None:
    async def main() -> CheckResult:
        async with http_server(200, der(pki.inter)) as port:
            leaf = pki.leaf("example.test", aia=f"http://127.0.0.1:{port}/inter.der")
            chain = PeerChain(variant="no-verify", servername="example.test", chain=(der(leaf),))
            return await CertificateCheck([chain]).run(context(ca_file(tmp_path, pki)))

    result = asyncio.run(main())
    assert result.status is Status.FAIL
    fetch = next(o for o in result.observations if isinstance(o, IssuerFetch))
    assert fetch.outcome is FetchOutcome.OK and fetch.completes_chain is True
    gap = next(o for o in result.observations if isinstance(o, CertificateProblem))
    assert gap.problem is ProblemKind.INCOMPLETE_CHAIN and gap.confirmed is True


def test_aia_answer_that_is_not_a_certificate(tmp_path: Path, pki: Pki) -> None:
    async def main(status: int, body: bytes) -> CheckResult:
        async with http_server(status, body) as port:
            leaf = pki.leaf("example.test", aia=f"http://127.0.0.1:{port}/inter.der")
            chain = PeerChain(variant="no-verify", servername="example.test", chain=(der(leaf),))
            return await CertificateCheck([chain]).run(context(ca_file(tmp_path, pki)))

    for status, body, outcome in (
        (404, b"nope", FetchOutcome.HTTP_ERROR),
        (200, b"<html>", FetchOutcome.NOT_CERTIFICATE),
        (200, b"x" * 70_000, FetchOutcome.TOO_LARGE),
    ):
        result = asyncio.run(main(status, body))
        fetch = next(o for o in result.observations if isinstance(o, IssuerFetch))
        assert fetch.outcome is outcome
        gap = next(o for o in result.observations if isinstance(o, CertificateProblem))
        assert gap.confirmed is None


def test_pem_issuer_and_interception_fingerprint(tmp_path: Path, pki: Pki) -> None:
    async def main() -> CheckResult:
        async with http_server(200, pem(pki.inter)) as port:
            leaf = pki.leaf("example.test", aia=f"http://127.0.0.1:{port}/inter.pem")
            chain = PeerChain(variant="no-verify", servername="example.test", chain=(der(leaf),))
            check = CertificateCheck([chain], expect_fingerprint="00" * 32)
            return await check.run(context(ca_file(tmp_path, pki)))

    result = asyncio.run(main())
    assert problems(result) == {ProblemKind.INCOMPLETE_CHAIN, ProblemKind.FINGERPRINT_MISMATCH}


def test_no_chain_is_skipped(tmp_path: Path, pki: Pki) -> None:
    empty = PeerChain(variant="default", servername="example.test", chain=())
    assert run(CertificateCheck([empty]), context(ca_file(tmp_path, pki))).status is Status.SKIP


def test_prefers_the_default_clients_chain(pki: Pki) -> None:
    other = make(name("other"), key("ec", "self"), sans=["other"])
    chains = [
        PeerChain(variant="no-sni", servername=None, chain=(der(other),)),
        PeerChain(variant="no-verify", servername="example.test", chain=(der(other),)),
        PeerChain(variant="default", servername="example.test", chain=pki.chain(pki.leaf("x"))),
    ]
    picked = CertificateCheck(chains).pick()
    assert picked is not None and picked.variant == "default"
