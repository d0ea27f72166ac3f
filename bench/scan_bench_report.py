"""Summarise bench/scan_bench.sh: wall time, peak RSS and cipher suites tested per tool, and the ratios."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any


def timing(path: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS kB) from a `/usr/bin/time -v` file."""
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    assert wall and rss, f"no timing in {path}"
    h, m, s = wall.groups()
    return int(h or 0) * 3600 + int(m) * 60 + float(s), int(rss.group(1))


def tlsdoctor_suites(work: Path) -> tuple[dict[str, int], dict[str, int]]:
    scan = json.loads((work / "tlsdoctor.out").read_text())["scan"]
    tested = {p["version"]: p["suites_tested"] for p in scan["protocols"]}
    accepted = {p["version"]: len(p["cipher_suites"]) for p in scan["protocols"] if p["supported"]}
    return tested, accepted


def sslyze_suites(work: Path) -> tuple[dict[str, int], dict[str, int]]:
    doc: dict[str, Any] = json.loads((work / "sslyze.json").read_text())
    result = doc["server_scan_results"][0]["scan_result"]
    tested: dict[str, int] = {}
    accepted: dict[str, int] = {}
    for key, name in (("ssl_2_0", "SSLv2"), ("ssl_3_0", "SSLv3"), ("tls_1_0", "TLSv1.0"), ("tls_1_1", "TLSv1.1"),
                      ("tls_1_2", "TLSv1.2"), ("tls_1_3", "TLSv1.3")):  # fmt: skip
        r = (result.get(f"{key}_cipher_suites") or {}).get("result") or {}
        acc, rej = r.get("accepted_cipher_suites", []), r.get("rejected_cipher_suites", [])
        tested[name] = len(acc) + len(rej)
        if acc:
            accepted[name] = len(acc)
    return tested, accepted


def testssl_suites(work: Path) -> dict[str, int]:
    """Accepted suites per protocol as testssl.sh lists them (its JSON has no 'rejected' list)."""
    path = work / "testssl.json"
    if not path.exists():
        return {}
    findings = json.loads(path.read_text())
    out: dict[str, int] = {}
    for f in findings:
        m = re.match(r"cipher-(tls1_3|tls1_2|tls1_1|tls1|ssl3|ssl2)_", f.get("id", ""))
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def main(work: Path) -> None:
    names = [n for n in ("tlsdoctor", "sslyze", "testssl") if (work / f"{n}.time").exists()]
    rows = {name: timing(work / f"{name}.time") for name in names}
    for name, (wall, rss) in rows.items():
        print(f"{name:10s} wall {wall:7.2f} s   peak RSS {rss / 1024:7.1f} MB")
    t_tested, t_acc = tlsdoctor_suites(work)
    s_tested, s_acc = sslyze_suites(work)
    print(f"suites tested  tlsdoctor {sum(t_tested.values())} {t_tested}")
    print(f"               sslyze    {sum(s_tested.values())} {s_tested}")
    print(f"suites accepted tlsdoctor {t_acc}")
    print(f"                sslyze    {s_acc}")
    print(f"                testssl   {testssl_suites(work)} (ids cipher-<proto>_*, when its run lists them)")
    tw, tr = rows["tlsdoctor"]
    print(f"ratio wall tlsdoctor/sslyze  = {tw / rows['sslyze'][0]:.3f} (target <= 0.333)")
    if "testssl" in rows:
        print(f"ratio wall tlsdoctor/testssl = {tw / rows['testssl'][0]:.4f} (target <= 0.050)")
    print(f"ratio RSS  tlsdoctor/sslyze  = {tr / rows['sslyze'][1]:.3f} (target < 1)")
    print(f"suites tested tlsdoctor >= sslyze: {sum(t_tested.values()) >= sum(s_tested.values())}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
