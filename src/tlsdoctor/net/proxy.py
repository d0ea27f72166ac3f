"""Which proxy applies to a target, and opening a CONNECT tunnel through it."""

from __future__ import annotations

import dataclasses
import os
import time
import urllib.parse
from pathlib import Path

from tlsdoctor.errors import UsageError
from tlsdoctor.net.stream import ReadEnd, Stream
from tlsdoctor.net.tcp import open_tcp
from tlsdoctor.observations.tcp import ConnectOutcome, ProxyTunnel, TcpConnect, TunnelOutcome
from tlsdoctor.target import parse_endpoint, redact_userinfo, shown, url_parts
from tlsdoctor.wire.connect_proxy import (
    MAX_RESPONSE_HEAD,
    ConnectResponse,
    NeedData,
    authority,
    build_connect,
    parse_connect_response,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ProxyUrl:
    """A parsed proxy URL: scheme, host, port and optional credentials (never shown: see display)."""

    scheme: str
    host: str
    port: int
    credentials: tuple[str, str] | None = dataclasses.field(repr=False)
    source: str  # "--proxy" or the environment variable it came from

    @property
    def display(self) -> str:
        """The URL without credentials, safe to print."""
        return f"{self.scheme}://{authority(self.host, self.port)}"


PROXY_SCHEMES = {"http": 80, "https": 443}


def parse_proxy_url(text: str, source: str = "--proxy") -> ProxyUrl:
    """Parse [http://][user:pass@]host[:port] (https:// accepted and judged by the probe).

    Every error line shows the URL with its credentials redacted (target.redact_userinfo),
    whether it came from --proxy or from the environment.
    """
    raw = text.strip()
    if not raw:
        hint = ": to ignore the environment's proxy, use --no-proxy" if source == "--proxy" else ""
        raise UsageError(f"empty proxy URL in {source}{hint}")
    raw = raw if "://" in raw else f"http://{raw}"
    safe = shown(redact_userinfo(raw))
    scheme, userinfo, hostport = url_parts(raw, f"proxy URL in {source}")
    if scheme not in PROXY_SCHEMES:
        raise UsageError(
            f"unsupported proxy URL {safe} in {source}: only HTTP CONNECT proxies "
            "(http:// or https://) are supported"
        )
    if not hostport:
        raise UsageError(f"invalid proxy URL {safe} in {source}: no host")
    host, port, _ = parse_endpoint(hostport, PROXY_SCHEMES[scheme], f"{source} host")
    creds = None
    if userinfo:
        user, _, password = userinfo.partition(":")
        creds = (urllib.parse.unquote(user), urllib.parse.unquote(password))
    return ProxyUrl(scheme, host, port, creds, source)


def proxy_for(host: str, explicit: str | None, no_proxy: bool) -> ProxyUrl | None:
    """The proxy a client honouring the environment would use for https://host (None: direct)."""
    if no_proxy:
        return None
    if explicit:
        return parse_proxy_url(explicit)
    if not any(k.lower() == "https_proxy" for k in os.environ):
        return None  # the common case, without importing urllib.request (tens of ms at start-up)
    import urllib.request

    env = urllib.request.getproxies_environment()
    chosen = env.get("https")
    if not chosen:
        return None
    if urllib.request.proxy_bypass(host):  # NO_PROXY / no_proxy (system settings on macOS)
        return None
    name = "HTTPS_PROXY/https_proxy"
    return parse_proxy_url(chosen, name)


async def speaks_plain_http(
    proxy: ProxyUrl, proxy_address: str, host: str, port: int, timeout: float
) -> bool:
    """Whether the proxy answers a plain-text CONNECT in HTTP: the differential that proves an
    ``https://`` proxy URL wrong (many plain proxies just wait, silent, on a ClientHello)."""
    _tcp, sock = await open_tcp(proxy_address, proxy.port, timeout, role="proxy")
    if sock is None:
        return False
    stream = Stream(sock, time.monotonic() + timeout, MAX_RESPONSE_HEAD)
    try:
        if await stream.send(build_connect(host, port, proxy.credentials)) is not ReadEnd.DATA:
            return False
        buffer = b""
        while len(buffer) < MAX_RESPONSE_HEAD:
            end, data = await stream.recv()
            if end is not ReadEnd.DATA:
                return False
            buffer += data
            parsed = parse_connect_response(buffer)
            if not isinstance(parsed, NeedData):
                return isinstance(parsed, ConnectResponse)
        return False
    finally:
        stream.close()


async def open_tunnel(
    proxy: ProxyUrl,
    proxy_address: str,
    host: str,
    port: int,
    timeout: float,
    cap: int,
    *,
    ca_file: Path | None = None,
) -> tuple[TcpConnect, ProxyTunnel, Stream | None]:
    """TCP to the proxy, CONNECT host:port; the stream is positioned inside the tunnel.

    An ``https://`` proxy is verified against the system store plus ``ca_file`` (--ca-file), as
    a private CA that signs the target usually signs the proxy too.
    """
    start = time.monotonic()
    target = authority(host, port)
    tcp, sock = await open_tcp(proxy_address, proxy.port, timeout, role="proxy")

    def tunnel(outcome: TunnelOutcome, status: int | None = None, reason: str = "") -> ProxyTunnel:
        return ProxyTunnel(
            proxy=proxy.display,
            target=target,
            outcome=outcome,
            status=status,
            reason=reason,
            elapsed_ms=(time.monotonic() - start) * 1000,
        )

    if sock is None:
        return tcp, tunnel(TunnelOutcome.CONNECT_FAILED, reason=tcp.outcome.value), None
    stream: Stream = Stream(sock, time.monotonic() + timeout, cap)
    if proxy.scheme == "https":  # TLS to the proxy first; the CONNECT and the tunnel run inside it
        import ssl

        from tlsdoctor.net.tls_stream import wrap

        context = ssl.create_default_context()
        if ca_file is not None:
            context.load_verify_locations(cafile=str(ca_file))
        wrapped, why = await wrap(stream, proxy.host, context)
        if wrapped is None:
            stream.close()
            if why == "plain" or await speaks_plain_http(proxy, proxy_address, host, port, timeout):
                plain = tunnel(TunnelOutcome.PLAIN_PROXY, reason="the proxy answers a plain CONNECT in HTTP")
                return tcp, plain, None
            return tcp, tunnel(TunnelOutcome.PROXY_TLS_FAILED, reason=why), None
        stream = wrapped
    if await stream.send(build_connect(host, port, proxy.credentials)) is not ReadEnd.DATA:
        stream.close()
        return tcp, tunnel(TunnelOutcome.CLOSED, reason=stream.error), None
    buffer = bytearray()
    while True:
        end, data = await stream.recv()
        if end is not ReadEnd.DATA:
            stream.close()
            kind = TunnelOutcome.TIMEOUT if end is ReadEnd.TIMEOUT else TunnelOutcome.CLOSED
            return tcp, tunnel(kind, reason=stream.error or end.value), None
        buffer += data
        parsed = parse_connect_response(bytes(buffer))
        if isinstance(parsed, NeedData):
            continue
        if not isinstance(parsed, ConnectResponse):
            stream.close()
            return tcp, tunnel(TunnelOutcome.NOT_HTTP, reason=parsed.first_bytes[:32].hex(" ")), None
        break
    if 200 <= parsed.status < 300:
        early = bytes(buffer[parsed.head_length :])  # the server spoke first inside the tunnel
        stream.received, stream.head, stream.pending = len(early), bytearray(early[:256]), early
        stream.sent = 0
        stream.deadline = time.monotonic() + timeout
        return tcp, tunnel(TunnelOutcome.ESTABLISHED, parsed.status, parsed.reason), stream
    stream.close()
    if parsed.status == 407:
        kind = TunnelOutcome.AUTH_REQUIRED
    elif parsed.status in (502, 503, 504):
        kind = TunnelOutcome.UPSTREAM_FAILED
    else:
        kind = TunnelOutcome.DENIED
    return tcp, tunnel(kind, parsed.status, parsed.reason), None


__all__ = ["ConnectOutcome", "ProxyUrl", "open_tunnel", "parse_proxy_url", "proxy_for"]
