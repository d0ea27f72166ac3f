"""Ctrl-C and SIGTERM on the command line: one line on stderr, exit 130 or 143, no child left behind.

The entry points (``__main__`` and ``cli.entry``) call :func:`install` before they import anything
else, so a signal that arrives while the CLI still loads is handled like one during the run.

- SIGINT keeps Python's handler: it raises KeyboardInterrupt, and ``asyncio.run`` swaps in its own
  that cancels the main task first, so every ``finally`` (sockets, the scan's helper process) runs
  before KeyboardInterrupt reaches the CLI.
- SIGTERM (``kill``, systemd, a CI job's timeout) takes the very same path: its handler notes the
  signal and calls whatever SIGINT handler is current. Only the exit status and the word differ.
- A process forked from the CLI (the scan's helper) inherits the handler; there SIGTERM ends the
  process at once and silently: its parent reaps it.

:func:`finish` is the one way out after a signal: it prints the line, ignores further signals,
kills and reaps any child still there, and returns the status. The library never calls
:func:`install`: signals belong to the application that embeds it.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

# Only os, signal and sys: this module loads before anything else of the CLI, and every import here
# (contextlib pulls collections and functools: ~5 ms on a busy CPU) widens the window in which a
# Ctrl-C still gets Python's own traceback.
TYPE_CHECKING = False  # not typing's (~10 ms); mypy reads this name the same way
if TYPE_CHECKING:
    from types import FrameType

INTERRUPTED = 128 + signal.SIGINT  # 130, as shells report a Ctrl-C
TERMINATED = 128 + signal.SIGTERM  # 143

_owner = 0  # the pid that installed the handlers: the CLI's own process
received: int | None = None  # the last signal handled, None until one arrives


def install() -> None:
    """Route SIGTERM through the SIGINT machinery (idempotent; call first in an entry point)."""
    global _owner
    if _owner == os.getpid():
        return
    _owner = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _owner:  # a forked helper: end now, quietly; the parent reaps it
        os._exit(TERMINATED)
    global received
    received = signum
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):  # Python's default raises KeyboardInterrupt; asyncio's cancels the main task
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored or defaulted by whoever started us: still end cleanly
        raise KeyboardInterrupt


def finish(prog: str) -> int:
    """After KeyboardInterrupt reached the CLI: say so in one line, leave no child, give the status.
    The process-wide part (signals ignored from now on, children killed) only in the process that
    called :func:`install`: ``cli.main`` also runs inside tests and other programs."""
    owned = _owner == os.getpid()
    if owned:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C now would only cut this short
            signal.signal(sig, signal.SIG_IGN)
        # A coroutine made but not yet started when the signal landed (asyncio.run's argument) is the
        # interruption itself: Python's warning about it at exit would only repeat the line below.
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
        # Likewise an object the signal left half-built (an event loop cut short in its constructor)
        # complains when collected ("Exception ignored in ..."): the exit status already says why.
        sys.unraisablehook = lambda _: None
    terminated = received == signal.SIGTERM
    try:  # noqa: SIM105 (contextlib: see the imports)
        print(f"{prog}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed too: the status still says it
        pass
    if owned:
        reap_children()
    return TERMINATED if terminated else INTERRUPTED


def reap_children() -> None:
    """Kill and reap every child process still there. The scan's helper is closed by its context
    manager as the interrupt unwinds; this covers a signal that lands between its fork and the
    ``with`` that owns it. Linux lists children in /proc; elsewhere only exited ones are reaped."""
    pids: set[int] = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
    except OSError:  # not Linux, or a thread ended meanwhile: what was read is enough
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:  # already gone, or reaped elsewhere
            pass
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:  # no child left
        pass
