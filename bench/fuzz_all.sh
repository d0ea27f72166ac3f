#!/usr/bin/env bash
# Run fuzz targets concurrently at the lowest CPU priority and print one line per target:
# iterations, minutes, peak RSS and the crash files left behind.
#   bench/fuzz_all.sh [SECONDS] [TARGET...]      (default: 660 s; wire starttls dns certs explain)
# Corpora and logs go to ${FUZZ_DIR:-/tmp/tlsdoctor-fuzz}/<target>; a crash input is saved there as crash-*.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SECONDS_EACH=${1:-660}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(wire starttls dns certs explain)
DIR=${FUZZ_DIR:-/tmp/tlsdoctor-fuzz}
pids=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$DIR/$t"
  extra=()
  [ "$t" = explain ] && extra=(-max_len=16384)
  ( cd "$DIR/$t" && exec nice -n 19 "$OLDPWD/$PY" "$OLDPWD/bench/fuzz_$t.py" -max_total_time="$SECONDS_EACH" \
      "${extra[@]}" -artifact_prefix="$DIR/$t/" "$DIR/$t/corpus" >"$DIR/$t/log" 2>&1 ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for t in "${TARGETS[@]}"; do
  log="$DIR/$t/log"
  runs=$(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rss=$(grep -o 'peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$')
  crashes=$(ls "$DIR/$t" | grep -c '^\(crash\|timeout\|oom\|leak\)-')
  echo "$t: ${runs:-?} inputs in $((SECONDS_EACH / 60)) min, peak RSS ${rss:-?} MB, crash files: $crashes"
done
