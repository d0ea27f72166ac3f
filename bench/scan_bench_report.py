"""Summarise bench/scan_bench.sh: wall time, peak RSS and cipher suites tested per tool, and the ratios."""

from __future__ import annotations

import json
import re
import statistics
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


def tlsdoctor_suites(work: Path, run: int) -> tuple[dict[str, int], dict[str, int]]:
    scan = json.loads((work / f"tlsdoctor-{run}.out").read_text())["scan"]
    tested = {p["version"]: p["suites_tested"] for p in scan["protocols"]}
    accepted = {p["version"]: len(p["cipher_suites"]) for p in scan["protocols"] if p["supported"]}
    return tested, accepted


SSLYZE_KEYS = (
    ("ssl_2_0", "SSLv2"), ("ssl_3_0", "SSLv3"), ("tls_1_0", "TLSv1.0"), ("tls_1_1", "TLSv1.1"),
    ("tls_1_2", "TLSv1.2"), ("tls_1_3", "TLSv1.3"),
)  # fmt: skip


def sslyze_suites(work: Path, run: int) -> tuple[dict[str, int], dict[str, int]]:
    doc: dict[str, Any] = json.loads((work / f"sslyze-{run}.json").read_text())
    result = doc["server_scan_results"][0]["scan_result"]
    tested: dict[str, int] = {}
    accepted: dict[str, int] = {}
    for key, name in SSLYZE_KEYS:
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
        # default run: "cipherorder_TLSv1_2" lists the accepted suites in order; with -E/-e the
        # per-protocol "cipher-tls1_2_x..." ids do
        m = re.match(r"cipherorder_(\S+)$", f.get("id", "")) or re.match(
            r"cipher-(tls1_3|tls1_2|tls1_1|tls1|ssl3|ssl2)_", f.get("id", "")
        )
        if m is None:
            continue
        if f["id"].startswith("cipherorder_"):
            out[m.group(1)] = len(f.get("finding", "").split())
        else:
            out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def main(work: Path) -> None:
    runs = sorted(
        int(p.stem.split("-")[1])
        for p in work.glob("tlsdoctor-*.time")
        if (work / f"sslyze-{p.stem[10:]}.time").exists()
    )
    assert runs, f"no paired runs in {work}"
    walls: list[float] = []
    rsss: list[float] = []
    for i in runs:
        (tw, tr), (sw, sr) = timing(work / f"tlsdoctor-{i}.time"), timing(work / f"sslyze-{i}.time")
        walls.append(tw / sw)
        rsss.append(tr / sr)
        print(
            f"pair {i}: tlsdoctor {tw:5.2f} s {tr / 1024:6.1f} MB | sslyze {sw:5.2f} s {sr / 1024:6.1f} MB"
            f" | wall ratio {tw / sw:.3f}  RSS ratio {tr / sr:.3f}"
        )
    med = statistics.median
    t_wall = med(timing(work / f"tlsdoctor-{i}.time")[0] for i in runs)
    s_wall = med(timing(work / f"sslyze-{i}.time")[0] for i in runs)
    print(f"median of {len(runs)}: tlsdoctor {t_wall:.2f} s, sslyze {s_wall:.2f} s")
    print(f"ratio wall tlsdoctor/sslyze  = median {med(walls):.3f} per pair (target <= 0.333)")
    print(f"ratio RSS  tlsdoctor/sslyze  = median {med(rsss):.3f} per pair (target < 1)")
    t_tested, t_acc = tlsdoctor_suites(work, runs[-1])
    s_tested, s_acc = sslyze_suites(work, runs[-1])
    print(f"suites tested  tlsdoctor {sum(t_tested.values())} {t_tested}")
    print(f"               sslyze    {sum(s_tested.values())} {s_tested}")
    print(f"suites accepted tlsdoctor {t_acc}")
    print(f"                sslyze    {s_acc}")
    print(f"suites tested tlsdoctor >= sslyze: {sum(t_tested.values()) >= sum(s_tested.values())}")
    if (work / "testssl.time").exists():
        ts_wall, ts_rss = timing(work / "testssl.time")
        print(f"testssl    wall {ts_wall:7.2f} s   peak RSS {ts_rss / 1024:7.1f} MB (one run)")
        print(f"ratio wall tlsdoctor/testssl = {t_wall / ts_wall:.4f} (median tlsdoctor; target <= 0.050)")
        print(f"suites accepted testssl {testssl_suites(work)} (its cipherorder_* findings)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
