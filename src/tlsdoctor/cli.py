"""The command line (contract/cli.md): parse, validate, run, render, exit.

No diagnosis logic lives here. Imports of the heavy parts are lazy so ``--help`` is fast.
Errors: UsageError/InputError -> one line, exit 2; anything unexpected -> one line, exit 3.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tlsdoctor.errors import InputError, TlsDoctorError, UsageError
from tlsdoctor.inputs import STARTTLS_PROTOCOLS
from tlsdoctor.report.escape import escape_controls
from tlsdoctor.report.output import emit, stdout_gone

if TYPE_CHECKING:
    from tlsdoctor.context import Options

PROG = "tlsdoctor"
MAX_ERROR_LINE = 300  # characters: argparse repeats bad values whole; a pasted 100 KB value stays one line


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        if len(message) > MAX_ERROR_LINE:
            message = f"{message[:MAX_ERROR_LINE]}... (a {len(message)}-character message, cut)"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_float(text: str) -> float:
    """--timeout of the commands that do not go through inputs.diagnose_options (demo)."""
    from tlsdoctor.inputs import seconds

    return seconds(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Find out why a TLS connection fails: the root cause, the evidence, and what to change.",
    )
    from tlsdoctor import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser("diagnose", help="live, layered diagnosis of one endpoint")
    d.add_argument(
        "target", metavar="TARGET", nargs="?", help="host, host:port, [v6addr]:port or https:// URL"
    )
    d.add_argument(
        "--targets", metavar="FILE", help="diagnose every target in FILE (one a line; - for stdin)"
    )
    d.add_argument("--concurrency", default="16", metavar="N", help="with --targets: targets at once (16)")
    d.add_argument("--port", help="port, if not in TARGET (default 443)")
    d.add_argument("--servername", metavar="NAME", help="SNI and certificate name to use instead of the host")
    d.add_argument(
        "--connect-to",
        metavar="ADDR",
        help="connect to this address instead of resolving the host: ADDR, ADDR:PORT or HOST:PORT:ADDR:PORT",
    )
    d.add_argument(
        "--resolver",
        metavar="IP[:PORT]",
        action="append",
        default=[],
        help="DNS server to ask instead of the system's (repeatable; the system's is compared)",
    )
    d.add_argument("--ca-file", metavar="PEM", type=Path, help="trust anchors instead of the system store")
    d.add_argument("--proxy", metavar="URL", help="HTTP CONNECT proxy to use")
    d.add_argument("--no-proxy", action="store_true", help="ignore proxy settings from the environment")
    d.add_argument("--timeout", default="5", metavar="S", help="per-step timeout (default 5)")
    d.add_argument("--repeat", metavar="N", help="repeat the handshake N times (1 to 1000)")
    d.add_argument("--ntp", metavar="HOST", help="NTP server for the clock check")
    d.add_argument("--cert", metavar="PEM", type=Path, help="client certificate to present (mTLS)")
    d.add_argument("--key", metavar="PEM", type=Path, help="key of the client certificate")
    d.add_argument(
        "--idle",
        metavar="S",
        help="after a successful handshake, hold the connection quiet up to S seconds to catch idle closes",
    )
    d.add_argument(
        "--expect-fingerprint",
        metavar="SHA256",
        help="SHA-256 of the leaf the server really has; another one means interception",
    )
    d.add_argument(
        "--client",
        metavar="NAME",
        help="judge the endpoint by a known client's own hello, trust store and limits "
        "(e.g. java8, android7, python-openssl3; `scan` lists them all)",
    )
    d.add_argument(
        "--starttls",
        metavar="PROTO",
        choices=STARTTLS_PROTOCOLS,
        help=f"upgrade a plaintext protocol first: {', '.join(STARTTLS_PROTOCOLS)}",
    )
    d.add_argument(
        "--capture", action="store_true", help="(root) record the probes' own packets and analyse them"
    )
    d.add_argument(
        "--capture-file",
        metavar="F",
        type=Path,
        help="(root) as --capture, and keep the pcap at F, its key log at F.keys",
    )
    _output_options(d)

    s = sub.add_parser("scan", help="server TLS configuration: versions, suites, groups, weaknesses")
    s.add_argument("target", metavar="TARGET", help="host, host:port, [v6addr]:port or https:// URL")
    s.add_argument("--port", help="port, if not in TARGET (default 443)")
    s.add_argument("--servername", metavar="NAME", help="SNI and certificate name instead of the host")
    s.add_argument("--connect-to", metavar="ADDR", help="connect to this address, not the host's")
    s.add_argument("--ca-file", metavar="PEM", type=Path, help="trust anchors instead of the system store")
    s.add_argument("--timeout", default="5", metavar="S", help="per-probe deadline")
    s.add_argument("--max-time", metavar="S", help="deadline of the whole scan (default 6 x --timeout)")
    s.add_argument(
        "--max-connections", default="16", metavar="N", help="connections in flight at once (default 16)"
    )
    s.add_argument(
        "--starttls",
        metavar="PROTO",
        choices=STARTTLS_PROTOCOLS,
        help=f"upgrade a plaintext protocol first: {', '.join(STARTTLS_PROTOCOLS)}",
    )
    s.add_argument(
        "--fail-on",
        default="high",
        choices=("critical", "high", "medium", "low"),
        help="exit 1 when a finding of this severity or worse is found (default high)",
    )
    s.add_argument("--verbose", action="store_true", help="list every suite of every version, one per line")
    s.set_defaults(resolver=[], proxy=None, no_proxy=True, repeat=None, ntp=None, cert=None, key=None)
    _output_options(s)

    e = sub.add_parser("explain", help="interpret an error message or log excerpt (argument or stdin)")
    e.add_argument("text", nargs="*", metavar="TEXT", help="the error text; read from stdin when absent")
    _output_options(e)

    p = sub.add_parser("pcap", help="explain the TLS connections in a pcap/pcapng capture, offline")
    p.add_argument("file", metavar="FILE", type=Path, help="the capture (tcpdump -w, Wireshark, pcapng)")
    p.add_argument(
        "--keylog",
        metavar="FILE",
        type=Path,
        help="SSLKEYLOGFILE secrets: decrypt TLS 1.3 (and 1.2 AEAD) handshakes",
    )
    _output_options(p)

    h = sub.add_parser(
        "host", help="local machine checks: clock, descriptors, ports, MTUs, proxy, trust, policy"
    )
    h.add_argument("--ntp", metavar="HOST", help="NTP server for the clock (default: the configured ones)")
    h.add_argument("--no-ntp", action="store_true", help="do not ask any NTP server")
    h.add_argument("--pid", metavar="PID", help="judge this process's descriptors (default: this shell's)")
    h.add_argument("--timeout", default="2", metavar="S", help="NTP query timeout (default 2)")
    _output_options(h)

    _exporter_parser(sub)

    m = sub.add_parser("demo", help="diagnose built-in broken endpoints on loopback (no network needed)")
    m.add_argument("--only", metavar="NAME", action="append", default=[], help="run only these endpoints")
    m.add_argument(
        "--timeout", type=positive_float, metavar="S", help="per-step timeout (default 2; --lab 3)"
    )
    m.add_argument("--json", action="store_true", help="print the results as JSON")
    m.add_argument(
        "--lab", action="store_true", help="(root) the middlebox lab in network namespaces instead"
    )
    return parser


def _exporter_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    x = sub.add_parser("exporter", help="Prometheus exporter: /probe?target=HOST:PORT says whether and why")
    x.add_argument("--listen", default="127.0.0.1:9219", metavar="ADDR:PORT", help="default 127.0.0.1:9219")
    x.add_argument("--config", metavar="FILE", type=Path, help="YAML: {modules: {NAME: {option: value}}}")
    x.add_argument(
        "--share-window",
        default="2",
        metavar="S",
        help="probes of a target within S seconds share one diagnosis",
    )
    x.add_argument(
        "--timeout-offset", default="0.5", metavar="S", help="answer this long before the scrape timeout"
    )
    x.add_argument("--max-diagnoses", default="256", metavar="N", help="diagnoses in flight (then 503)")
    x.add_argument("--keep", default="100", metavar="N", help="recent probes kept for the page and /report")


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the human one")
    p.add_argument("--report", metavar="FILE", type=Path, help="also write a self-contained HTML report")


def diagnose_options(args: argparse.Namespace) -> Options:
    """Validate diagnose's (and scan's) arguments into Options: inputs.diagnose_options, which the
    library calls too, so both accept and refuse the same values with the same message."""
    from tlsdoctor.inputs import diagnose_options as validate

    return validate(
        args.target,
        port=args.port,
        servername=args.servername,
        connect_to=args.connect_to,
        resolver=args.resolver,
        ca_file=args.ca_file,
        proxy=args.proxy,
        no_proxy=args.no_proxy,
        timeout=args.timeout,
        repeat=args.repeat,
        ntp=args.ntp,
        cert=args.cert,
        key=args.key,
        starttls=getattr(args, "starttls", None),
        idle=getattr(args, "idle", None),
        expect_fingerprint=getattr(args, "expect_fingerprint", None),
        client=getattr(args, "client", None),
    )


def expected_fingerprint(text: str | None) -> str | None:
    """--expect-fingerprint as lowercase hex (inputs.fingerprint)."""
    from tlsdoctor.inputs import fingerprint

    return fingerprint(text)


def read_explain_text(args: argparse.Namespace) -> str:
    """The text to explain: the arguments, else stdin (bounded); credentials in it redacted, since
    the report quotes it back (target.redact_text)."""
    from tlsdoctor.target import redact_text

    return redact_text(_explain_input(args))


def _explain_input(args: argparse.Namespace) -> str:
    if args.text:
        return " ".join(args.text)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("explain needs TEXT, or the error text on standard input")
    data = sys.stdin.buffer.read(4 << 20)
    head = data[:4096]
    if b"\x00" in head or (head and sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 10):
        raise InputError("standard input looks like binary data, not error text")
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError("standard input is empty: nothing to explain")
    return text


def say(line: str) -> None:
    """One line on stderr. A stderr nobody reads (``2>&1 | true``) must not turn a usage error's
    status 2 into another: the status says it then."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def dispatch(args: argparse.Namespace) -> int:
    from tlsdoctor.inputs import report_path

    report_path(getattr(args, "report", None))  # before the run: a report that cannot be written fails now

    if args.command == "diagnose" and args.targets is not None:
        from tlsdoctor.commands.batch import run_batch

        return run_batch(
            args, lambda target: diagnose_options(argparse.Namespace(**{**vars(args), "target": target}))
        )
    if args.command == "diagnose":
        if args.target is None:
            raise UsageError("diagnose needs TARGET, or --targets FILE (see 'tlsdoctor diagnose --help')")
        options = diagnose_options(args)  # before the heavy imports: bad input fails in milliseconds
        from tlsdoctor.commands.capture import capture_request, diagnose_captured

        capture = capture_request(args.capture, args.capture_file)
        import asyncio

        from tlsdoctor.commands.diagnose import diagnose
        from tlsdoctor.context import Context
        from tlsdoctor.report.progress import shown_on_terminal

        with shown_on_terminal(f"diagnosing {options.host}:{options.port}", json_output=args.json) as seen:
            ctx = Context(options=options, observer=seen)
            report = asyncio.run(diagnose(ctx) if capture is None else diagnose_captured(ctx, capture))
        return emit(report, args)
    if args.command == "scan":
        options = diagnose_options(args)
        from tlsdoctor.commands.scan import scan_command
        from tlsdoctor.context import Context, Limits
        from tlsdoctor.inputs import count, seconds

        max_time = None if args.max_time is None else seconds(args.max_time, "--max-time")
        limits = Limits(max_concurrency=count(args.max_connections, 1, 256, "--max-connections"))
        report = scan_command(
            Context(options=options, limits=limits), max_time=max_time, fail_on=args.fail_on
        )
        return emit(report, args)
    if args.command == "explain":
        from tlsdoctor.commands.explain import run_explain

        return emit(run_explain(read_explain_text(args)), args)
    if args.command == "pcap":
        from tlsdoctor.commands.pcap import pcap_cli

        return pcap_cli(args)
    if args.command == "host":
        from tlsdoctor.commands.host import run_host

        return emit(run_host(ntp=args.ntp, no_ntp=args.no_ntp, pid=args.pid, timeout=args.timeout), args)
    if args.command == "exporter":
        from tlsdoctor.commands.exporter import run_exporter, settings

        return run_exporter(
            settings(
                args.listen,
                args.config,
                share_window=args.share_window,
                timeout_offset=args.timeout_offset,
                max_flights=args.max_diagnoses,
                keep=args.keep,
            )
        )
    if args.command == "demo":
        if args.lab:
            from tlsdoctor.commands.demo_lab import run_lab_demo

            return run_lab_demo(only=args.only, timeout=args.timeout or 3.0, as_json=args.json)
        from tlsdoctor.commands.demo import run_demo

        return run_demo(only=args.only, timeout=args.timeout or 2.0, as_json=args.json)
    raise UsageError("no command given (see 'tlsdoctor --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return dispatch(args)
    except TlsDoctorError as exc:
        say(f"{PROG}: error: {escape_controls(exc)}")
        return exc.exit_status
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM routed the same way (tlsdoctor.interrupt)
        from tlsdoctor import interrupt

        return interrupt.finish(PROG)
    except BrokenPipeError:  # a writer other than emit() lost its reader
        stdout_gone()
        return 0
    except Exception as exc:  # a bug: one line, exit 3 (TLSDOCTOR_DEBUG=1 shows the traceback)
        if os.environ.get("TLSDOCTOR_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
            return _no_descriptor_left()
        say(f"{PROG}: internal error: {type(exc).__name__}: {escape_controls(exc)}")
        return 3


def _no_descriptor_left() -> int:
    """The process ran out of file descriptors before it could even run its checks (an event loop
    needs two): say so with the limit, which is itself the diagnosis, and exit 3. Python's own
    complaints about the half-built loop and the coroutine it never ran are silenced: they would
    only repeat this."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    say(
        f"{PROG}: internal error: no file descriptor left to run with (this process's limit is "
        f"{soft}, and all are open: see 'ulimit -n' and what the parent process leaked to it)"
    )
    import warnings

    sys.unraisablehook = lambda _: None
    warnings.simplefilter("ignore")  # the coroutine the loop never got to run
    return 3


def entry() -> NoReturn:
    """The console script. Signals first: SIGINT and SIGTERM end the run with one line and exit
    130/143 from here on (tlsdoctor.interrupt), also while the rest loads.

    A command-line run is short and its process ends with it, so two costs of the interpreter's
    housekeeping are skipped here (never in :func:`main`, which tests and library callers run in
    their own process):

    - the cyclic garbage collector runs rarely: its default young-generation threshold (700
      allocations) made ~50 collections, 15 ms of a 300 ms loopback scan, while importing and
      probing, and a run's cyclic garbage is megabytes at most;
    - the interpreter's teardown (a full collection and the finalisation of ~220 modules: ~45 ms)
      is skipped once the report is out: stdout and stderr are flushed, every file the command
      wrote is closed, its child processes reaped, and os._exit ends the process. With another
      thread still running, the normal exit (which waits for it) is taken instead, except after a
      signal: then nothing is waited for.
    """
    from tlsdoctor import interrupt

    interrupt.install()
    status = 0
    try:
        import gc

        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:  # before main()'s own handler, or after it returned
        status = interrupt.finish(PROG)
    except BrokenPipeError:  # the reader left (e.g. | head): the status stays the diagnosis's
        stdout_gone()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    if status in (interrupt.INTERRUPTED, interrupt.TERMINATED) or threading_count() == 1:
        os._exit(status)
    sys.exit(status)


GC_YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)


def threading_count() -> int:
    """Threads alive, without importing threading for a command that never started one."""
    threading = sys.modules.get("threading")
    return 1 if threading is None else threading.active_count()
