"""Record the lab's pcap fixtures: tcpdump in the client namespace while curl (an independent client)
talks to nginx through a real middlebox fault (iptables, a narrow link) in ``mid``.

Run as root from the repository root: ``.venv/bin/python tests/golden/pcap/make_lab_captures.py [NAME ...]``.
The lab is the one the netns tests use (tlsdoctor.testing.lab): client 198.18.1.2, mid 198.18.1.1 /
198.18.2.1, server 198.18.2.2 (nginx on 443). Packets from the server cross mid, so they arrive with TTL
63; an RST mid forges arrives with TTL 64: the difference the capture tells.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tlsdoctor.testing.lab import NAME, SERVER_IP, Lab

HERE = Path(__file__).parent

# name -> (fault, its parameters, curl's time limit in seconds)
CAPTURES: dict[str, tuple[str | None, dict[str, Any], int]] = {
    "lab-healthy": (None, {}, 5),
    "lab-inject-reset": ("inject-reset", {}, 5),
    "lab-mtu-blackhole": ("mtu-blackhole", {}, 4),
    "lab-narrow-link": ("narrow-link", {}, 5),
    "lab-host-unreachable": ("host-unreachable", {}, 3),
    "lab-tcp-timeout": ("tcp-timeout", {}, 3),
    # last: the dropped hello's socket goes on retransmitting after curl gives up
    "lab-drop-hello": ("drop-hello", {}, 3),
}


def record(lab: Lab, name: str) -> Path:
    fault, params, limit = CAPTURES[name]
    argv = ["curl", "-sS", "-o", "/dev/null", "--max-time", str(limit), "--cacert", str(lab.ca_file),
            "--resolve", f"{NAME}:443:{SERVER_IP}", f"https://{NAME}/"]  # fmt: skip
    if fault is not None:
        lab.set_fault(fault, **params)
    path = HERE / f"{name}.pcap"
    try:
        with tcpdump(lab, path):
            lab.run_in("client", argv, timeout=limit + 3)
    finally:
        lab.clear_faults()
    return path


@contextlib.contextmanager
def tcpdump(lab: Lab, path: Path) -> Iterator[None]:
    """tcpdump on the client's interface, whole packets (-s 0), until the block ends."""
    tmp = lab.workdir / path.name
    proc = lab.spawn_in(
        "client",
        ["tcpdump", "-i", "c0", "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "0", "-w", str(tmp),
         f"host {SERVER_IP} or icmp"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and b"listening on" not in proc.stderr.readline():
        pass
    try:
        yield
        time.sleep(0.5)
    finally:
        lab.ns.stop(proc)
    shutil.copyfile(tmp, path)


def main(names: list[str]) -> None:
    with Lab.create(key_bits=2048) as lab:
        for name in names or list(CAPTURES):
            path = record(lab, name)
            print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
