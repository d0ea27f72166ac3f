"""The trust stores language runtimes bring along: Java's cacerts and Node.js's compiled-in roots.

A Java client (keytool, Maven, a JVM service) trusts its java.home's lib/security/cacerts, not the
system PEM bundle; Node.js trusts the Mozilla roots compiled into its binary (NODE_EXTRA_CA_CERTS
adds to them and is a PEM bundle, compared elsewhere). When a chain fails in one client and works
in another, these are the stores that differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from tlsdoctor.certs.keystore import keystore_certificates
from tlsdoctor.certs.trust import MAX_STORE_FILE, _der_blocks, _parse_der, regular_bundle

DEBIAN_CACERTS = "/etc/ssl/certs/java/cacerts"  # ca-certificates-java; the JDKs' cacerts link here
REAP_S = 0.5  # seconds to wait for a killed node to be reaped
NODE_DEADLINE = 2.0  # seconds: node starts in ~50 ms; a wedged one must not hold the diagnosis
NODE_OUTPUT_CAP = 4 * 1024 * 1024  # ~150 roots are ~200 KiB of PEM
_NODE_SCRIPT = "process.version + '\\n' + tls.rootCertificates.join('\\n')"


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeStore:
    """One runtime's anchors, labelled for the comparison ("java:PATH, N anchors"), or why not."""

    label: str
    certificates: tuple[x509.Certificate, ...] = ()
    problem: str = ""


def java_cacerts_path() -> str | None:
    """The cacerts a Java client here uses: $JAVA_HOME's (what build tools and launch scripts run),
    else that of the ``java`` on PATH (its symlinks resolved to java.home, without running it), else
    Debian's shared file."""
    homes: list[Path] = []
    if java_home := os.environ.get("JAVA_HOME"):
        homes.append(Path(java_home))
    if java := shutil.which("java"):
        homes.append(Path(os.path.realpath(java)).parent.parent)
    candidates = [str(h / "lib" / "security" / "cacerts") for h in homes] + [DEBIAN_CACERTS]
    return next((c for c in candidates if regular_bundle(c)), None)


def load_java_store(path: str) -> RuntimeStore:
    """Java's cacerts read as a keystore (JKS or PKCS#12)."""
    try:
        with open(path, "rb") as f:
            certificates = keystore_certificates(f.read(MAX_STORE_FILE))
    except OSError as exc:
        return RuntimeStore(label=f"java:{path}", problem=exc.strerror or str(exc))
    if not certificates:
        return RuntimeStore(label=f"java:{path}", problem="not a keystore this tool can read")
    return RuntimeStore(label=f"java:{path}, {len(certificates)} anchors", certificates=certificates)


async def node_roots(deadline: float = NODE_DEADLINE) -> RuntimeStore | None:
    """Node.js's bundled roots, from the ``node`` on PATH (None when there is none): an argv list,
    never a shell; its output capped; past the deadline it is killed and said to have timed out."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            node,
            "-p",
            _NODE_SCRIPT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        return RuntimeStore(label="node:node", problem=f"node did not start: {exc.strerror or exc}")
    assert proc.stdout is not None
    try:
        data = await asyncio.wait_for(_read_capped(proc.stdout), deadline)
        if len(data) > NODE_OUTPUT_CAP:  # killed below, before it could fill the pipe and stall
            return RuntimeStore(label="node:node", problem="node wrote more than a root store")
        status = await asyncio.wait_for(proc.wait(), deadline)
    except TimeoutError:
        return RuntimeStore(label="node:node", problem=f"node gave no answer within {deadline:g} s")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            # Bounded: when this read is cancelled (the check became moot), asyncio's wait for the killed
            # child was seen to hang under load until the check's whole budget (10 s) ran out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), REAP_S)
    return parse_node_output(data, status)


async def _read_capped(stream: asyncio.StreamReader) -> bytes:
    data = b""
    while len(data) <= NODE_OUTPUT_CAP and (chunk := await stream.read(65536)):
        data += chunk
    return data


def parse_node_output(data: bytes, status: int) -> RuntimeStore:
    """``process.version`` on the first line, then the PEM roots; the version only if it looks like one."""
    first, _, pem = data.partition(b"\n")
    version = first.decode("ascii", "replace").strip()
    name = f"node {version}" if re.fullmatch(r"v\d+(\.\d+){0,2}", version) else "node"
    if status != 0:
        return RuntimeStore(label=f"node:{name}", problem=f"node exited with status {status}")
    certificates = tuple(c for c in map(_parse_der, _der_blocks(pem)) if c is not None)
    if not certificates:
        return RuntimeStore(label=f"node:{name}", problem="node listed no root certificate")
    return RuntimeStore(label=f"node:{name}, {len(certificates)} anchors", certificates=certificates)
