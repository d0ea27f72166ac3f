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
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain


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


def attempt(
    outcome: HandshakeOutcome, code: int | None = None, message: str | None = None
) -> HandshakeAttempt:
    return HandshakeAttempt(
        variant="default",
        address="127.0.0.1",
        port=443,
        servername="example.test",
        outcome=outcome,
        verify_code=code,
        verify_message=message,
    )


def bare_chain(tmp_path: Path) -> tuple[PeerChain, Path]:
    """A root with only basicConstraints (not critical), a leaf with only its SAN: OpenSSL accepts it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    root_key, leaf_key = key("ec", "bare-root"), key("ec", "bare-leaf")

    def build(subject: str, signer: object, public: object, issuer: str, ca: bool) -> x509.Certificate:
        b = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - 10 * DAY)
            .not_valid_after(NOW + 80 * DAY)
        )
        if ca:
            b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("example.test")]), critical=False)
        return b.sign(signer, hashes.SHA256())  # type: ignore[arg-type]

    root = build("Bare Root", root_key, root_key.public_key(), "Bare Root", True)
    leaf = build("example.test", root_key, leaf_key.public_key(), "Bare Root", False)
    path = tmp_path / "bare.pem"
    path.write_bytes(pem(root))
    return PeerChain(variant="default", servername="example.test", chain=(der(leaf),)), path


def test_strict_objections_are_a_note_when_the_client_verified(tmp_path: Path) -> None:
    """Issue 9 item 1: no AKI/SKI, non-critical basicConstraints: OpenSSL accepts, so warn, never fail."""
    chain, anchors = bare_chain(tmp_path)
    check = CertificateCheck([chain], attempts=[attempt(HandshakeOutcome.OK)])
    result = run(check, context(anchors))
    assert result.status is Status.WARN, result.summary
    assert problems(result) == {ProblemKind.STRICT_PROFILE}
    note = next(o for o in result.observations if isinstance(o, CertificateProblem))
    assert any("authorityKeyIdentifier" in o for o in note.objections)
    assert any("basicConstraints not marked critical" in o for o in note.objections)
    validation = next(o for o in result.observations if isinstance(o, ChainValidation))
    assert validation.valid and validation.strict_error  # the strict verifier's own words, kept as data
    # No handshake to go by (scan): the same chain is still judged as OpenSSL judges it.
    assert run(CertificateCheck([chain]), context(anchors)).status is Status.WARN


def test_a_refusal_nothing_explains_is_the_clients_own_error(tmp_path: Path, pki: Pki) -> None:
    """The client refused (say, X509_V_ERR_INVALID_PURPOSE) where our findings see nothing wrong."""
    chain = PeerChain(
        variant="no-verify", servername="example.test", chain=pki.chain(pki.leaf("example.test"))
    )
    refused = attempt(HandshakeOutcome.VERIFY_FAILED, 26, "unsupported certificate purpose")
    result = run(CertificateCheck([chain], attempts=[refused]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.FAIL
    assert problems(result) == {ProblemKind.REJECTED}
    assert "unsupported certificate purpose (X509 error 26)" in result.summary
    # Near miss: our findings explain the refusal, so no second, vaguer finding is added.
    expired = pki.leaf("example.test", not_before=NOW - 90 * DAY, not_after=NOW - DAY)
    chain = PeerChain(variant="no-verify", servername="example.test", chain=pki.chain(expired))
    refused = attempt(HandshakeOutcome.VERIFY_FAILED, 10, "certificate has expired")
    result = run(CertificateCheck([chain], attempts=[refused]), context(ca_file(tmp_path, pki)))
    assert problems(result) == {ProblemKind.EXPIRED}


def test_our_objection_never_fails_a_chain_the_client_verified(tmp_path: Path, pki: Pki) -> None:
    """Were our analysis and OpenSSL ever to disagree (here: an anchor OpenSSL found that we lack),
    the client's verdict stands: the finding is a note."""
    chain = PeerChain(variant="default", servername="example.test", chain=pki.chain(pki.leaf("example.test")))
    other = tmp_path / "other.pem"
    other.write_bytes(pem(make(name("Unrelated Root"), key("ec", "unrelated"), ca=True)))
    result = run(CertificateCheck([chain], attempts=[attempt(HandshakeOutcome.OK)]), context(other))
    assert result.status is Status.WARN and result.summary.startswith("verified by the client")
    assert run(CertificateCheck([chain]), context(other)).status is Status.FAIL


def test_a_weak_key_fails_when_the_clients_security_level_refused_it(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf("example.test", key_=key("rsa1024", "weak-leaf"))
    chain = PeerChain(variant="no-verify", servername="example.test", chain=pki.chain(leaf))
    refused = attempt(HandshakeOutcome.VERIFY_FAILED, 66, "EE certificate key too weak")
    result = run(CertificateCheck([chain], attempts=[refused]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.FAIL and problems(result) == {ProblemKind.WEAK_KEY}
    # Near miss: the user's client accepted it (its policy allows the key): a note beside that verdict.
    accepted = attempt(HandshakeOutcome.OK)
    result = run(CertificateCheck([chain], attempts=[accepted]), context(ca_file(tmp_path, pki)))
    assert result.status is Status.WARN and problems(result) == {ProblemKind.WEAK_KEY}
    # No handshake of the user's to go by (a scan of the chain as served): judged as OpenSSL's
    # default security level judges it, which refuses a 1024-bit RSA key.
    assert run(CertificateCheck([chain]), context(ca_file(tmp_path, pki))).status is Status.FAIL
