"""The one stream factory: every connection of every command is opened here.

A :class:`Route` says how a probe reaches the target (straight to an address, or through an HTTP or
HTTPS proxy's CONNECT tunnel); a :class:`Dial` says what every connection to that target shares (the
port, the byte cap, the ``--starttls`` preamble). :func:`open_stream` makes the connection and, when
asked, runs the preamble, so that a proxy, ``--connect-to``, the byte cap and STARTTLS apply to every
probe of diagnose and scan alike. Failures come back as observations, never as exceptions.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.net.stream import Stream
from tlsdoctor.net.tcp import open_tcp

if TYPE_CHECKING:
    from tlsdoctor.net.proxy import ProxyUrl
    from tlsdoctor.observations.base import Observation


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """How probes reach the target: directly to ``address``, or through ``proxy`` at ``proxy_address``."""

    address: str
    proxy: ProxyUrl | None = None
    proxy_address: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    """What every connection to one target shares, whatever its route. ``host``: the name a proxy's
    CONNECT asks for; ``servername``: the name a STARTTLS preamble announces (the XMPP domain);
    ``ca_file``: extra trust for an ``https://`` proxy (a private CA often signs both)."""

    host: str
    port: int
    cap: int = 256 * 1024
    starttls: str | None = None
    servername: str | None = None
    ca_file: Path | None = None


async def open_stream(
    route: Route, dial: Dial, timeout: float, *, preamble: bool = True, mss: int | None = None
) -> tuple[list[Observation], Stream | None]:
    """Open a stream to the target along ``route`` within ``timeout``; failures are observations.

    With ``dial.starttls`` (and ``preamble``), the protocol's plaintext preamble runs next, in a timeout of
    its own, and the stream comes back positioned for the ClientHello with a ``StarttlsResult`` among the
    observations; a preamble that does not end READY is that observation and no stream. ``preamble=False``
    measures the transport only (diagnose's reach phase, or a caller that wants the socket first). ``mss``
    (direct routes): the TCP maximum segment size to announce (path-MTU probing).
    """
    obs, stream = await _open_transport(route, dial, timeout, mss)
    if stream is None or not preamble:
        return obs, stream
    return await with_preamble(dial, obs, stream, timeout)


async def with_preamble(
    dial: Dial, obs: list[Observation], stream: Stream, timeout: float
) -> tuple[list[Observation], Stream | None]:
    """Run the ``--starttls`` preamble (if any) on a fresh stream; every probe that speaks TLS uses it."""
    if dial.starttls is None:
        return obs, stream
    from tlsdoctor.net.starttls import upgrade  # the preambles load only for --starttls

    stream.deadline = time.monotonic() + timeout
    result = await upgrade(stream, dial.starttls, dial.servername)
    obs.append(result)
    if not result.ready:
        stream.close()
        return obs, None
    return obs, stream


async def _open_transport(
    route: Route, dial: Dial, timeout: float, mss: int | None
) -> tuple[list[Observation], Stream | None]:
    """TCP to the target, or TCP to the proxy and a CONNECT tunnel through it."""
    if route.proxy is not None and route.proxy_address is not None:
        from tlsdoctor.net.proxy import open_tunnel  # HTTP and TLS to a proxy load only for a proxy

        tcp, tunnel, stream = await open_tunnel(
            route.proxy,
            route.proxy_address,
            dial.host,
            dial.port,
            timeout,
            dial.cap,
            ca_file=dial.ca_file,
        )
        return [tcp, tunnel], stream
    tcp, sock = await open_tcp(route.address, dial.port, timeout, mss=mss)
    if sock is None:
        return [tcp], None
    return [tcp], Stream(sock, time.monotonic() + timeout, dial.cap)
