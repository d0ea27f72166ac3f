"""Python, its OpenSSL, and curl's libcurl with its TLS library: "it works with curl, not with
Python" is often two TLS libraries of different ages on one host.

curl runs without a shell, with a deadline, and its output is read bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import shutil
import ssl

from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.host import LibraryVersion

CURL_DEADLINE_S = 0.6
MAX_OUTPUT = 8192
TLS13_OPENSSL = (1, 1, 1)  # the first OpenSSL with TLS 1.3


def parse_curl(first_line: str) -> LibraryVersion | None:
    """``curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.11 zlib/1.2.13 ...``"""
    words = first_line.split()
    if len(words) < 2 or words[0] != "curl":
        return None
    tls = [
        w
        for w in words[2:]
        if w.split("/")[0]
        in (
            "OpenSSL",
            "GnuTLS",
            "NSS",
            "wolfSSL",
            "mbedTLS",
            "BoringSSL",
            "LibreSSL",
            "Schannel",
            "rustls",
            "quictls",
        )
    ]
    return LibraryVersion(name="curl", version=words[1], detail=", ".join(tls))


async def curl_version(deadline: float = CURL_DEADLINE_S) -> LibraryVersion | None:
    """``curl --version``'s first line, or None when curl is absent, hangs or says something else."""
    exe = shutil.which("curl")
    if exe is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            exe,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:  # out of descriptors or processes: itself a finding
        why = f"cannot run curl: {exc.strerror or exc}"
        return LibraryVersion(name="curl", version="unknown", detail=why)
    try:
        async with asyncio.timeout(deadline):
            assert proc.stdout is not None
            out = await proc.stdout.read(MAX_OUTPUT)
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return LibraryVersion(
            name="curl", version="unknown", detail=f"curl --version gave no answer in {deadline} s"
        )
    return parse_curl(out.decode("utf-8", errors="replace").partition("\n")[0])


class VersionCheck:
    """Python, its OpenSSL, curl."""

    id = "host.versions"
    layer = "client"

    def budget(self, ctx: Context) -> float:
        return CURL_DEADLINE_S + 0.3

    async def run(self, ctx: Context) -> CheckResult:
        found = [
            LibraryVersion(
                name="python", version=platform.python_version(), detail=platform.python_implementation()
            ),
            LibraryVersion(
                name="openssl", version=ssl.OPENSSL_VERSION, detail="the library Python's ssl uses"
            ),
        ]
        curl = await curl_version()
        if curl is not None:
            found.append(curl)
        summary = "; ".join(o.describe() for o in found)
        old = ssl.OPENSSL_VERSION_INFO[:3] < TLS13_OPENSSL
        return CheckResult(
            id=self.id,
            status=Status.WARN if old else Status.PASS,
            summary=("an OpenSSL older than 1.1.1 has no TLS 1.3; " if old else "") + summary,
            observations=tuple(found),
        )
