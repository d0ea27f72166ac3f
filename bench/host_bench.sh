#!/usr/bin/env bash
# Issue 12 benchmark, run by hand (not in CI): whole-process times of `tlsdoctor host`.
# Target: `host` without NTP (none configured, or --no-ntp) median <= 1.0 s. `--version` is printed
# alongside as the interpreter's floor, so a busy machine's numbers can be read as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-11}
for args in "host" "host --no-ntp" "host --no-ntp --json" "--version"; do
  "$PY" - "$RUNS" .venv/bin/tlsdoctor $args <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs + 1):  # the first run warms the page cache and is dropped
    t = time.monotonic(); subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); times.append(time.monotonic() - t)
times = times[1:]
print(f"median {statistics.median(times):.3f} s  min {min(times):.3f}  max {max(times):.3f}  ({runs} runs): {' '.join(cmd[1:])}")
PY
done
