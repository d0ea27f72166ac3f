"""Import what a run will need later while it waits on the network.

A command-line run is one cold process: the modules it needs once the server has answered (the
certificate analysis and cryptography's X.509 code, the rule table, the report writers) cost about
100 ms to import, and imported when first used they sit on the critical path, after the last round
trip. Imported in a thread started when the first probe goes out, they load while the main thread
sleeps in the event loop waiting for the server's answer, so a long path hides them.

The thread stops when the wait ends (Preload.stop). Only modules with no import-time side effects
are listed, and none of them imports another at module level in a cycle, so the import system's
per-module locks make a concurrent first use wait for the thread rather than see a half-built
module. A failure here is ignored: the module's real import, where it is used, raises it in its
own words.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Sequence

SWITCH_S = 0.0005


class Preload:
    """Modules importing in a daemon thread, until done or told to stop."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = modules
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._load, name="tlsdoctor-preload", daemon=True)

    def start(self) -> Preload:
        self.thread.start()
        return self

    def stop(self) -> None:
        """The wait is over: the main thread has work now and needs the interpreter to itself (a
        failed handshake's variants go out as one wave), so no further module starts loading here;
        the one loading finishes, and whatever is left loads where it is used."""
        self._stop.set()

    def _load(self) -> None:
        # While this thread holds the interpreter, the main thread waking for a packet waits for it to
        # let go: at most the switch interval, 5 ms by default, per wake-up. A short interval while
        # importing keeps the probes' own work (a wave of connects) from queueing behind the imports.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_S)
        try:
            for name in self.modules:
                if self._stop.is_set():
                    return
                with contextlib.suppress(Exception):
                    module, _, call = name.partition(":")
                    loaded = importlib.import_module(module)
                    if call:
                        getattr(loaded, call)()
        finally:
            sys.setswitchinterval(interval)


def preload(modules: Sequence[str]) -> Preload | None:
    """Import ``modules`` in a daemon thread; None when all are loaded already (a warm process: the
    exporter, a library caller, a second run). ``"module:function"`` also calls that function, with
    no argument, once the module is loaded: a cached load (the system trust store) done ahead."""
    missing = [m for m in modules if m.partition(":")[0] not in sys.modules]
    return Preload(missing).start() if missing else None
