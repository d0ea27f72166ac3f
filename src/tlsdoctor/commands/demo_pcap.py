"""The demo's capture: one connection to each demo endpoint, recorded with tcpdump on loopback while
Python's ssl client talked to the very servers ``tlsdoctor demo`` starts (tests/golden/pcap/
make_captures.py demo), shipped with the package. ``tlsdoctor pcap`` analyses it offline, and each flow's
cause is compared with the endpoint's expected one, like the live rows above it."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

from tlsdoctor.report.demo import Row

CAPTURE = "demo.pcap"


def capture_path() -> Path:
    """Where the shipped capture is (a real file: the reader streams it from disk)."""
    return Path(str(resources.files("tlsdoctor.testing") / "captures" / CAPTURE))


def pcap_rows() -> list[Row]:
    """One row per flow of the shipped capture: the endpoint it reached, expected vs diagnosed."""
    from tlsdoctor.commands.pcap import run_pcap

    path = capture_path()
    known = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["flows"]
    by_port = {f["port"]: f for f in known}
    start = time.monotonic()
    report = run_pcap(path)
    each = (time.monotonic() - start) / max(1, len(report.extra["flows"]))
    rows = []
    for flow in report.extra["flows"]:
        port = int(flow["server"].rsplit(":", 1)[1])
        spec = by_port.get(port, {"endpoint": "?", "expected": ""})
        top = flow["causes"][0] if flow["causes"] else None
        rows.append(
            Row(
                f"pcap: {spec['endpoint']}",
                spec["expected"] or "",
                (),
                top["id"] if top else flow["verdict"],
                top["confidence"] if top else None,
                each,
            )
        )
    return rows
