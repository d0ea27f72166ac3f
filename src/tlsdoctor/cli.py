"""The command line (contract/cli.md): parse, validate, run, render, exit.

No diagnosis logic lives here. Imports of the heavy parts are lazy so ``--help`` is fast.
Errors: UsageError/InputError -> one line, exit 2; anything unexpected -> one line, exit 3.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tlsdoctor.errors import InputError, TlsDoctorError, UsageError

if TYPE_CHECKING:
    from tlsdoctor.context import Options
    from tlsdoctor.model import Report

PROG = "tlsdoctor"
PIPED_WIDTH = 120
# The --starttls values (contract/cli.md): wire.starttls.PROTOCOLS, repeated here so --help stays fast.
STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres", "mysql")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text}")
    return value


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Find out why a TLS connection fails: the root cause, the evidence, and what to change.",
    )
    from tlsdoctor import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser("diagnose", help="live, layered diagnosis of one endpoint")
    d.add_argument("target", metavar="TARGET", help="host, host:port, [v6addr]:port or https:// URL")
    d.add_argument("--port", type=bounded_int(1, 65535), help="port, if not in TARGET (default 443)")
    d.add_argument("--servername", metavar="NAME", help="SNI and certificate name to use instead of the host")
    d.add_argument(
        "--connect-to", metavar="ADDR", help="connect to this address instead of resolving the host"
    )
    d.add_argument(
        "--resolver", metavar="IP[:PORT]", action="append", default=[], help="DNS server to ask (repeatable)"
    )
    d.add_argument("--ca-file", metavar="PEM", type=Path, help="trust anchors instead of the system store")
    d.add_argument("--proxy", metavar="URL", help="HTTP CONNECT proxy to use")
    d.add_argument("--no-proxy", action="store_true", help="ignore proxy settings from the environment")
    d.add_argument(
        "--timeout", type=positive_float, default=5.0, metavar="S", help="per-step timeout (default 5)"
    )
    d.add_argument(
        "--repeat", type=bounded_int(0, 1000), default=0, metavar="N", help="repeat the handshake N times"
    )
    d.add_argument("--ntp", metavar="HOST", help="NTP server for the clock check")
    d.add_argument("--cert", metavar="PEM", type=Path, help="client certificate to present (mTLS)")
    d.add_argument("--key", metavar="PEM", type=Path, help="key of the client certificate")
    d.add_argument(
        "--expect-fingerprint",
        metavar="SHA256",
        help="SHA-256 of the leaf the server really has; another one means interception",
    )
    d.add_argument(
        "--starttls",
        metavar="PROTO",
        choices=STARTTLS_PROTOCOLS,
        help=f"upgrade a plaintext protocol first: {', '.join(STARTTLS_PROTOCOLS)}",
    )
    _output_options(d)

    s = sub.add_parser("scan", help="server TLS configuration: versions, suites, groups, weaknesses")
    s.add_argument("target", metavar="TARGET", help="host, host:port, [v6addr]:port or https:// URL")
    s.add_argument("--port", type=bounded_int(1, 65535), help="port, if not in TARGET (default 443)")
    s.add_argument("--servername", metavar="NAME", help="SNI and certificate name instead of the host")
    s.add_argument("--connect-to", metavar="ADDR", help="connect to this address, not the host's")
    s.add_argument("--ca-file", metavar="PEM", type=Path, help="trust anchors instead of the system store")
    s.add_argument("--timeout", type=positive_float, default=5.0, metavar="S", help="per-probe deadline")
    s.add_argument(
        "--starttls",
        metavar="PROTO",
        choices=STARTTLS_PROTOCOLS,
        help=f"upgrade a plaintext protocol first: {', '.join(STARTTLS_PROTOCOLS)}",
    )
    s.set_defaults(resolver=[], proxy=None, no_proxy=True, repeat=0, ntp=None, cert=None, key=None)
    _output_options(s)

    e = sub.add_parser("explain", help="interpret an error message or log excerpt (argument or stdin)")
    e.add_argument("text", nargs="*", metavar="TEXT", help="the error text; read from stdin when absent")
    _output_options(e)

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


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the human one")
    p.add_argument("--report", metavar="FILE", type=Path, help="also write a self-contained HTML report")


def readable_file(path: Path, what: str) -> Path:
    """Fail with one line if a file the user named cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in head:
        raise InputError(f"{what} {path} is not a PEM file (no '-----BEGIN' line)")
    return path


def resolver_spec(text: str) -> str:
    """Validate IP or IP:PORT ([v6]:port)."""
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"invalid --resolver {text!r}: expected IP or IP:PORT") from None
    if port is not None and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise UsageError(f"invalid port in --resolver {text!r}")
    return text


def diagnose_options(args: argparse.Namespace) -> Options:
    """Validate diagnose's arguments into Options."""
    from tlsdoctor.context import Options
    from tlsdoctor.target import normalize_host, parse_target

    target = parse_target(args.target, args.port)
    connect_to = None
    if args.connect_to:
        try:
            connect_to = str(ipaddress.ip_address(args.connect_to.strip("[]")))
        except ValueError:
            raise UsageError(f"invalid --connect-to {args.connect_to!r}: expected an IP address") from None
    servername = None
    if args.servername:
        servername, _ = normalize_host(args.servername)
    if args.proxy:
        from tlsdoctor.net.proxy import parse_proxy_url  # urllib and http.client: only with --proxy

        parse_proxy_url(args.proxy)
    if args.proxy and args.no_proxy:
        raise UsageError("--proxy and --no-proxy exclude each other")
    if args.key and not args.cert:
        raise UsageError("--key needs --cert")
    return Options(
        host=target.host,
        port=target.port,
        servername=servername,
        connect_to=connect_to,
        resolvers=tuple(resolver_spec(r) for r in args.resolver),
        ca_file=readable_file(args.ca_file, "--ca-file") if args.ca_file else None,
        proxy=args.proxy,
        no_proxy=args.no_proxy,
        timeout=args.timeout,
        repeat=args.repeat,
        ntp=args.ntp,
        cert=readable_file(args.cert, "--cert") if args.cert else None,
        key=readable_file(args.key, "--key") if args.key else None,
        host_is_ip=target.is_ip,
        starttls=getattr(args, "starttls", None),
        expect_fingerprint=expected_fingerprint(getattr(args, "expect_fingerprint", None)),
    )


def expected_fingerprint(text: str | None) -> str | None:
    """--expect-fingerprint as lowercase hex ("AA:BB:..", "sha256:..." accepted), else a usage error."""
    if text is None:
        return None
    from tlsdoctor.certs.analysis import normalise_fingerprint

    value = normalise_fingerprint(text)
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise UsageError(f"invalid --expect-fingerprint {text!r}: expected a SHA-256 (64 hex digits)")
    return value


def read_explain_text(args: argparse.Namespace) -> str:
    """The text to explain: the arguments, else stdin (bounded)."""
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


def make_console(stderr: bool = False) -> object:
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    console = Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped into a file or a pager: no screen to wrap at, so do not fold evidence lines at 80.
        console.width = PIPED_WIDTH
    return console


def emit(report: Report, args: argparse.Namespace) -> int:
    """Print the report (JSON or human), write --report, return the exit status.
    rich and the human renderer are imported only for the human output (--json skips them)."""
    if getattr(args, "report", None):
        from tlsdoctor.report import html

        try:
            Path(args.report).write_text(html.render(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write --report {args.report}: {exc.strerror or exc}") from None
    if args.json:
        from tlsdoctor.report import envelope

        sys.stdout.write(envelope.to_json(report) + "\n")
    else:
        from rich.console import Console

        from tlsdoctor.report import human

        console = make_console()
        assert isinstance(console, Console)
        human.render(report, console)
    return report.exit_status


def writable_report(path: Path | None) -> None:
    """Fail before the diagnosis, not after it, when --report cannot be written."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(f"cannot write --report {path}: {parent} is not a writable directory")


def dispatch(args: argparse.Namespace) -> int:
    writable_report(getattr(args, "report", None))

    if args.command == "diagnose":
        import asyncio

        from tlsdoctor.commands.diagnose import diagnose
        from tlsdoctor.context import Context

        options = diagnose_options(args)
        report = asyncio.run(diagnose(Context(options=options)))
        return emit(report, args)
    if args.command == "scan":
        from tlsdoctor.commands.scan import scan_command
        from tlsdoctor.context import Context

        report = scan_command(Context(options=diagnose_options(args)))
        return emit(report, args)
    if args.command == "explain":
        from tlsdoctor.commands.explain import run_explain

        return emit(run_explain(read_explain_text(args)), args)
    if args.command == "demo":
        if args.lab:
            from tlsdoctor.commands.demo_lab import run_lab_demo

            return run_lab_demo(only=args.only, timeout=args.timeout or 3.0, as_json=args.json)
        from tlsdoctor.commands.demo import run_demo

        return run_demo(only=args.only, timeout=args.timeout or 2.0, as_json=args.json)
    raise UsageError("no command given (see 'tlsdoctor --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return dispatch(args)
    except TlsDoctorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, exit 3 (TLSDOCTOR_DEBUG=1 shows the traceback)
        if os.environ.get("TLSDOCTOR_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3


def entry() -> NoReturn:
    """The console script. A command-line run is short and its process ends with it, so two costs
    of the interpreter's housekeeping are skipped here (never in :func:`main`, which tests and
    library callers run in their own process):

    - the cyclic garbage collector runs rarely: its default young-generation threshold (700
      allocations) made ~50 collections, 15 ms of a 300 ms loopback scan, while importing and
      probing, and a run's cyclic garbage is megabytes at most;
    - the interpreter's teardown (a full collection and the finalisation of ~220 modules: ~45 ms)
      is skipped once the report is out: stdout and stderr are flushed, every file the command
      wrote is closed, its child processes reaped, and os._exit ends the process. With another
      thread still running, the normal exit (which waits for it) is taken instead.
    """
    import gc

    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass  # the reader left (e.g. | head): as main() treats it, not an error
    if threading_count() == 1:
        os._exit(status)
    sys.exit(status)


GC_YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)


def threading_count() -> int:
    """Threads alive, without importing threading for a command that never started one."""
    threading = sys.modules.get("threading")
    return 1 if threading is None else threading.active_count()
