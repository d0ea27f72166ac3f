#!/usr/bin/env bash
# Benchmark `tlsdoctor scan` against sslyze and testssl.sh, in one run, on the same loopback nginx.
#   bash bench/scan_bench.sh            (needs: nginx, openssl, /usr/bin/time, testssl (apt testssl.sh),
#                                        sslyze in a separate venv: python3 -m venv /tmp/sslyze-venv &&
#                                        /tmp/sslyze-venv/bin/pip install sslyze)
# Prints wall time, peak RSS (/usr/bin/time -v) and suites tested per tool, and the ratios
# the issue asks for: tlsdoctor <= 1/3 of sslyze's wall time, <= 1/20 of testssl.sh's, RSS below sslyze's.
# RUNS=N (default 5): N paired runs (tlsdoctor then sslyze, back to back), each pair's ratio and
# the medians; testssl.sh runs once (SKIP_TESTSSL=1 skips it). The machine should be quiet:
# uptime's load average is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TLSDOCTOR=${TLSDOCTOR:-$ROOT/.venv/bin/tlsdoctor}
SSLYZE=${SSLYZE:-/tmp/sslyze-venv/bin/sslyze}
TESTSSL=${TESTSSL:-$(command -v testssl || command -v testssl.sh)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
RUNS=${RUNS:-5}
WORK=$(mktemp -d /tmp/scan-bench.XXXXXX)
# pip byte-compiles what it installs (sslyze's venv has its .pyc files); an editable checkout
# under PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run. Compile once.
"$ROOT/.venv/bin/python" -m compileall -q "$ROOT/src/tlsdoctor" >/dev/null
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

# One server for all three tools: TLS 1.0-1.3, a broad cipher string, RSA + ECDSA certificates.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rsa.key" -out "$WORK/rsa.pem" -days 30 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ec.key" -out "$WORK/ec.pem" \
  -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
mkdir -p "$WORK/tmp"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 4;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body; proxy_temp_path $WORK/tmp/proxy; fastcgi_temp_path $WORK/tmp/fcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi; scgi_temp_path $WORK/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT ssl http2;
    server_name localhost;
    ssl_certificate $WORK/rsa.pem; ssl_certificate_key $WORK/rsa.key;
    ssl_certificate $WORK/ec.pem; ssl_certificate_key $WORK/ec.key;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_ciphers 'ALL:!aNULL:!eNULL:!PSK:!SRP:@SECLEVEL=0';
    ssl_ecdh_curve X25519:prime256v1:secp384r1:secp521r1;
    ssl_prefer_server_ciphers on;
    location / { return 200 "ok"; }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -e "$WORK/error.log" &
NGINX_PID=$!
trap 'kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "nginx pid $NGINX_PID on 127.0.0.1:$PORT, work dir $WORK"

run() {  # run NAME CMD...: /usr/bin/time -v into $WORK/NAME.time
  local name=$1; shift
  echo "--- $name: $*"
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
}

echo "load before: $(uptime)"
for i in $(seq "$RUNS"); do
  run "tlsdoctor-$i" "$TLSDOCTOR" scan "127.0.0.1:$PORT" --servername localhost --json
  run "sslyze-$i" "$SSLYZE" "127.0.0.1:$PORT" --json_out="$WORK/sslyze-$i.json" --quiet
done
[[ -n "${SKIP_TESTSSL:-}" ]] || run testssl "$TESTSSL" --quiet --color 0 --warnings off \
  --jsonfile "$WORK/testssl.json" "127.0.0.1:$PORT"
echo "load after: $(uptime)"

"$ROOT/.venv/bin/python" "$ROOT/bench/scan_bench_report.py" "$WORK"
