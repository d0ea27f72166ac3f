"""The scan's helper process (scan/helper.py): answers, reports errors, and a dead helper is an
error the caller falls back from, not a hang. Run in a fresh interpreter: the helper forks only
from a single-threaded process, and a pytest worker may have threads of its own."""

from __future__ import annotations

import subprocess
import sys
import time

SCRIPT = r"""
import asyncio, os
from tlsdoctor.context import Context, Options
from tlsdoctor.scan.helper import Helper, HelperError

async def main():
    ctx = Context(options=Options(host="127.0.0.1", port=1, host_is_ip=True))
    helper = Helper.start(ctx, None)
    assert helper is not None
    print("analyse", await helper.call("analyse", [], "localhost", None, timeout=30))
    try:
        await helper.call("nonsense", timeout=30)
    except HelperError as exc:
        print("refused", exc)
    os.kill(helper.pid, 9)
    os.waitpid(helper.pid, 0)
    try:
        await helper.call("analyse", [], "localhost", None, timeout=30)
    except HelperError:
        print("dead is an error")
    helper.close()
    os.environ["TLSDOCTOR_NO_HELPER"] = "1"
    print("disabled", Helper.start(ctx, None))

asyncio.run(main())
"""


def test_helper_answers_refuses_and_dies_cleanly() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "analyse []"
    assert lines[1].startswith("refused ValueError: unknown request")
    assert lines[2:] == ["dead is an error", "disabled None"]


STOPPED = r"""
import asyncio, os, signal, time
from tlsdoctor.context import Context, Options
from tlsdoctor.scan.helper import Helper, HelperError

async def main():
    ctx = Context(options=Options(host="127.0.0.1", port=1, host_is_ip=True))
    helper = Helper.start(ctx, None)
    assert helper is not None
    await helper.call("analyse", [], "localhost", None, timeout=30)
    os.kill(helper.pid, signal.SIGSTOP)
    start = time.monotonic()
    try:
        await helper.call("analyse", [], "localhost", None, timeout=0.5)
    except HelperError as exc:
        print("stopped", round(time.monotonic() - start, 3), exc)
    try:
        os.kill(helper.pid, 0)
        print("still there")
    except ProcessLookupError:
        print("reaped")
    start = time.monotonic()
    try:
        await helper.call("judge", [], timeout=30)
    except HelperError:
        print("later calls fail at once", time.monotonic() - start < 0.1)

asyncio.run(main())
print("loop closed")
"""


def test_stopped_helper_costs_its_deadline_only() -> None:
    """SIGSTOP the helper: the call gives up at its deadline, the helper is killed and reaped, and
    the event loop closes (no worker thread left blocked on the pipe)."""
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", STOPPED], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    word, elapsed, why = lines[0].split(" ", 2)
    # the deadline, plus the kill and reap of the stopped helper (a loaded 2-core machine adds ~0.1 s)
    assert word == "stopped" and 0.5 <= float(elapsed) < 1.5, lines
    assert why.startswith("no answer to 'analyse' within 0.5 s"), lines
    assert lines[1:] == ["reaped", "later calls fail at once True", "loop closed"]
    assert time.monotonic() - start < 30
