"""explain speed (issue 15): a 1 MB paste <= 0.5 s; one line <= 0.15 s whole process.

Run by hand: ``.venv/bin/python bench/explain_bench.py``. The machine is shared, so the
whole-process time is printed beside a bare ``python -c pass`` for comparison.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tlsdoctor.commands.explain import run_explain

CORPUS = Path(__file__).parent.parent / "tests" / "corpus" / "explain" / "reports.toml"
ONE_LINE = "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to example.com:443"
RUNS = 5


def pastes() -> dict[str, str]:
    rng = random.Random(15)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    picked: list[str] = []
    while sum(map(len, picked)) < 1_000_000:
        picked.append(rng.choice(lines))
    log_line = "2026-12-07 10:00:00 INFO request handled in 12 ms path=/api/v1/items status=200\n"
    return {
        "1 MB log, one error at the end": (log_line * 13000)[:999_000] + "\n" + ONE_LINE + "\n",
        "1 MB of error lines, repeated": "\n".join(picked)[:1_000_000],
        "1 MB of error lines, all unique": "\n".join(f"{i:06d} {x}" for i, x in enumerate(picked))[:999_999],
    }


def median_seconds(fn: object, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process(args: list[str]) -> float:
    return median_seconds(lambda: subprocess.run(args, capture_output=True, check=False))


def main() -> None:
    run_explain("warm up the knowledge files: ssl")
    for name, text in pastes().items():
        print(f"{name:34} {median_seconds(lambda text=text: run_explain(text)):.3f} s (in process)")
    bare = process([sys.executable, "-c", "pass"])
    whole = process([sys.executable, "-m", "tlsdoctor", "explain", ONE_LINE])
    as_json = process([sys.executable, "-m", "tlsdoctor", "explain", "--json", ONE_LINE])
    label = "one line, whole process"
    print(f"{label:34} {whole:.3f} s (--json {as_json:.3f} s; python -c pass {bare:.3f} s)")


if __name__ == "__main__":
    main()
