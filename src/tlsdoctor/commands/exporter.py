"""``tlsdoctor exporter``: a Prometheus exporter that says why a TLS endpoint fails.

Everything the user passes is checked before the port is bound (the listen address, every module
of ``--config``, the numbers): a mistake is one line and exit status 2, never a server that starts
and then fails each scrape. The process runs until SIGINT or SIGTERM (systemd's stop), which end it
through the command line's one path (tlsdoctor.interrupt) after the server has closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.errors import InternalError, UsageError
from tlsdoctor.target import join_endpoint, parse_endpoint

if TYPE_CHECKING:
    from tlsdoctor.exporter.modules import Module

DEFAULT_LISTEN = "127.0.0.1:9219"  # loopback: exposing probes to a network is a choice made with --listen
DEFAULT_PORT = 9219


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExporterSettings:
    """The exporter's options, validated."""

    host: str
    port: int
    config: Path | None = None
    share_window: float = 2.0
    timeout_offset: float = 0.5
    max_flights: int = 256
    keep: int = 100

    @property
    def listen(self) -> str:
        return join_endpoint(self.host, self.port)


def settings(
    listen: str,
    config: Path | None,
    *,
    share_window: object = "2",
    timeout_offset: object = "0.5",
    max_flights: object = "256",
    keep: object = "100",
) -> ExporterSettings:
    """Validate the command line's values (UsageError with the option's name when one is bad)."""
    from tlsdoctor.inputs import count

    text = listen.strip()
    any_port = text.endswith(":0")  # port 0: the kernel picks a free one (the line on stderr names it)
    host, port, _ = parse_endpoint(
        text[:-1] + "1" if any_port else text, DEFAULT_PORT, "--listen", ip_only=True
    )
    port = 0 if any_port else port
    window = _zero_or_seconds(share_window, "--share-window")
    offset = _zero_or_seconds(timeout_offset, "--timeout-offset")
    return ExporterSettings(
        host=host,
        port=port,
        config=config,
        share_window=window,
        timeout_offset=offset,
        max_flights=count(max_flights, 1, 100_000, "--max-diagnoses"),
        keep=count(keep, 1, 10_000, "--keep"),
    )


def _zero_or_seconds(value: object, what: str) -> float:
    """0 (off), or seconds as --timeout takes them."""
    from tlsdoctor.inputs import seconds

    return 0.0 if str(value).strip() in ("0", "0.0") else seconds(value, what)


def _dependencies() -> None:
    """The exporter's libraries are an extra (``tlsdoctor[exporter]``); say so if one is missing."""
    missing = []
    for module, package in (
        ("aiohttp", "aiohttp"),
        ("prometheus_client", "prometheus-client"),
        ("yaml", "PyYAML"),
    ):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise InternalError(f"the exporter needs {', '.join(missing)}: pip install 'tlsdoctor[exporter]'")


def run_exporter(options: ExporterSettings) -> int:
    """Validate the modules, bind, serve until a signal; the exit status."""
    _dependencies()
    from tlsdoctor.exporter.modules import default_modules, load_modules

    modules = load_modules(options.config) if options.config is not None else default_modules()
    return asyncio.run(_serve(options, modules))


async def _serve(options: ExporterSettings, modules: Mapping[str, Module]) -> int:
    from aiohttp import web

    from tlsdoctor.exporter.probe import Prober
    from tlsdoctor.exporter.server import SETTINGS, make_app

    checked = dict(modules)
    prober = Prober(
        checked, share_window=options.share_window, max_flights=options.max_flights, keep=options.keep
    )
    app = make_app(prober, listen=options.listen, timeout_offset=options.timeout_offset)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port, reuse_address=True, backlog=512)
        try:
            await site.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {options.listen}: {exc.strerror or exc}") from None
        bound = _bound(site) or options.listen
        app[SETTINGS]["listen"] = bound  # the page names the port really bound (--listen ...:0)
        print(
            f"tlsdoctor exporter: listening on http://{bound}/ ({len(checked)} modules)",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.Event().wait()  # until SIGINT/SIGTERM cancels the main task
    finally:
        await runner.cleanup()
    return 0


def _bound(site: object) -> str | None:
    """The address actually bound (``--listen 127.0.0.1:0`` picks a free port)."""
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        return join_endpoint(host, port)
    return None
