"""tlsdoctor: find out why a TLS connection fails.

Library API (contract/cli.md): ``diagnose``, ``diagnose_async``, ``scan``, ``explain`` and
``explain_exception`` return a :class:`Report` with ranked causes; ``Report.to_dict()`` and
``Report.to_json()`` give the JSON envelope.
Imports are lazy so that importing the package (and ``tlsdoctor --help``) stays fast.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

# Not ``from typing import TYPE_CHECKING``: importing typing costs ~10 ms, before the console script
# can handle a Ctrl-C (tlsdoctor.__main__); mypy treats this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from os import PathLike
    from typing import Any, TypeVar

    from tlsdoctor.context import Options
    from tlsdoctor.model import Cause, CheckResult, Report, Status, Verdict

    T = TypeVar("T")

__all__ = [
    "Cause",
    "CheckResult",
    "Report",
    "Status",
    "Verdict",
    "__version__",
    "analyse_pcap",
    "check_host",
    "diagnose",
    "diagnose_async",
    "explain",
    "explain_exception",
    "scan",
]


def diagnose(
    target: str,
    *,
    port: int | str | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    resolver: Iterable[str] | str = (),
    ca_file: str | PathLike[str] | None = None,
    proxy: str | None = None,
    no_proxy: bool = False,
    timeout: float = 5.0,
    repeat: int | None = None,
    ntp: str | None = None,
    cert: str | PathLike[str] | None = None,
    key: str | PathLike[str] | None = None,
    starttls: str | None = None,
    idle: float | None = None,
    expect_fingerprint: str | None = None,
    client: str | None = None,
) -> Report:
    """Diagnose TARGET (``host``, ``host:port``, ``[v6]:port`` or an ``https://`` URL) as
    ``tlsdoctor diagnose`` does; each keyword is the command-line option of that name
    (contract/cli.md). An invalid value raises ``ValueError`` with the CLI's message, before any
    probe. Called from inside a running event loop (a notebook, an async application), it runs
    in a thread of its own and blocks the caller until done: await :func:`diagnose_async` there."""
    options = _validated(
        target,
        port=port,
        servername=servername,
        connect_to=connect_to,
        resolver=resolver,
        ca_file=ca_file,
        proxy=proxy,
        no_proxy=no_proxy,
        timeout=timeout,
        repeat=repeat,
        ntp=ntp,
        cert=cert,
        key=key,
        starttls=starttls,
        idle=idle,
        expect_fingerprint=expect_fingerprint,
        client=client,
    )
    return _outside_running_loop(_run_diagnosis, options)


async def diagnose_async(
    target: str,
    *,
    port: int | str | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    resolver: Iterable[str] | str = (),
    ca_file: str | PathLike[str] | None = None,
    proxy: str | None = None,
    no_proxy: bool = False,
    timeout: float = 5.0,
    repeat: int | None = None,
    ntp: str | None = None,
    cert: str | PathLike[str] | None = None,
    key: str | PathLike[str] | None = None,
    starttls: str | None = None,
    idle: float | None = None,
    expect_fingerprint: str | None = None,
    client: str | None = None,
) -> Report:
    """:func:`diagnose` as a coroutine, run on the caller's event loop beside its other tasks."""
    options = _validated(
        target,
        port=port,
        servername=servername,
        connect_to=connect_to,
        resolver=resolver,
        ca_file=ca_file,
        proxy=proxy,
        no_proxy=no_proxy,
        timeout=timeout,
        repeat=repeat,
        ntp=ntp,
        cert=cert,
        key=key,
        starttls=starttls,
        idle=idle,
        expect_fingerprint=expect_fingerprint,
        client=client,
    )
    return await _diagnosis(options)


def _run_diagnosis(options: Options) -> Report:
    import asyncio

    return asyncio.run(_diagnosis(options))


async def _diagnosis(options: Options) -> Report:
    from tlsdoctor.commands.diagnose import diagnose as run
    from tlsdoctor.context import Context

    return await run(Context(options=options))


def check_host(
    *, ntp: str | None = None, no_ntp: bool = False, pid: int | None = None, timeout: float = 2.0
) -> Report:
    """The local machine's side of TLS failures, as ``tlsdoctor host``: clock against ``ntp`` (else
    the configured servers; none with ``no_ntp``), descriptors (of process ``pid``, else this one),
    ephemeral ports, MTUs, proxy settings, trust stores, OpenSSL policy, versions. An invalid value
    raises ``ValueError`` with the CLI's message. Inside a running event loop it runs in a thread."""
    from tlsdoctor.commands.host import run_host
    from tlsdoctor.errors import InputError, UsageError

    try:
        return _outside_running_loop(run_host, ntp=ntp, no_ntp=no_ntp, pid=pid, timeout=timeout)
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None


def scan(
    target: str,
    *,
    port: int | str | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    ca_file: str | PathLike[str] | None = None,
    timeout: float = 5.0,
    starttls: str | None = None,
    max_time: float | None = None,
    max_connections: int = 16,
    fail_on: str = "high",
) -> Report:
    """The TLS configuration of TARGET, as ``tlsdoctor scan``: the keywords are its options
    (``max_time`` is the whole scan's deadline). An invalid value raises ``ValueError`` with the
    CLI's message. Inside a running event loop it runs in a thread of its own, like :func:`diagnose`."""
    from tlsdoctor.commands.scan import scan_command
    from tlsdoctor.context import Context, Limits
    from tlsdoctor.errors import InputError, UsageError
    from tlsdoctor.inputs import count, seconds

    opts = _validated(  # as the CLI's scan: no proxy
        target,
        port=port,
        servername=servername,
        connect_to=connect_to,
        ca_file=ca_file,
        timeout=timeout,
        starttls=starttls,
        no_proxy=True,
    )
    try:
        deadline = None if max_time is None else seconds(max_time, "--max-time")
        limits = Limits(max_concurrency=count(max_connections, 1, 256, "--max-connections"))
        if fail_on not in ("critical", "high", "medium", "low"):
            raise UsageError(f"--fail-on: {fail_on!r} is not one of critical, high, medium, low")
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None
    return _outside_running_loop(
        scan_command, Context(options=opts, limits=limits), max_time=deadline, fail_on=fail_on
    )


def _validated(target: str, **options: Any) -> Options:
    """The arguments checked by the very code the CLI uses (tlsdoctor.inputs), before any probe."""
    from tlsdoctor.errors import InputError, UsageError
    from tlsdoctor.inputs import diagnose_options

    if not isinstance(target, str):
        raise TypeError(f"target must be a str such as 'host:443', not {type(target).__name__}")
    try:
        return diagnose_options(target, **options)
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None


def _outside_running_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args)``, which runs an event loop of its own (``asyncio.run``): directly, or, when
    the caller's thread already runs a loop (where ``asyncio.run`` refuses), in a worker thread."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="tlsdoctor") as pool:
        return pool.submit(function, *args, **kwargs).result()


def explain(text: str) -> Report:
    """Interpret an error message or log excerpt offline, as ``tlsdoctor explain`` (credentials in
    it are redacted first). Empty text raises ``ValueError`` with the CLI's message."""
    from tlsdoctor.commands.explain import run_explain
    from tlsdoctor.errors import InputError, UsageError
    from tlsdoctor.target import redact_text

    if not isinstance(text, str):
        raise TypeError(f"explain() takes the error text as a str, not {type(text).__name__}")
    try:
        return run_explain(redact_text(text))
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None


def analyse_pcap(path: str | PathLike[str], *, keylog: str | PathLike[str] | None = None) -> Report:
    """Explain the TLS connections in a pcap or pcapng file, as ``tlsdoctor pcap`` (its ``flows`` in
    ``report.to_dict()``; ``keylog``: an SSLKEYLOGFILE to decrypt handshakes with). A file that is not a
    capture, or holds no TLS, raises ``ValueError`` with the CLI's message."""
    from pathlib import Path

    from tlsdoctor.commands.pcap import run_pcap
    from tlsdoctor.errors import InputError, UsageError

    try:
        decrypt = None
        if keylog is not None:
            from tlsdoctor.pcap.unseal import KeyLogDecrypter

            decrypt = KeyLogDecrypter.from_file(Path(keylog))
        return run_pcap(Path(path), decrypt=decrypt)
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None


def explain_exception(exc: BaseException) -> Report:
    """Explain an exception your application caught (``ssl.SSLError``, ``ConnectionResetError``,
    ``TimeoutError``, ``socket.gaierror``, and the errors of requests, httpx, urllib3, aiohttp
    that wrap them): the whole chain (``__cause__``, ``__context__`` and what the wrappers keep)
    is read, innermost first, as ``explain`` reads a traceback. The report's ``exceptions`` lists
    each one's facts (type, message, errno, OpenSSL reason and verify code, host and port)."""
    import dataclasses

    from tlsdoctor.caught import explanation
    from tlsdoctor.commands.explain import run_explain

    if not isinstance(exc, BaseException):
        raise TypeError(f"explain_exception() takes an exception, not {type(exc).__name__}")
    text, facts = explanation(exc)
    report = run_explain(text)
    exceptions = [dataclasses.asdict(f) for f in facts]
    return dataclasses.replace(report, extra={**report.extra, "exceptions": exceptions})


class _Package(types.ModuleType):
    """This package's module type. ``explain`` and ``scan`` are library functions (contract/cli.md)
    and subpackages too; importing a subpackage (which the functions themselves do) makes the
    import system set it as the package's attribute of that name, over the function: a second
    ``tlsdoctor.explain(text)`` raised "'module' object is not callable". The functions keep
    their names; the subpackages stay importable (``from tlsdoctor.scan import ...``) through
    sys.modules."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_SHADOWED = frozenset({"explain", "scan"})  # functions named like subpackages
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in ("Cause", "CheckResult", "Report", "Status", "Verdict"):
        from tlsdoctor import model

        return getattr(model, name)
    raise AttributeError(name)
