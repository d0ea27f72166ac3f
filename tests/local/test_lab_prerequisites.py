"""The README's test command on a machine without the lab's packages (issue 9 item 12): the lab
tests skip with one line naming the missing Debian packages, instead of failing half-way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LISTING = REPO / ".ci" / "lab-packages.txt"


PYTEST = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider"]


def lab_commands() -> dict[str, str]:
    """command -> the Debian package that provides it, from .ci/lab-packages.txt."""
    found = {}
    for line in LISTING.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        for command in words[1:]:
            found[command] = words[0]
    return found


def test_lab_skips_in_one_line_naming_the_missing_packages(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab's package check runs after its root check: needs root")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 `ip` not found")
    hidden = {"squid", "ping"}  # as on a fresh Debian machine
    commands = lab_commands()
    assert hidden <= commands.keys()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in commands.keys() - hidden:
        real = shutil.which(command)
        if real is not None:
            (bin_dir / command).symlink_to(real)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PATH"] = str(bin_dir)
    proc = subprocess.run(
        [*PYTEST, "-m", "netns", "-q", "-rs", "tests/netns/test_lab.py", "tests/netns/test_demo_lab.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert proc.returncode == 0, out[-3000:]
    assert len(skipped) == 1, out[-3000:]
    assert "squid" in skipped[0] and "iputils-ping" in skipped[0], skipped
    assert "nginx-light" not in skipped[0] and "iproute2" not in skipped[0], skipped
    assert " passed" not in out and "error" not in out.lower(), out[-3000:]
