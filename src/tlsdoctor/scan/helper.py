"""A helper process for a scan's certificate work, on the machine's other core.

A loopback scan is client-CPU bound, and a fifth of that CPU is certificate work that needs none
of the probes: importing cryptography's x509, the chain analysis and the inference rules, and
parsing the system trust store (a few hundred certificates). In a thread it competes with the
probes for the GIL; in a forked child it runs beside them. The child starts on that work at
once, then answers requests on a pipe: ``analyse`` (certs.analysis.analyse_chain per chain),
``check`` (CertificateCheck on one chain), ``describe`` (scan/certinfo.py: the certificates in
full and the trust stores' verdicts; the stores load while idle) and ``judge`` (the inference
engine), with pickled
values (observations, CheckResults and causes are plain frozen data).

Only where it is safe: on Linux, in a process with one thread (a fork copies only the calling
thread, and a lock another thread held would stay held in the child). Anything
else, or a helper that fails or dies, and the caller does the same work in-process: the
helper changes where the work runs, never its result. ``TLSDOCTOR_NO_HELPER=1`` turns it off
(tests compare both ways; a bisect can rule it out).
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from tlsdoctor.context import Context

_LEN = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024  # a chain is kilobytes; a message this large is a bug


class HelperError(Exception):
    """The helper could not answer (it died, or the request raised there)."""


class Helper:
    """The parent's end: one request at a time, each with a deadline.

    The pipes are non-blocking and read by the event loop itself, not by a worker thread: a
    helper that stops answering (stopped by SIGSTOP, swapping, wedged) costs the caller its
    deadline and nothing else. A thread blocked in os.read() could not be abandoned:
    ``asyncio.run`` waits for its executor's threads on the way out. A helper that misses a
    deadline is killed, and every later call fails at once (the caller does the work itself).
    """

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid, self.to_child, self.from_child = pid, to_child, from_child
        self.lock: asyncio.Lock | None = None  # made on first use, inside the running loop
        self.closed = False
        os.set_blocking(to_child, False)
        os.set_blocking(from_child, False)

    @classmethod
    def start(cls, ctx: Context, ca_file: str | None) -> Helper | None:
        """Fork the helper, or None where that is not safe (see the module docstring)."""
        if (
            not sys.platform.startswith("linux")  # macOS: fork without exec is unsafe with its frameworks
            or threading.active_count() != 1
            or os.environ.get("TLSDOCTOR_NO_HELPER")
        ):
            return None
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        # Ctrl-C and SIGTERM wait out the fork: os.fork() runs at-fork hooks (threading's in the
        # child, logging's where it is loaded), and a KeyboardInterrupt raised inside one is only
        # printed ("Exception ignored in ...") and then lost. Held pending here, a signal is
        # delivered the moment each side restores the mask: in the child inside its try (it ends
        # quietly), in the parent on its way back to the caller.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            for fd in (down_r, down_w, up_r, up_w):
                os.close(fd)
            return None
        if pid == 0:  # the child: never returns into the caller's code
            code = 0
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                os.close(down_w)
                os.close(up_r)
                _serve(ctx, ca_file, down_r, up_w)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(down_r)
        os.close(up_w)
        return cls(pid, down_w, up_r)

    async def call(self, op: str, *args: Any, timeout: float) -> Any:
        """Send one request and wait at most ``timeout`` seconds for its answer (HelperError
        after that, and the helper is killed)."""
        import asyncio  # running already: the fork may come before the parent imports it

        if self.closed:
            raise HelperError("helper closed")
        if self.lock is None:
            self.lock = asyncio.Lock()
        request = pickle.dumps((op, args))
        try:
            async with asyncio.timeout(timeout), self.lock:
                if self.closed:
                    raise HelperError("helper closed")
                await _write_all(self.to_child, _LEN.pack(len(request)) + request)
                (n,) = _LEN.unpack(await _read_exactly_async(self.from_child, _LEN.size))
                if n > MAX_MESSAGE:
                    raise EOFError(f"message of {n} bytes")
                ok, value = pickle.loads(await _read_exactly_async(self.from_child, n))
        except TimeoutError:
            self.close()
            raise HelperError(f"no answer to {op!r} within {timeout:.1f} s; helper stopped") from None
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self.close()
            raise HelperError(f"helper gone: {exc}") from None
        except asyncio.CancelledError:  # cut mid-message: the pipe is out of step, the helper useless
            self.close()
            raise
        if not ok:
            raise HelperError(value)
        return value

    def close(self) -> None:
        """End the child and reap it. It holds nothing but its pipes, and may still be loading
        (a scan that found no server ends long before), so it is killed, not waited for; SIGKILL
        ends a stopped process too."""
        if self.closed:
            return
        self.closed = True
        for fd in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


async def _ready(fd: int, *, write: bool) -> None:
    """Wait until ``fd`` is readable (or writable) in the running loop."""
    import asyncio

    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    add(fd, wake)
    try:
        await ready
    finally:
        remove(fd)


async def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            await _ready(fd, write=True)


async def _read_exactly_async(fd: int, n: int) -> bytes:
    parts: list[bytes] = []
    while n:
        try:
            chunk = os.read(fd, min(n, 1 << 20))
        except BlockingIOError:
            await _ready(fd, write=False)
            continue
        if not chunk:
            raise EOFError("pipe closed")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int) -> bytes:
    parts: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _recv(fd: int) -> bytes:
    (n,) = _LEN.unpack(_read_exactly(fd, _LEN.size))
    if n > MAX_MESSAGE:
        raise EOFError(f"message of {n} bytes")
    return _read_exactly(fd, n)


# What the later requests need (check, then judge), imported while no request waits: the parent
# asks for ``analyse`` while it still probes, so that comes first and the rest fills idle time.
WARM_UP = ("tlsdoctor.runner", "tlsdoctor.checks.certificate", "tlsdoctor.inference.engine")


def certinfo_node_thread() -> Callable[[], Any]:
    """Node.js's roots (scan/certinfo.py node_store), fetched in a thread of the helper (forked
    already: threads are safe here); the returned function waits for them, bounded."""
    box: list[Any] = []

    def run() -> None:
        import asyncio

        from tlsdoctor.scan.certinfo import node_store

        with contextlib.suppress(Exception):
            box.append(asyncio.run(node_store()))

    thread = threading.Thread(target=run, name="node-roots", daemon=True)
    thread.start()

    def result() -> Any:
        from tlsdoctor.certs.runtimes import NODE_DEADLINE
        from tlsdoctor.scan.certinfo import Store

        thread.join(NODE_DEADLINE + 1.0)
        return box[0] if box else Store(name="node", source="node", problem="node did not answer in time")

    return result


def _serve(ctx: Context, ca_file: str | None, down: int, up: int) -> None:
    """The child: load what ``analyse`` needs, then answer until the parent closes the pipe.
    Whenever no request waits it gets ahead: it imports what the other requests need, and
    after an ``analyse`` it runs the ``check`` the parent asks for next (the first chain, under
    the scan's server name), so that answer is ready when the probes end."""
    if "asyncio" in sys.modules:  # forked from inside the parent's running loop: not ours to run
        sys.modules["asyncio"].events._set_running_loop(None)
    # A node run takes a few tenths of a second of wall time (its own process) and ``describe``
    # waits for it: it starts first, not after the imports and the system store below, which
    # under load put it last on the scan's critical path.
    node = certinfo_node_thread()
    import importlib
    import select
    from pathlib import Path

    from tlsdoctor.certs.analysis import analyse_chain
    from tlsdoctor.certs.trust import load_ca_file, load_system_store

    system = load_system_store()
    anchors = load_ca_file(Path(ca_file)) if ca_file else system
    idle: list[Callable[[], object]] = [functools.partial(importlib.import_module, m) for m in WARM_UP]
    ready: dict[tuple[str, tuple[bytes, ...], str | None], Any] = {}  # answers computed ahead
    loaded: dict[str, Any] = {}  # the trust stores ``describe`` compares (scan/certinfo.py), read ahead

    def load(name: str) -> None:
        from tlsdoctor.scan.certinfo import load_store

        if name not in loaded:
            loaded[name] = load_store(name, system)

    from tlsdoctor.scan.certinfo import store_names

    names = store_names()  # the file stores, then the root lists kept as data

    def stores() -> list[Any]:
        for name in names:
            load(name)
        return [*(loaded[name] for name in names), node()]

    # One store per idle step: a request (``analyse`` first) never waits for more than one.
    first = ("mozilla", "java", "system")
    idle += [functools.partial(load, n) for n in (*first, *(n for n in names if n not in first))]

    def check(chain: tuple[bytes, ...], servername: str | None) -> Any:
        import asyncio

        from tlsdoctor.checks.certificate import check_served_chain

        return asyncio.run(check_served_chain(ctx, chain, servername))

    def check_ahead(chain: tuple[bytes, ...]) -> None:
        key = ("check", chain, ctx.servername)
        if key not in ready:
            ready[key] = check(chain, ctx.servername)

    while True:
        if idle and not select.select([down], [], [], 0)[0]:
            with contextlib.suppress(Exception):  # work ahead only: the request itself reports errors
                idle.pop(0)()
            continue
        try:
            op, args = pickle.loads(_recv(down))
        except EOFError:
            return
        try:
            if op == "analyse":
                chains, name, now = args
                found = anchors.certificates
                value: Any = [analyse_chain(c, name, found, now, store=anchors.label) for c in chains]
                if chains:
                    idle.insert(0, functools.partial(check_ahead, tuple(chains[0])))
            elif op == "check":
                chain, servername = args
                key = ("check", tuple(chain), servername)
                value = ready.pop(key) if key in ready else check(chain, servername)
            elif op == "describe":
                from tlsdoctor.scan.certinfo import describe

                chains, name, now = args
                value = describe(chains, name, now, stores())
            elif op == "judge":
                from tlsdoctor.inference import engine

                value = engine.diagnose(args[0])
            else:
                raise ValueError(f"unknown request {op!r}")
            reply = pickle.dumps((True, value))
        except Exception as exc:
            reply = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
        _send(up, reply)
