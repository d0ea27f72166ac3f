"""How `tlsdoctor scan` spends round trips, against real servers on 127.0.0.1: every connection
is counted in the wave it ran in (``scan.round_trips``), the phases after the version wave run
side by side, and no more than ``--max-connections`` connections are ever open at the server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_servers import NGINX, OPENSSL, Certs, ground_truth, nginx, s_server

from tlsdoctor.commands.scan import run_scan
from tlsdoctor.context import Context, Limits, Options
from tlsdoctor.report.envelope import envelope
from tlsdoctor.scan.scanner import PHASES
from tlsdoctor.testing import Pki
from tlsdoctor.testing.delay import running_relay

needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="openssl binary not installed (.ci/scan-packages.txt)"
)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    with Pki() as pki:
        yield Certs(pki)


def scan(port: int, certs: Certs, *, max_connections: int = 16, timeout: float = 3.0) -> dict[str, Any]:
    options = Options(
        host="127.0.0.1",
        port=port,
        servername="localhost",
        host_is_ip=True,
        timeout=timeout,
        ca_file=certs.ca_file,
    )
    ctx = Context(options=options, limits=Limits(max_concurrency=max_connections))
    return envelope(asyncio.run(run_scan(ctx)))


@needs_openssl
def test_round_trips_count_every_connection_in_its_wave(certs: Certs) -> None:
    """The version probes are wave 1; every phase of PHASES depends on them and so starts in
    wave 2 or later; every connection the scan made is in some phase; the critical path is the deepest
    phase and never below the floor the answers force."""
    args = ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA"]
    with s_server(certs, [*args, "-serverpref"], ecdsa=True) as port:
        report = scan(port, certs)
    rt = report["scan"]["round_trips"]
    phases = rt["phases"]
    assert phases["versions"]["connections"] == 6 and phases["versions"]["waves"] == [1, 1]
    assert {name for name, _ in PHASES} <= set(phases)
    for name, _ in PHASES:  # after the versions; the background ones when connections are free
        assert phases[name]["waves"][0] >= 2, (name, phases[name])
        assert phases[name]["started_ms"] >= phases["versions"]["ended_ms"] - 1
    assert phases["cipher-suites"]["waves"][0] == 2
    assert sum(p["connections"] for p in phases.values()) == report["scan"]["handshakes"]
    assert rt["critical_path"] == max(p["waves"][1] for p in phases.values())
    assert 2 <= rt["floor"] <= rt["critical_path"]
    assert rt["max_connections"] == 16


class Counter:
    """A TCP forwarder in front of a server, on its own event loop: it records when each
    connection opened and when the client closed it (FIN or RST), which is how many of the
    scan's connections the server had open at once."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.spans: list[tuple[float, float]] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Counter:
        self._thread.start()
        assert self._ready.wait(10), "counter did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def peak(self, tolerance: float) -> int:
        """Most connections open at once; a close within ``tolerance`` s of an open counts as
        before it (the forwarder's own event loop may see a new connection before the old FIN)."""
        events = sorted([(s, 1) for s, _ in self.spans] + [(e - tolerance, -1) for _, e in self.spans])
        live = best = 0
        for _, step in events:
            live += step
            best = max(best, live)
        return best

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, client: bool) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                if client:
                    self.spans.append((opened, loop.time()))
                with contextlib.suppress(OSError):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


BROAD = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:RSA+AESGCM:RSA+AES:!aNULL:!PSK:@SECLEVEL=0"


@needs_nginx
@pytest.mark.parametrize("limit", [3, 16])
def test_max_connections_is_what_the_server_sees(certs: Certs, tmp_path: Path, limit: int) -> None:
    """Behind a 20 ms path every connection lasts at least a round trip, so the server would see
    any excess; it sees the limit reached (the scan is parallel) and never passed."""
    with (
        nginx(certs, tmp_path, protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", ciphers=BROAD,
              curves="X25519:P-256", prefer=True, ecdsa=True) as port,
        running_relay("127.0.0.1", port, one_way_ms=20) as relay,
        Counter(relay.port) as counter,
    ):  # fmt: skip
        report = scan(counter.port, certs, max_connections=limit)
    assert report["scan"]["round_trips"]["max_connections"] == limit
    assert len(counter.spans) == report["scan"]["handshakes"] + 1  # + the scan's TCP reachability check
    assert counter.peak(tolerance=0.015) == limit


@needs_nginx
def test_through_a_long_path_the_same_answers_and_waves_are_round_trips(certs: Certs, tmp_path: Path) -> None:
    """Through the delay relay the scan finds exactly what it finds on loopback (suites in the
    server's order, as `openssl ciphers` lists them; groups, schemes, ALPN), and each wave of
    its critical path costs at least a round trip."""
    with nginx(certs, tmp_path, protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", ciphers=BROAD,
               curves="X25519:P-256:P-384", prefer=True, ecdsa=True) as port:  # fmt: skip
        direct = scan(port, certs)
        with running_relay("127.0.0.1", port, one_way_ms=15) as relay:
            far = scan(relay.port, certs)

    def answers(report: dict[str, Any]) -> list[tuple[Any, ...]]:
        # (how many handshakes it took varies: chains fork when connections are free)
        return [
            (p["version"], p["supported"], p["cipher_suites"], p["server_order"])
            for p in report["scan"]["protocols"]
        ]

    assert answers(far) == answers(direct)
    for key in ("groups", "signature_schemes", "features"):
        assert far["scan"][key] == direct["scan"][key], key
    tls12 = next(p for p in far["scan"]["protocols"] if p["version"] == "TLSv1.2")
    assert tls12["cipher_suites"] == ground_truth(BROAD, "TLSv1.2") and tls12["server_order"] is True
    tls10 = next(p for p in far["scan"]["protocols"] if p["version"] == "TLSv1.0")
    assert tls10["cipher_suites"] == ground_truth(BROAD, "TLSv1.0")
    waves = far["scan"]["round_trips"]["critical_path"]
    assert far["duration_ms"] >= waves * 30
