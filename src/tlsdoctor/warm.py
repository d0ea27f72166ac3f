"""Import what a run will need later while it waits on the network.

A command-line run is one cold process: the modules it needs once the server has answered (the
certificate analysis and cryptography's X.509 code, the rule table, the report writers) cost about
100 ms to import, and imported when first used they sit on the critical path, after the last round
trip. Imported in a thread started when the first probe goes out, they load while the main thread
sleeps in the event loop waiting for the server's answer, so a long path hides them.

Only modules with no import-time side effects are listed, and none of them imports another at
module level in a cycle, so the import system's per-module locks make a concurrent first use wait
for the thread rather than see a half-built module. A failure here is ignored: the module's real
import, where it is used, raises it in its own words.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Sequence


def preload(modules: Sequence[str]) -> threading.Thread | None:
    """Import ``modules`` in a daemon thread; None when all are loaded already (a warm process: the
    exporter, a library caller, a second run)."""
    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return None
    thread = threading.Thread(target=_load, args=(missing,), name="tlsdoctor-preload", daemon=True)
    thread.start()
    return thread


def _load(modules: Sequence[str]) -> None:
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
