"""A re-signing TLS relay: what a corporate "SSL inspection" box does, for the ``intercept`` fault.

Run in the ``mid`` namespace behind a DNAT rule: it terminates the client's TLS with a leaf minted on the fly
for the SNI (notBefore = now - 1 minute, signed by the inspection CA, exactly the tell-tale signs a diagnosis
looks for), reads the original destination with ``SO_ORIGINAL_DST`` and opens its own TLS connection to the
real server, then copies bytes both ways.

    python -m tlsdoctor.testing.lab.relay --listen 198.18.1.1:8443 --ca ca.pem --ca-key ca.key --workdir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import struct
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlsdoctor.testing.lab.pki import PrivateKey, key_pem, make_leaf, pem, rsa_key, write_private

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h
IDLE_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0


class Minter:
    """Mints and caches one leaf per name; one key for all leaves, as inspection products commonly do."""

    def __init__(self, ca_path: Path, ca_key_path: Path, workdir: Path) -> None:
        self.ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError(f"unsupported CA key type {type(loaded).__name__}")
        self.ca_key: PrivateKey = loaded
        self.key = rsa_key(2048)
        self.workdir = workdir
        self.key_path = write_private(workdir / "minted.key", key_pem(self.key))
        self.contexts: dict[str, ssl.SSLContext] = {}

    def context_for(self, name: str) -> ssl.SSLContext:
        ctx = self.contexts.get(name)
        if ctx is None:
            now = dt.datetime.now(dt.UTC)
            leaf = make_leaf([name], self.key, self.ca, self.ca_key, not_before=now - dt.timedelta(minutes=1))
            safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in name)[:100]
            path = self.workdir / f"minted-{safe}.pem"
            path.write_bytes(pem(leaf) + pem(self.ca))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(path, self.key_path)
            self.contexts[name] = ctx
        return ctx


def original_destination(sock: socket.socket) -> tuple[str, int] | None:
    """The address the client meant to reach before DNAT (sockaddr_in: family, port, address)."""
    try:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    except OSError:
        return None
    port = struct.unpack_from("!H", raw, 2)[0]
    return socket.inet_ntoa(raw[4:8]), port


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT):
            writer.write(data)
            await writer.drain()
    except (OSError, TimeoutError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()


class Relay:
    def __init__(self, minter: Minter, upstream: tuple[str, int], upstream_ca: Path | None) -> None:
        self.minter = minter
        self.upstream = upstream
        self.sni: dict[int, str] = {}
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(*self._default_cert())
        self.server_ctx.sni_callback = self._on_sni
        self.client_ctx = ssl.create_default_context(cafile=str(upstream_ca) if upstream_ca else None)
        if upstream_ca is None:
            self.client_ctx.check_hostname = False
            self.client_ctx.verify_mode = ssl.CERT_NONE

    def _default_cert(self) -> tuple[Path, Path]:
        self.minter.context_for(self.upstream[0])
        safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in self.upstream[0])
        return self.minter.workdir / f"minted-{safe}.pem", self.minter.key_path

    def _on_sni(self, obj: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name:
            self.sni[id(obj)] = name
            obj.context = self.minter.context_for(name)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        obj = writer.get_extra_info("ssl_object")
        name = self.sni.pop(id(obj), None)
        sock = writer.get_extra_info("socket")
        dest = original_destination(sock) if sock is not None else None
        host, port = dest or self.upstream
        print(f"relay: {writer.get_extra_info('peername')} sni={name} -> {host}:{port}", file=sys.stderr)
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self.client_ctx, server_hostname=name or host),
                CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            print(f"relay: upstream {host}:{port} failed: {exc!r}", file=sys.stderr)
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def serve(args: argparse.Namespace) -> None:
    host, _, port = args.listen.rpartition(":")
    up_host, _, up_port = args.upstream.rpartition(":")
    minter = Minter(Path(args.ca), Path(args.ca_key), Path(args.workdir))
    relay = Relay(minter, (up_host, int(up_port)), Path(args.upstream_ca) if args.upstream_ca else None)
    server = await asyncio.start_server(
        relay.handle, host, int(port), ssl=relay.server_ctx, ssl_handshake_timeout=10, backlog=128
    )
    print(f"relay: listening on {args.listen}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--ca-key", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--upstream", default="198.18.2.2:443", help="used when SO_ORIGINAL_DST is unavailable")
    p.add_argument("--upstream-ca", default=None)
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
