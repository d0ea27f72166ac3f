"""A TCP relay on loopback that makes a path long: every chunk waits a set one-way time in each direction.

This kernel has no `sch_netem`, so tests and benchmarks that need "a server 100 ms away" put this relay in
front of a real server. It keeps what a long path keeps and nothing more:

- every chunk is delivered `one_way_ms` (plus optional jitter) after it arrived, in both directions, and never
  before a chunk that arrived earlier (jitter delays, it never reorders: TCP delivers in order);
- a FIN travels like data (the relay half-closes the other side when it is due), and so does an RST (the other
  side is closed with SO_LINGER 0, so it sees a reset, not a clean close);
- the connection to the target starts one one-way time after the client's, the way a SYN reaches a distant
  server; a refused or failed target connect comes back to the client as an RST one one-way time later;
- buffers are bounded (`max_buffer` bytes queued per direction): a fast sender is slowed by TCP's own flow
  control instead of filling memory.

What it cannot delay: the client's own TCP handshake, which the kernel completes on the relay's listening
socket. Through the relay, `connect()` returns at once and the first byte costs one round trip, so a
request costs one round trip less than on a real path of the same length (for every client alike: compare
tools side by side through the same relay).

    async with DelayRelay("127.0.0.1", server_port, one_way_ms=50) as relay:
        ...  # connect to relay.host:relay.port

    with running_relay("127.0.0.1", server_port, one_way_ms=50) as relay:  # from synchronous code
        ...

    python -m tlsdoctor.testing.delay --listen 127.0.0.1:0 --to 127.0.0.1:8443 --one-way-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import random
import signal
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

_CHUNK = 65536
_DEFAULT_MAX_BUFFER = 4 * 1024 * 1024
_CONNECT_TIMEOUT = 10.0

# How a sender gets its destination: the target's writer only exists once its (delayed) connect finished.
_WriterSource = Callable[[], Awaitable[asyncio.StreamWriter]]


class _Kind(enum.Enum):
    DATA = "data"
    EOF = "eof"
    RESET = "reset"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Segment:
    due: float
    kind: _Kind
    data: bytes = b""


class _Direction:
    """One direction of one connection: the due times it hands out never go backwards (no reordering)."""

    def __init__(self, relay: DelayRelay, max_buffer: int) -> None:
        self._relay = relay
        self._last_due = 0.0
        self.queue: asyncio.Queue[_Segment] = asyncio.Queue(maxsize=max(1, max_buffer // _CHUNK))

    def due(self) -> float:
        self._last_due = max(self._last_due, asyncio.get_running_loop().time() + self._relay.sample_delay())
        return self._last_due

    async def put(self, kind: _Kind, data: bytes = b"") -> None:
        await self.queue.put(_Segment(due=self.due(), kind=kind, data=data))


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER on, timeout 0), as the far end of a reset connection sees it."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class DelayRelay:
    """Relays TCP from `listen_host`:`listen_port` (0: any free port) to `target_host`:`target_port`, each
    chunk delayed `one_way_ms` (+/- up to `jitter_ms`, uniformly, never below zero) in each direction."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        one_way_ms: float,
        jitter_ms: float = 0.0,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        max_buffer: int = _DEFAULT_MAX_BUFFER,
        seed: int | None = None,
    ) -> None:
        if one_way_ms < 0 or jitter_ms < 0:
            raise ValueError("one_way_ms and jitter_ms must not be negative")
        if max_buffer < 1:
            raise ValueError("max_buffer must be positive")
        self.target_host = target_host
        self.target_port = target_port
        self.one_way = one_way_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.host = listen_host
        self._listen_port = listen_port
        self._max_buffer = max_buffer
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.port = 0
        self.accepted = 0

    def sample_delay(self) -> float:
        """One one-way time, with jitter when asked for."""
        if not self.jitter:
            return self.one_way
        return max(0.0, self.one_way + self._random.uniform(-self.jitter, self.jitter))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._listen_port, limit=_CHUNK)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await asyncio.sleep(0)  # let the transports we closed run their connection_lost
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> DelayRelay:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.accepted += 1
        try:
            await self._relay(client_reader, client_writer)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by stop(): end normally, or asyncio's stream callback reports the cancellation.
        finally:
            self._connections.discard(task)

    async def _connect_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await asyncio.sleep(self.sample_delay())  # the SYN travels to the server first
        return await asyncio.wait_for(
            asyncio.open_connection(self.target_host, self.target_port, limit=_CHUNK), _CONNECT_TIMEOUT
        )

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        target: asyncio.Task[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        target = asyncio.ensure_future(self._connect_target())
        upstream = _Direction(self, self._max_buffer)
        downstream = _Direction(self, self._max_buffer)
        writers: list[asyncio.StreamWriter] = [client_writer]

        async def target_writer() -> asyncio.StreamWriter:
            _, writer = await target
            return writer

        async def client_writer_of() -> asyncio.StreamWriter:
            return client_writer

        async def read_target() -> None:
            try:
                reader, writer = await target
            except OSError:  # TimeoutError is an OSError
                await downstream.put(_Kind.RESET)
                return
            writers.append(writer)
            await self._read(reader, downstream)

        tasks = [
            asyncio.ensure_future(self._read(client_reader, upstream)),
            asyncio.ensure_future(read_target()),
        ]
        senders = [
            asyncio.ensure_future(self._send(upstream, target_writer)),
            asyncio.ensure_future(self._send(downstream, client_writer_of)),
        ]
        clean = False
        try:
            # Done when both directions delivered their FIN, or at the first reset (which ends both).
            pending: set[asyncio.Future[bool]] = set(senders)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(not fut.result() for fut in done):
                    for writer in writers:
                        _reset(writer)
                    break
            else:
                clean = True
        finally:
            for fut in (*tasks, *senders, target):
                fut.cancel()
            await asyncio.gather(*tasks, *senders, target, return_exceptions=True)
            connected = target.done() and not target.cancelled() and target.exception() is None
            if connected and target.result()[1] not in writers:
                writers.append(target.result()[1])
            for writer in writers:
                # After both FINs went out, let the last bytes flush; otherwise (stop(), a reset) drop them:
                # close() would wait for a peer that may never read.
                if clean:
                    writer.close()
                else:
                    writer.transport.abort()
            for writer in writers:
                with contextlib.suppress(OSError):
                    await asyncio.wait_for(writer.wait_closed(), _CONNECT_TIMEOUT)

    @staticmethod
    async def _read(reader: asyncio.StreamReader, direction: _Direction) -> None:
        while True:
            try:
                data = await reader.read(_CHUNK)
            except OSError:  # ConnectionResetError and kin: the peer reset
                await direction.put(_Kind.RESET)
                return
            if not data:
                await direction.put(_Kind.EOF)
                return
            await direction.put(_Kind.DATA, data)

    @staticmethod
    async def _send(direction: _Direction, destination: _WriterSource) -> bool:
        """Deliver each segment when it is due. True once the FIN went through; False on a reset (either
        one arriving from the source or the destination refusing our writes)."""
        loop = asyncio.get_running_loop()
        while True:
            segment = await direction.queue.get()
            wait = segment.due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer = await destination()
            except OSError:  # TimeoutError is an OSError
                return False
            if segment.kind is _Kind.RESET:
                return False
            try:
                if segment.kind is _Kind.EOF:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return True
                writer.write(segment.data)
                await writer.drain()
            except OSError:
                return False


@contextlib.contextmanager
def running_relay(
    target_host: str,
    target_port: int,
    *,
    one_way_ms: float,
    jitter_ms: float = 0.0,
    listen_host: str = "127.0.0.1",
    listen_port: int = 0,
    max_buffer: int = _DEFAULT_MAX_BUFFER,
    seed: int | None = None,
) -> Iterator[DelayRelay]:
    """The relay on its own event loop in a daemon thread, for synchronous tests and benchmarks."""
    relay = DelayRelay(
        target_host,
        target_port,
        one_way_ms=one_way_ms,
        jitter_ms=jitter_ms,
        listen_host=listen_host,
        listen_port=listen_port,
        max_buffer=max_buffer,
        seed=seed,
    )
    started = threading.Event()
    failure: list[BaseException] = []
    control: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        control.append((asyncio.get_running_loop(), stop))
        try:
            async with relay:
                started.set()
                await stop.wait()
        except BaseException as exc:  # reported to the caller's thread below
            failure.append(exc)
            raise
        finally:
            started.set()

    def run() -> None:
        # asyncio.run cancels and finishes whatever the relay still had in flight before closing the loop.
        with contextlib.suppress(BaseException):
            asyncio.run(serve())

    thread = threading.Thread(target=run, name="delay-relay", daemon=True)
    thread.start()
    started.wait(_CONNECT_TIMEOUT)
    try:
        if failure:
            raise failure[0]
        if not relay.port:
            raise TimeoutError("the delay relay did not start")
        yield relay
    finally:
        if control:
            loop, stop = control[0]
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(_CONNECT_TIMEOUT)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


async def _serve_forever(relay: DelayRelay) -> None:
    async with relay:
        print(relay.port, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tlsdoctor.testing.delay",
        description="Relay TCP with a one-way delay in each direction; prints the listening port, then runs "
        "until SIGINT or SIGTERM.",
    )
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 0), metavar="HOST:PORT")
    parser.add_argument("--to", type=_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--one-way-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--max-buffer", type=int, default=_DEFAULT_MAX_BUFFER, help="bytes per direction")
    parser.add_argument("--seed", type=int, default=None, help="seed of the jitter")
    args = parser.parse_args(argv)
    try:
        relay = DelayRelay(
            args.to[0],
            args.to[1],
            one_way_ms=args.one_way_ms,
            jitter_ms=args.jitter_ms,
            listen_host=args.listen[0],
            listen_port=args.listen[1],
            max_buffer=args.max_buffer,
            seed=args.seed,
        )
        asyncio.run(_serve_forever(relay))
    except (ValueError, OSError) as exc:
        print(f"delay relay: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
