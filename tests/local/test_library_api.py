"""The library API of contract/cli.md, called as an application would, against loopback servers.

explain_exception() is fed REAL exceptions: raised by the standard library, requests, httpx, urllib3
and aiohttp against tlsdoctor.testing's broken endpoints, never built by hand (except the two
walker bounds at the end, whose point is a shape no library produces).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests
import urllib3

import tlsdoctor
from tlsdoctor.report import envelope
from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.endpoints import running

CLI = [sys.executable, "-m", "tlsdoctor"]
CLIENT_TIMEOUT = 1.5
PUBLIC = ("diagnose", "diagnose_async", "scan", "explain", "explain_exception", "check_host")
CONTRACT_KEYWORDS = [
    *("servername", "connect_to", "resolver", "ca_file", "proxy", "no_proxy", "timeout", "repeat", "ntp"),
    *("cert", "key", "starttls", "idle", "expect_fingerprint", "client"),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FaultServer]]:
    with running("healthy", "expired", "reset-after-hello", "close-after-hello", "silent", "refused") as s:
        yield s


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


# ---------------------------------------------------------------- signatures and every public name twice


@pytest.mark.parametrize("name", ["diagnose", "diagnose_async"])
def test_diagnose_takes_the_contract_keywords_typed(name: str) -> None:
    params = inspect.signature(getattr(tlsdoctor, name)).parameters
    assert next(iter(params)) == "target"
    for keyword in CONTRACT_KEYWORDS:
        assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY, keyword
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())  # no **options
    assert params["timeout"].default == 5.0 and params["resolver"].default == ()
    assert inspect.iscoroutinefunction(tlsdoctor.diagnose_async)


def test_every_public_name_works_twice(servers: dict[str, FaultServer]) -> None:
    """Each call imports subpackages (tlsdoctor.explain, tlsdoctor.scan), which once replaced the
    functions of the same names on the package after the first call."""
    healthy = servers["healthy"]
    target = f"127.0.0.1:{healthy.port}"
    kw = {"servername": "localhost", "ca_file": healthy.ca_file, "timeout": 3}
    for _ in range(2):
        for name in PUBLIC:
            assert callable(getattr(tlsdoctor, name)), name
        assert tlsdoctor.diagnose(target, **kw).verdict is tlsdoctor.Verdict.HEALTHY
        assert asyncio.run(tlsdoctor.diagnose_async(target, **kw)).verdict is tlsdoctor.Verdict.HEALTHY
        assert tlsdoctor.scan(target, **kw).command == "scan"
        assert tlsdoctor.explain("SSL routines::certificate verify failed").command == "explain"
        assert tlsdoctor.check_host(no_ntp=True).command == "host"
        try:
            socket.create_connection(("127.0.0.1", servers["refused"].port), timeout=2)
        except ConnectionRefusedError as exc:
            assert tlsdoctor.explain_exception(exc).causes[0].id == "tcp-refused"
        else:
            pytest.fail("the refused endpoint accepted")
    assert set(PUBLIC) <= set(tlsdoctor.__all__)


def test_report_to_dict_and_to_json_are_the_envelope(servers: dict[str, FaultServer]) -> None:
    report = tlsdoctor.diagnose(
        f"127.0.0.1:{servers['expired'].port}",
        servername="localhost",
        ca_file=servers["expired"].ca_file,
        timeout=3,
    )
    assert report.to_dict() == envelope.envelope(report)
    assert report.to_json() == envelope.to_json(report)
    data = json.loads(report.to_json())
    assert data["schema"] == "tlsdoctor.report/1" and data["causes"][0]["id"] == "cert-expired"


# ---------------------------------------------------------------- event loops


def test_diagnose_async_beside_other_tasks(servers: dict[str, FaultServer]) -> None:
    """On the caller's loop, the diagnosis shares it: a ticking task keeps ticking meanwhile, and a
    silent endpoint still costs about one timeout per phase, not the ticker's fault."""
    silent = servers["silent"]

    async def main() -> tuple[int, tlsdoctor.Report, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        start = time.monotonic()
        report = await tlsdoctor.diagnose_async(f"127.0.0.1:{silent.port}", servername="localhost", timeout=1)
        elapsed = time.monotonic() - start
        task.cancel()
        return ticks, report, elapsed

    ticks, report, elapsed = asyncio.run(main())
    assert report.verdict is not tlsdoctor.Verdict.HEALTHY
    assert report.causes[0].id == "firewall-drop", report.causes
    assert ticks >= elapsed / 0.01 / 4, (ticks, elapsed)  # the loop was never blocked for long


def test_sync_diagnose_inside_a_running_loop(servers: dict[str, FaultServer]) -> None:
    """A notebook or an async application calling the blocking function: asyncio.run would refuse
    ("cannot be called from a running event loop"); it runs in a thread of its own instead."""
    healthy = servers["healthy"]

    async def main() -> tuple[tlsdoctor.Report, tlsdoctor.Report]:
        target = f"127.0.0.1:{healthy.port}"
        kw = {"servername": "localhost", "ca_file": healthy.ca_file, "timeout": 3}
        return tlsdoctor.diagnose(target, **kw), tlsdoctor.scan(target, **kw)

    diagnosed, scanned = asyncio.run(main())
    assert diagnosed.verdict is tlsdoctor.Verdict.HEALTHY
    assert scanned.command == "scan" and scanned.exit_status == 0


# ---------------------------------------------------------------- invalid arguments: the CLI's message


@pytest.mark.parametrize(
    ("kwargs", "argv"),
    [
        ({"ca_file": "/nonexistent/ca.pem"}, ["--ca-file", "/nonexistent/ca.pem"]),
        ({"starttls": "gopher"}, ["--starttls", "gopher"]),
    ],
)
def test_invalid_arguments_raise_value_error_with_the_cli_message(
    kwargs: dict[str, object], argv: list[str]
) -> None:
    with pytest.raises(ValueError) as raised:
        tlsdoctor.diagnose("127.0.0.1:1", **kwargs)  # type: ignore[arg-type]
    result = cli("diagnose", "127.0.0.1:1", *argv)
    assert result.returncode == 2
    if "starttls" in kwargs:  # argparse's choices word it its own way; both name the option
        assert "--starttls" in str(raised.value) and "--starttls" in result.stderr
    else:
        assert result.stderr.strip() == f"tlsdoctor: error: {raised.value}"


def test_an_unknown_client_profile_is_refused_like_the_cli() -> None:
    """The library and the command line refuse an unknown --client with the same message."""
    with pytest.raises(ValueError, match="unknown --client 'java-8'") as raised:
        tlsdoctor.diagnose("127.0.0.1:1", client="java-8")
    result = cli("diagnose", "127.0.0.1:1", "--client", "java-8")
    assert result.returncode == 2
    assert result.stderr.strip() == f"tlsdoctor: error: {raised.value}"


def test_explain_refuses_empty_text_and_wrong_types() -> None:
    with pytest.raises(ValueError, match="empty"):
        tlsdoctor.explain("  ")
    with pytest.raises(TypeError):
        tlsdoctor.explain(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tlsdoctor.explain_exception("not an exception")  # type: ignore[arg-type]


# ---------------------------------------------------------------- explain_exception: real exceptions


def caught(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def stdlib_tls(server: FaultServer, timeout: float = CLIENT_TIMEOUT) -> Callable[[], object]:
    def call() -> object:
        context = ssl.create_default_context(cafile=getattr(server, "ca_file", None))
        with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
            return context.wrap_socket(sock, server_hostname="localhost")

    return call


def url(server: FaultServer) -> str:
    return f"https://localhost:{server.port}/"


def with_requests(address: str, ca: str) -> Callable[[], object]:
    return lambda: requests.get(address, verify=ca, timeout=CLIENT_TIMEOUT)


def with_httpx(address: str, ca: str) -> Callable[[], object]:
    context = ssl.create_default_context(cafile=ca)
    return lambda: httpx.get(address, verify=context, timeout=CLIENT_TIMEOUT)


def with_urllib3(address: str, ca: str) -> Callable[[], object]:
    pool = urllib3.PoolManager(ca_certs=ca, timeout=CLIENT_TIMEOUT, retries=1)
    return lambda: pool.request("GET", address)


def with_aiohttp(address: str, ca: str) -> Callable[[], object]:
    async def get() -> None:
        context = ssl.create_default_context(cafile=ca)
        async with aiohttp.ClientSession() as session:
            timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
            async with session.get(address, ssl=context, timeout=timeout):
                pass

    return lambda: asyncio.run(get())


CLIENTS = {"requests": with_requests, "httpx": with_httpx, "urllib3": with_urllib3, "aiohttp": with_aiohttp}
# endpoint -> the causes explain_exception may rank first (what the error itself can tell)
EXPECTED = {
    "expired": ("cert-expired",),
    "refused": ("tcp-refused",),
    "reset-after-hello": ("firewall-reset", "server-closed"),
}


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
@pytest.mark.parametrize("library", sorted(CLIENTS))
def test_wrapped_exceptions_explained(servers: dict[str, FaultServer], library: str, endpoint: str) -> None:
    server = servers[endpoint]
    exc = caught(CLIENTS[library](url(server), servers["healthy"].ca_file))
    assert type(exc).__module__.split(".")[0] == library, type(exc)  # the library's own wrapper
    report = tlsdoctor.explain_exception(exc)
    assert report.causes[0].id in EXPECTED[endpoint], (type(exc), report.causes[:3])
    assert report.target is not None and report.target.port == server.port  # the wrapper named it
    facts = report.to_dict()["exceptions"]
    assert len(facts) >= 2, facts  # the wrapper and what it wraps
    assert facts[-1]["type"] == f"{type(exc).__module__}.{type(exc).__qualname__}"
    if endpoint == "expired":
        assert [f["verify_code"] for f in facts if f["verify_code"]] == [10]  # X509_V_ERR_CERT_HAS_EXPIRED
    if endpoint == "refused":
        assert "ECONNREFUSED" in {f["errno_name"] for f in facts}


def test_standard_library_exceptions(servers: dict[str, FaultServer]) -> None:
    expired = caught(stdlib_tls(servers["expired"]))
    assert isinstance(expired, ssl.SSLCertVerificationError)
    report = tlsdoctor.explain_exception(expired)
    assert report.causes[0].id == "cert-expired"
    (fact,) = report.to_dict()["exceptions"]
    assert (fact["library"], fact["reason"], fact["verify_code"]) == ("SSL", "CERTIFICATE_VERIFY_FAILED", 10)

    closed = caught(stdlib_tls(servers["close-after-hello"]))
    assert isinstance(closed, ssl.SSLEOFError | ConnectionResetError), closed
    assert tlsdoctor.explain_exception(closed).causes[0].id in ("server-closed", "firewall-reset")

    reset = caught(stdlib_tls(servers["reset-after-hello"]))
    assert isinstance(reset, ConnectionResetError)
    report = tlsdoctor.explain_exception(reset)
    assert report.causes[0].id in ("firewall-reset", "server-closed")
    assert report.to_dict()["exceptions"][0]["errno_name"] == "ECONNRESET"

    silent = caught(stdlib_tls(servers["silent"], timeout=0.5))
    assert isinstance(silent, TimeoutError)
    ids = [c.id for c in tlsdoctor.explain_exception(silent).causes]
    assert {"firewall-drop", "server-overloaded", "tcp-timeout"} & set(ids[:3]), ids

    unresolved = caught(lambda: socket.getaddrinfo("no such host", 443, flags=socket.AI_NUMERICHOST))
    assert isinstance(unresolved, socket.gaierror)
    report = tlsdoctor.explain_exception(unresolved)
    assert report.causes[0].id in ("dns-nxdomain", "dns-failure")
    assert report.to_dict()["exceptions"][0]["errno_name"] == "EAI_NONAME"


def test_credentials_in_a_wrapped_url_are_redacted(servers: dict[str, FaultServer]) -> None:
    server = servers["expired"]
    exc = caught(
        lambda: requests.get(
            f"https://user:s3cr3t@localhost:{server.port}/", verify=server.ca_file, timeout=2
        )
    )
    text = tlsdoctor.explain_exception(exc).to_json()
    assert "s3cr3t" not in text and "cert-expired" in text


def test_chain_walk_is_bounded_and_cycle_safe() -> None:
    """Shapes no HTTP library makes on purpose: a cycle of contexts, and a very deep chain."""
    first, second = ValueError("first"), ConnectionResetError(104, "Connection reset by peer")
    first.__context__, second.__context__ = second, first
    report = tlsdoctor.explain_exception(first)
    assert len(report.to_dict()["exceptions"]) == 2
    assert report.causes and report.causes[0].id != "healthy"

    deep: BaseException = ConnectionResetError(104, "Connection reset by peer")
    for n in range(500):
        outer = RuntimeError(f"wrapper {n}")
        outer.__cause__ = deep
        deep = outer
    start = time.monotonic()
    facts = tlsdoctor.explain_exception(deep).to_dict()["exceptions"]
    assert len(facts) == 16 and time.monotonic() - start < 5


def test_readme_example_runs(tmp_path: Path, servers: dict[str, FaultServer]) -> None:
    """The README's example of wrapping a failing request, run as written against the expired endpoint."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Library API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "https://example.internal/health" in block
    program = tmp_path / "example.py"
    program.write_text(block.replace("https://example.internal/health", url(servers["expired"])), "utf-8")
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(servers["expired"].ca_file)}
    result = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "cert-expired" in result.stdout
