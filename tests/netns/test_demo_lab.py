"""`tlsdoctor demo --lab --json`: every lab scenario diagnosed as expected, by the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.netns


@pytest.mark.parametrize(("timeout", "budget"), [("3", 10.0), ("5", 12.5)], ids=["timeout3", "timeout5"])
def test_demo_lab_every_row_ok(netns_ok: None, timeout: str, budget: float) -> None:
    """Every scenario at demo --lab's own --timeout 3 and at diagnose's default 5 s (issue 9: <= 10 s
    and <= 12.5 s per lab fault)."""
    r = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "demo", "--lab", "--json", "--timeout", timeout],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = json.loads(r.stdout)
    bad = [(row["endpoint"], row["expected"], row["diagnosed"]) for row in out["results"] if not row["ok"]]
    assert not bad, bad
    assert r.returncode == 0, r.stderr
    assert out["passed"] == out["total"] >= 15
    slow = [(row["endpoint"], row["seconds"]) for row in out["results"] if row["seconds"] > budget]
    assert not slow, slow
