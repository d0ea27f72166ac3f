"""demo: start the built-in broken endpoints on 127.0.0.1 and diagnose each.

The endpoints are the very servers the test suite uses (tlsdoctor.testing), so what a
user sees here is what the tests assert. Needs no network.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from tlsdoctor.errors import UsageError
from tlsdoctor.model import Report
from tlsdoctor.report.demo import Row, show

# Endpoints this build diagnoses, in the order shown. Those in tlsdoctor.testing but not here
# need probes that arrive with later work: idle-close (--idle), overloaded (concurrency ramp),
# and the hostile peers (robustness tests, no single cause). large-hello-reset needs the hello
# matrix's post-quantum hello (checks/hello.py): the default client's hello passes there.
DEMO: tuple[str, ...] = (
    "healthy",
    "refused",
    "reset-after-hello",
    "close-after-hello",
    "silent",
    "plain-http",
    "smtp-banner",
    "expired",
    "not-yet-valid",
    "wrong-host",
    "self-signed",
    "missing-intermediate",
    "weak-key",
    "sha1-signature",
    "tls10-only",
    "no-common-cipher",
    "client-cert-required",
    "sni-required",
    "sni-filter",
    "large-hello-reset",
)
CONCURRENCY = 6


async def diagnose_endpoint(name: str, timeout: float) -> tuple[str, str, tuple[str, ...], Report, float]:
    """Start one endpoint, diagnose it, stop it."""
    from tlsdoctor.commands.diagnose import diagnose
    from tlsdoctor.context import Context, Options
    from tlsdoctor.target import normalize_host
    from tlsdoctor.testing import ENDPOINTS, start_endpoint

    spec = ENDPOINTS[name]
    server = await asyncio.to_thread(start_endpoint, name)
    try:
        _, servername_is_ip = normalize_host(server.servername) if server.servername else ("", True)
        options = Options(
            host=server.host,
            port=server.port,
            host_is_ip=True,
            timeout=timeout,
            servername=None if servername_is_ip else server.servername,
            ca_file=Path(server.ca_file) if server.ca_file else None,
        )
        start = time.monotonic()
        report = await diagnose(Context(options=options))
        elapsed = time.monotonic() - start
    finally:
        await asyncio.to_thread(server.stop)
    return name, spec.expected or "", spec.also, report, elapsed


async def run_all(
    names: Sequence[str], timeout: float
) -> list[tuple[str, str, tuple[str, ...], Report, float]]:
    """Diagnose the endpoints, a few at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(name: str) -> tuple[str, str, tuple[str, ...], Report, float]:
        async with gate:
            return await diagnose_endpoint(name, timeout)

    return list(await asyncio.gather(*(one(n) for n in names)))


def run_demo(only: Sequence[str] = (), timeout: float = 2.0, as_json: bool = False) -> int:
    """Run the demo; exit status 0 only when every diagnosis names the expected cause."""
    unknown = [n for n in only if n not in DEMO and n != "pcap"]
    if unknown:
        raise UsageError(f"unknown demo endpoint {unknown[0]!r}; choose from: {', '.join(DEMO)}, pcap")
    names = [n for n in only if n != "pcap"] if only else list(DEMO)
    start = time.monotonic()
    rows = asyncio.run(run_all(names, timeout))
    total = time.monotonic() - start
    shown = []
    for name, expected, also, report, elapsed in rows:
        top = report.causes[0] if report.causes else None
        shown.append(
            Row(
                name,
                expected,
                also,
                top.id if top else report.verdict.value,
                top.confidence if top else None,
                elapsed,
            )
        )
    if not only or "pcap" in only:  # the same endpoints, recorded: `tlsdoctor pcap` on the shipped capture
        from tlsdoctor.commands.demo_pcap import pcap_rows

        shown.extend(pcap_rows())
        total = time.monotonic() - start
    return show(shown, "tlsdoctor demo: built-in broken endpoints on 127.0.0.1", total, as_json)
