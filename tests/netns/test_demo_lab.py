"""`tlsdoctor demo --lab --json`: every lab scenario diagnosed as expected, by the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.netns


def test_demo_lab_every_row_ok(netns_ok: None) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tlsdoctor", "demo", "--lab", "--json"],
        capture_output=True,
        text=True,
        timeout=400,
    )
    out = json.loads(r.stdout)
    bad = [(row["endpoint"], row["expected"], row["diagnosed"]) for row in out["results"] if not row["ok"]]
    assert not bad, bad
    assert r.returncode == 0, r.stderr
    assert out["passed"] == out["total"] >= 15
    slow = [(row["endpoint"], row["seconds"]) for row in out["results"] if row["seconds"] > 10.0]
    assert not slow, slow  # issue 4: with --timeout 3 every lab fault is diagnosed in <= 10 s
