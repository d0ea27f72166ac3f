"""`tlsdoctor host`: the local machine's side of TLS failures, checked concurrently, each check
under a deadline, and judged by the same rules as diagnose (client-fd-exhaustion,
client-port-exhaustion, client-clock-skew, ...)."""

from __future__ import annotations

import time

from tlsdoctor import runner
from tlsdoctor.context import Context
from tlsdoctor.host import host_checks
from tlsdoctor.inference import engine
from tlsdoctor.model import Report


async def host(ctx: Context, *, pid: int | None = None, ntp: bool = True) -> Report:
    """Run every host check and infer the causes; the clock check is skipped with ``ntp=False``."""
    start = time.monotonic()
    results = await runner.run(host_checks(pid=pid, ntp=ntp), ctx)
    if not ntp:
        results.insert(1, runner.skipped("clock", "not asked: --no-ntp"))
    verdict, causes = engine.diagnose(results)
    return Report(
        command="host",
        target=None,
        verdict=verdict,
        causes=tuple(causes),
        checks=tuple(results),
        duration_ms=(time.monotonic() - start) * 1000,
    )


def run_host(*, ntp: str | None, no_ntp: bool, pid: object, timeout: object) -> Report:
    """The CLI's and the library's entry: validate (UsageError/InputError on bad input, before
    anything runs: exit 2 or ValueError), then run. ``pid`` and ``timeout`` as text (CLI) or numbers."""
    import asyncio
    import os

    from tlsdoctor.context import Options
    from tlsdoctor.errors import InputError, UsageError
    from tlsdoctor.inputs import count, ntp_server, seconds

    if ntp is not None and no_ntp:
        raise UsageError("--ntp and --no-ntp contradict each other")
    server = ntp_server(ntp) if ntp is not None else None
    process = count(pid, 1, MAX_PID, "--pid") if pid is not None else None
    if process is not None and not os.path.isdir(f"/proc/{process}"):
        raise InputError(f"--pid {process}: no such process")
    options = Options(host="", ntp=server, timeout=seconds(timeout))
    return asyncio.run(host(Context(options=options), pid=process, ntp=not no_ntp))


MAX_PID = 1 << 22  # Linux's pid_max ceiling
