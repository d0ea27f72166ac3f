"""The scan playbook: resolve, reach, scan the TLS configuration, judge the certificate.

Exit status (contract/cli.md): ``1`` only for what the contract's causes name, i.e. what makes
clients *fail*: no route (tcp-refused, ...), no TLS version answering (inconclusive), or a
certificate problem (cert-expired, cert-untrusted, cert-hostname-mismatch, ...) found by the
very certificate check ``diagnose`` runs. Configuration weaknesses (TLS 1.0 enabled, 3DES,
no fallback SCSV...) are reported in ``scan.weaknesses`` with severity and reference, and as
``warn`` checks, but exit ``0``: a server that also offers TLS 1.0 still serves every modern
client, causes.md has no id for "old but working", and a CI gate can test
``.scan.weaknesses[] | select(.severity == "high")`` itself.
"""

from __future__ import annotations

import asyncio
import time

from tlsdoctor import runner
from tlsdoctor.checks.certificate import CertificateCheck
from tlsdoctor.checks.connect import TcpCheck
from tlsdoctor.context import Context
from tlsdoctor.model import Cause, CheckResult, Evidence, Report, Status, TargetInfo, Verdict
from tlsdoctor.observations.tls import PeerChain
from tlsdoctor.scan.result import ScanData, group_name, scheme_name, to_contract
from tlsdoctor.scan.scanner import ScanTarget, scan


async def run_scan(ctx: Context) -> Report:
    """Scan ctx.options' target; the Report carries ``extra["scan"]`` (contract shape)."""
    start = time.monotonic()
    opts = ctx.options
    results: list[CheckResult] = []
    # The system store takes a few hundred ms to parse: load it while the probes run.
    from tlsdoctor.certs.trust import load_system_store

    warm = asyncio.create_task(asyncio.to_thread(load_system_store))
    addresses = await _addresses(ctx, results)
    target = TargetInfo(host=opts.host, port=opts.port, servername=ctx.servername, addresses=tuple(addresses))
    extra: dict[str, object] = {}
    if not addresses:
        results.append(runner.skipped("tcp", "no address to connect to"))
    else:
        reached = await runner.run_one(TcpCheck(addresses[0]), ctx)
        results.append(reached)
        if reached.status is Status.PASS:
            data = await scan(
                ScanTarget(
                    address=addresses[0],
                    port=opts.port,
                    servername=ctx.servername,
                    verify_name=ctx.verify_name,
                    timeout=ctx.timeout,
                    max_bytes=ctx.limits.max_read_bytes,
                    concurrency=ctx.limits.max_concurrency,
                    ca_file=str(opts.ca_file) if opts.ca_file else None,
                    starttls=opts.starttls,
                )
            )
            results.extend(scan_checks(data, time.monotonic() - start))
            if data.certificates:
                chain = PeerChain(
                    variant="default", servername=ctx.servername, chain=data.certificates[0].chain
                )
                results.append(await runner.run_one(CertificateCheck([chain], fetch_issuers=False), ctx))
            extra["scan"] = to_contract(data)
    await warm
    verdict, causes = _judge(results)
    if "scan" in extra and not any(p["supported"] for p in extra["scan"]["protocols"]):  # type: ignore[index]
        verdict = Verdict.INCONCLUSIVE if verdict is Verdict.HEALTHY else verdict
    return Report(
        command="scan",
        target=target,
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
        extra=extra,
    )


async def _addresses(ctx: Context, results: list[CheckResult]) -> list[str]:
    """--connect-to or an IP literal as is; a name through the DNS checks diagnose runs."""
    if ctx.options.connect_to:
        return [ctx.options.connect_to]
    if ctx.options.host_is_ip:
        return [ctx.options.host]
    from tlsdoctor.commands.diagnose import resolve

    return await resolve(ctx, results)


def _judge(results: list[CheckResult]) -> tuple[Verdict, list[Cause]]:
    """The inference engine when something failed (it names the cause); healthy otherwise.
    Importing the engine and its rules costs more than a loopback scan, so only when needed."""
    if any(r.status in (Status.FAIL, Status.ERROR) for r in results):
        from tlsdoctor.inference import engine

        return engine.diagnose(results)
    evidence = tuple(Evidence(check=r.id, observation=r.summary) for r in results if r.status is Status.PASS)
    return Verdict.HEALTHY, [
        Cause(
            id="healthy", confidence=1.0, summary="every check passed; no fault found", evidence=evidence[:8]
        )
    ]


def scan_checks(data: ScanData, elapsed_s: float) -> list[CheckResult]:
    """The scan's findings as checks: one line each for ``checks[]`` and the human table."""
    supported = data.supported()
    out = [
        CheckResult(
            id="scan.protocols",
            status=Status.PASS if supported else Status.FAIL,
            duration_ms=elapsed_s * 1000,
            summary=(
                ", ".join(f"{p.version} ({len(p.suites)} suites)" for p in supported)
                if supported
                else "no SSL/TLS version answered: run 'tlsdoctor diagnose' on this target"
            ),
        )
    ]
    if not supported:
        return out
    out.append(
        CheckResult(
            id="scan.groups",
            status=Status.PASS if data.groups else Status.SKIP,
            summary=", ".join(group_name(g) for g in data.groups) or "no group seen",
        )
    )
    out.append(
        CheckResult(
            id="scan.signature-schemes",
            status=Status.PASS if data.schemes else Status.SKIP,
            summary=", ".join(scheme_name(s) for s in data.schemes) or "not observable",
        )
    )
    feats = ", ".join(f"{k}={v}" for k, v in data.features.items() if v is not None)
    out.append(CheckResult(id="scan.features", status=Status.PASS, summary=feats or "not observable"))
    for w in data.weaknesses:
        out.append(
            CheckResult(
                id=f"scan.weakness.{w.id}",
                status=Status.WARN,
                summary=f"[{w.severity}] {w.summary} ({w.reference})",
            )
        )
    return out
