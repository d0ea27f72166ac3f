"""The scan's helper process (scan/helper.py): answers, reports errors, and a dead helper is an
error the caller falls back from, not a hang. Run in a fresh interpreter: the helper forks only
from a single-threaded process, and a pytest worker may have threads of its own."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import asyncio, os
from tlsdoctor.context import Context, Options
from tlsdoctor.scan.helper import Helper, HelperError

async def main():
    ctx = Context(options=Options(host="127.0.0.1", port=1, host_is_ip=True))
    helper = Helper.start(ctx, None)
    assert helper is not None
    print("analyse", await helper.call("analyse", [], "localhost", None))
    try:
        await helper.call("nonsense")
    except HelperError as exc:
        print("refused", exc)
    os.kill(helper.pid, 9)
    os.waitpid(helper.pid, 0)
    try:
        await helper.call("analyse", [], "localhost", None)
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
