#!/usr/bin/env bash
# Issue 2 benchmarks, run by hand (not in CI): whole-process times with /usr/bin/time-free hyperfine-style
# repetition via Python. Prints median wall seconds for:
#   1. tlsdoctor diagnose of a healthy loopback endpoint        (target: median <= 1.0 s)
#   2. tlsdoctor diagnose of a silent endpoint, --timeout 2     (target: <= 2.5 x timeout = 5 s)
#   3. tlsdoctor --help                                         (target: median <= 0.3 s)
#   4. curl against the healthy endpoint, for scale
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-7}
start() { # name -> "host port servername ca" on fd, pid in $pid
  exec {fd}< <("$PY" bench/diagnose_bench.py "$1" 600)
  read -r host port sni ca <&"$fd"; echo "$host $port $sni $ca"
}
median() { "$PY" - "$@" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs + 1):
    t = time.monotonic(); subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); times.append(time.monotonic() - t)
times = times[1:]
print(f"median {statistics.median(times):.3f} s  min {min(times):.3f}  max {max(times):.3f}  ({runs} runs): {' '.join(cmd)}")
PY
}
read -r h p s c < <(start healthy)
median "$RUNS" .venv/bin/tlsdoctor diagnose "$h:$p" --servername "$s" --ca-file "$c"
command -v curl >/dev/null && median "$RUNS" curl -s -o /dev/null --cacert "$c" --resolve "$s:$p:$h" "https://$s:$p/" || true
read -r h2 p2 s2 c2 < <(start silent)
median 3 .venv/bin/tlsdoctor diagnose "$h2:$p2" --timeout 2
median "$RUNS" .venv/bin/tlsdoctor --help
pkill -f "bench/diagnose_bench.py" || true
