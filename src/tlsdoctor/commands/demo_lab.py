"""demo --lab: build the middlebox lab (root), set each fault with its real mechanism, diagnose through it.

Each diagnosis is the real CLI run in the lab's ``client`` namespace (``ip netns exec``: Python 3.11 has
no ``os.setns``), so what the table shows is exactly what a user there would get. Scenarios run one at a
time because a fault applies to the whole lab. The table is demo's own (commands/demo.py: show).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tlsdoctor.errors import InternalError, UsageError
from tlsdoctor.report.demo import Row, show

if TYPE_CHECKING:
    from tlsdoctor.testing.lab import Lab


def run_lab_demo(only: Sequence[str] = (), timeout: float = 3.0, as_json: bool = False) -> int:
    """Run the lab scenarios; exit status 0 only when every diagnosis names the expected cause."""
    if os.geteuid() != 0:
        raise UsageError("demo --lab needs root: it builds network namespaces (run as root, or drop --lab)")
    from tlsdoctor.testing.lab import Lab, netns_available
    from tlsdoctor.testing.lab.scenarios import SCENARIOS

    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise UsageError(f"unknown lab scenario {unknown[0]!r}; choose from: {', '.join(known)}")
    ok, reason = netns_available()
    if not ok:
        raise UsageError(f"demo --lab cannot build the lab here: {reason}")
    chosen = [known[n] for n in only] if only else list(SCENARIOS)
    start = time.monotonic()
    rows: list[Row] = []
    with Lab.create() as lab:
        for sc in chosen:
            info = lab.set_fault(sc.fault, **dict(sc.params)) if sc.fault else {}
            try:
                rows.append(
                    diagnose_in_lab(
                        lab,
                        sc.name,
                        sc.expected,
                        sc.target,
                        sc.servername,
                        [a.format(**info) for a in sc.args],
                        timeout,
                    )
                )
            finally:
                lab.clear_faults()
    title = "tlsdoctor demo --lab: real faults in network namespaces (198.18.0.0/15)"
    return show(rows, title, time.monotonic() - start, as_json)


def diagnose_in_lab(
    lab: Lab, name: str, expected: str, target: str, servername: str | None, extra: list[str], timeout: float
) -> Row:
    """``tlsdoctor diagnose --json`` in the client namespace; its top cause as a demo row."""
    argv = [
        sys.executable,
        "-m",
        "tlsdoctor",
        "diagnose",
        target,
        "--ca-file",
        str(lab.ca_file),
        "--json",
        "--timeout",
        str(timeout),
        *extra,
    ]
    if servername:
        argv += ["--servername", servername]
    begun = time.monotonic()
    done = lab.run_in("client", argv, timeout=20 * timeout + 30)
    elapsed = time.monotonic() - begun
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise InternalError(
            f"diagnose in the lab printed no report for {name}: "
            f"{done.stderr.decode(errors='replace').strip()[-300:]}"
        ) from None
    causes = report.get("causes") or []
    top = causes[0] if causes else None
    return Row(
        name,
        expected,
        (),
        top["id"] if top else str(report.get("verdict")),
        float(top["confidence"]) if top else None,
        elapsed,
    )
