"""The lab scenarios at the default options and at ``--timeout 3``: time, top cause, confidence (root).

    python bench/lab_table.py                       # every scenario once per timeout: the closing table
    python bench/lab_table.py --only loss-10%-auto healthy --runs 20 --timeouts default
                                                    # rates: how often each top cause comes out

Each diagnosis is the real CLI in the lab's client namespace (as ``tlsdoctor demo --lab`` runs it), with
no ``--timeout`` for "default". Scenarios come from tlsdoctor.testing.lab.scenarios; ``loss-10%-auto`` is
the random-loss fault without ``--repeat`` (the automatic repeat of issue 9 item 6).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time

from tlsdoctor.testing.lab import Lab
from tlsdoctor.testing.lab.scenarios import SCENARIOS, Scenario

EXTRA = (Scenario("loss-10%-auto", "network-unstable", "loss", (("probability", 0.1),)),)


def once(lab: Lab, sc: Scenario, timeout: str) -> tuple[float, str, float]:
    info = lab.set_fault(sc.fault, **dict(sc.params)) if sc.fault else {}
    try:
        argv = [sys.executable, "-m", "tlsdoctor", "diagnose", sc.target, "--ca-file", str(lab.ca_file)]
        argv += ["--json", *[a.format(**info) for a in sc.args]]
        argv += [] if timeout == "default" else ["--timeout", timeout]
        argv += ["--servername", sc.servername] if sc.servername else []
        start = time.monotonic()
        done = lab.run_in("client", argv, timeout=120)
        elapsed = time.monotonic() - start
    finally:
        lab.clear_faults()
    causes = json.loads(done.stdout).get("causes") or [{"id": "-", "confidence": 0.0}]
    return elapsed, causes[0]["id"], float(causes[0]["confidence"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=[])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeouts", default="default,3")
    args = p.parse_args()
    chosen = [s for s in (*SCENARIOS, *EXTRA) if not args.only or s.name in args.only]
    print(f"{'scenario':18} {'timeout':8} {'time':>6}  {'top cause':24} conf  expected")
    with Lab.create() as lab:
        for sc in chosen:
            for timeout in args.timeouts.split(","):
                rows = [once(lab, sc, timeout) for _ in range(args.runs)]
                tops = collections.Counter(r[1] for r in rows)
                t = statistics.median(r[0] for r in rows)
                top, conf = rows[-1][1], statistics.median(r[2] for r in rows if r[1] == rows[-1][1])
                ok = "ok" if tops[sc.expected] == len(rows) else f"MISS {dict(tops)}"
                worst = max(r[0] for r in rows)
                shown = f"{t:5.1f}s" if args.runs == 1 else f"{t:5.1f}s (max {worst:.1f})"
                print(
                    f"{sc.name:18} {timeout:8} {shown}  {top:24} {conf:.2f}  {sc.expected} {ok}", flush=True
                )


if __name__ == "__main__":
    main()
